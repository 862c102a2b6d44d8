"""Who may see and change what: one place for the rules of the roles.

- clinician: reads and writes the patients of the sites they belong to, PHI included;
- investigator: reads de-identified data of every site, writes nothing;
- registry admin (or a superuser): everything.
"""

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

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


# --- The same rules at the doors of the web pages and of the REST API ------------------------


def staff_view(view):
    """Signed-in users with a registry role; anyone else signed in gets 403."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if user_role(request.user) is None:
            raise PermissionDenied("Your account has no registry role.")
        return view(request, *args, **kwargs)

    return wrapper


def writer_view(view):
    """Clinicians and admins: the only roles that enter data. Investigators get 403."""

    @staff_view
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if user_role(request.user) not in (Role.CLINICIAN, Role.ADMIN):
            raise PermissionDenied("Your role may not change registry records.")
        return view(request, *args, **kwargs)

    return wrapper


class RegistryAccess(BasePermission):
    """Every registry role reads (scoped by the selectors); clinicians and admins write; investigators never.

    Site-level rights of a write are the services' (PermissionDenied, 403); a record of another
    site is not even found (404), since the viewsets start from the ``*_visible_to`` selectors.
    """

    def has_permission(self, request, view) -> bool:
        role = user_role(request.user)
        if role is None:
            if request.user and request.user.is_authenticated:
                raise exceptions.PermissionDenied("Your account has no role in the registry.")
            return False
        if request.method in SAFE_METHODS:
            return True
        if role == Role.INVESTIGATOR:
            raise exceptions.PermissionDenied("Investigators have read-only access.")
        if getattr(view, "admin_only_writes", False) and role != Role.ADMIN:
            raise exceptions.PermissionDenied("Only registry admins may change sites.")
        return True
