"""API tokens: hashed, expiring, one per client name, revoked when the account changes hands.

A token is a random string given once to the client; the database keeps only its SHA-512 digest
(django-rest-knox), so neither a database reader nor an admin can use a stored token. Each token
lives ``TOKEN_TTL_HOURS`` (a working day by default) and is never extended: the client logs in again.
A client names itself (``name``, "default" when it does not): a new login with the same name
replaces that client's token, and a user holds at most ``MAX_TOKENS_PER_USER`` live ones.

Every token of a user is deleted when the password changes (wherever it is set: the password page,
the admin, a command, the shell), when the account is deactivated, and when axes locks it out after
repeated failed logins. Knox also refuses the token of an inactive user at each request.
"""

from axes.signals import user_locked_out
from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils import timezone
from knox.models import AbstractAuthToken

DEFAULT_CLIENT_NAME = "default"
MAX_TOKENS_PER_USER = 10


class ApiToken(AbstractAuthToken):
    """A client's API token: the digest of the key, never the key itself."""

    # A plain number for the key of the row, so that no part of the digest reaches a URL or a log.
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=64, default=DEFAULT_CLIENT_NAME, help_text="The client's name.")

    class Meta:
        app_label = "registry"
        verbose_name = "API token"
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="one_api_token_per_client_name")]

    def __str__(self) -> str:
        return f"{self.user} / {self.name}"


class TooManyTokens(Exception):
    pass


def issue_token(user, name: str = DEFAULT_CLIENT_NAME) -> tuple[ApiToken, str]:
    """A new token for the client ``name`` of ``user``, replacing that client's previous one.
    Returns the stored token and the key, which is shown once and kept nowhere."""
    with transaction.atomic():
        # Serializes the logins of one user, so that two at once cannot both pass the cap.
        type(user).objects.select_for_update().filter(pk=user.pk).first()
        mine = ApiToken.objects.filter(user=user)
        mine.filter(expiry__lt=timezone.now()).delete()
        mine.filter(name=name).delete()
        if mine.count() >= MAX_TOKENS_PER_USER:
            raise TooManyTokens(
                f"You already hold {MAX_TOKENS_PER_USER} API tokens: reuse a client name, or ask a registry "
                "admin to revoke one."
            )
        return ApiToken.objects.create(user=user, name=name)


def revoke_tokens(user) -> int:
    """Deletes every API token of ``user``; returns how many there were."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    return deleted


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="registry.tokens.revoke_on_user_change")
def _revoke_on_password_change_or_deactivation(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return  # e.g. the last_login stamp of every login
    before = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is None:
        return
    if before["password"] != instance.password or not instance.is_active:
        revoke_tokens(instance)


@receiver(user_locked_out, dispatch_uid="registry.tokens.revoke_on_lockout")
def _revoke_on_lockout(sender, request=None, username=None, **kwargs):
    from django.contrib.auth import get_user_model

    if username:
        for user in get_user_model().objects.filter(username=username):
            revoke_tokens(user)
