"""Who may see and change what: one place for the rules of the roles.

- clinician: reads and writes the patients of the sites they belong to, PHI included;
- investigator: reads de-identified data of every site, writes nothing;
- registry admin (or a superuser): everything.
"""

from django.core.exceptions import PermissionDenied

from registry.choices import Role


def user_role(user) -> str | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    profile = getattr(user, "staff", None)
    return profile.role if profile else None


def is_admin(user) -> bool:
    return user_role(user) == Role.ADMIN


def may_see_phi(user) -> bool:
    return user_role(user) in (Role.ADMIN, Role.CLINICIAN)


def member_site_ids(user) -> set[int]:
    profile = getattr(user, "staff", None)
    return set(profile.sites.values_list("id", flat=True)) if profile else set()


def can_write_site(user, site_id: int) -> bool:
    role = user_role(user)
    if role == Role.ADMIN:
        return True
    return role == Role.CLINICIAN and site_id in member_site_ids(user)


def check_can_write_site(user, site_id: int) -> None:
    """Raises PermissionDenied unless ``user`` may write records of the site.

    ``user=None`` is the system itself (management commands, seed_demo), which may.
    """
    if user is None:
        return
    if not can_write_site(user, site_id):
        raise PermissionDenied("You may not change records of this site.")
