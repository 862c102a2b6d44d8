"""Who may see and change what: one place for the rules of the roles.

- clinician: reads and writes the patients of the sites they belong to, PHI included;
- investigator: reads de-identified data of every site, writes nothing;
- registry admin (or a superuser): everything.

``site_rights(user, site)`` is the one decision; the other helpers and the gates below ask it.
Writing is a right of its own, not a consequence of seeing PHI.
"""

import dataclasses
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


@dataclasses.dataclass(frozen=True)
class SiteRights:
    """What a user may do with the records of one site."""

    read: bool = False  # de-identified, at least
    write: bool = False
    phi: bool = False  # identifiers and exact dates


NO_RIGHTS = SiteRights()
_EVERYTHING = SiteRights(read=True, write=True, phi=True)

# Per role: its rights at the sites it reaches, and whether it reaches every site (False: only the
# sites the user belongs to). A role not listed, like no role or an inactive account, has none.
_ROLE_RIGHTS: dict[str, tuple[SiteRights, bool]] = {
    Role.ADMIN: (_EVERYTHING, True),
    Role.INVESTIGATOR: (SiteRights(read=True), True),
    Role.CLINICIAN: (_EVERYTHING, False),
}


def member_site_ids(user) -> set[int]:
    profile = getattr(user, "staff", None)
    return set(profile.sites.values_list("id", flat=True)) if profile else set()


def site_rights(user, site) -> SiteRights:
    """What ``user`` may do with the records of ``site`` (a Site or its id).

    ``site=None`` asks about the sites the user may read at all: the rights a page or a list already
    scoped by ``readable_site_ids`` (``sites_visible_to``) may assume for every row it shows.
    """
    role = user_role(user)
    if role not in _ROLE_RIGHTS:
        return NO_RIGHTS
    rights, every_site = _ROLE_RIGHTS[role]
    if site is None or every_site:
        return rights
    site_id = site if isinstance(site, int) else site.pk
    return rights if site_id in member_site_ids(user) else NO_RIGHTS


def readable_site_ids(user) -> set[int] | None:
    """The ids of the sites whose records ``user`` may read; None: every site."""
    grant = _ROLE_RIGHTS.get(user_role(user))
    if grant is None or not grant[0].read:
        return set()
    return None if grant[1] else member_site_ids(user)


def may_see_phi(user) -> bool:
    """PHI of the sites the user may read (lists and pages start from ``sites_visible_to``)."""
    return site_rights(user, None).phi


def can_write_site(user, site_id: int) -> bool:
    return site_rights(user, site_id).write


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
        if not site_rights(request.user, None).write:
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
        if not site_rights(request.user, None).write:
            raise exceptions.PermissionDenied("Investigators have read-only access.")
        if getattr(view, "admin_only_writes", False) and role != Role.ADMIN:
            raise exceptions.PermissionDenied("Only registry admins may change sites.")
        return True


class AnyRegistryRole(BasePermission):
    """Every registry role, whatever the method: for the API endpoints that change no record even by
    POST (asking for a refresh of the statistics), which investigators may call too. The rule of
    ``RegistryAccess`` (``user_role``) without its write checks: an account without a role gets 403
    with the web pages' words, an anonymous request 401.
    """

    def has_permission(self, request, view) -> bool:
        if user_role(request.user) is None:
            if request.user and request.user.is_authenticated:
                raise exceptions.PermissionDenied("Your account has no registry role.")
            return False
        return True
