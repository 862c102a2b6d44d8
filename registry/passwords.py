"""A password strength rule: an estimate of how many guesses a password takes (zxcvbn), so that
repeats (aaaaaaaaaaaa), sequences (abcdefghijkl), common passwords with a few digits
(password1234) and words of the user or the registry (alice12345678, sacral2024!) are refused
wherever a password is set: the password-change page, the registry_user command, the Django admin
and the services, all through Django's validate_password."""

from django.core.exceptions import ValidationError
from zxcvbn import zxcvbn

# Words anyone attacking this registry would try first.
REGISTRY_WORDS = ("registry", "sacral", "sacrum", "metastasis", "metastases", "sacralmets", "hospital")


class StrongPasswordValidator:
    """Refuses a password that zxcvbn scores below ``min_score`` (0-4; 3 is about 10^8 guesses,
    beyond an online attack and costly offline), or that contains the username."""

    def __init__(self, min_score: int = 3):
        self.min_score = min_score

    def validate(self, password: str, user=None) -> None:
        username = (getattr(user, "username", "") or "").lower()
        if len(username) >= 3 and username in password.lower():
            raise ValidationError("The password must not contain the username.", code="password_has_username")
        result = zxcvbn(password[:200], user_inputs=context_words(user))
        if result["score"] < self.min_score:
            warning = result["feedback"]["warning"]
            raise ValidationError(
                "This password is too easy to guess%(why)s Use a few unrelated words or a long random string.",
                code="password_too_guessable",
                params={"why": f": {warning}" if warning else "."},
            )

    def get_help_text(self) -> str:
        return (
            "Your password must be hard to guess: no repeats, sequences, common passwords, or your name "
            "or the registry's words; a few unrelated words work well."
        )


def context_words(user) -> list[str]:
    """The user's own words and the registry's: the names of the user and of every site."""
    from registry.models import Site

    words = list(REGISTRY_WORDS)
    if user is not None:
        for attribute in ("username", "email", "first_name", "last_name"):
            value = getattr(user, attribute, "") or ""
            words.extend([value, *value.replace("@", " ").replace(".", " ").split()])
    for code, name in Site.objects.values_list("code", "name"):
        words.extend([code, *name.split()])
    return [word.lower() for word in words if word]
