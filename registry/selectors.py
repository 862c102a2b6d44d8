"""Reads scoped by the user's rights. Views and API views start from these, never from .objects."""

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from core.free_text import has_control_characters
from registry.models import Patient, Procedure, Site
from registry.permissions import may_see_phi, readable_site_ids

NO_SITE = "No site with this code among the sites you may see."


def sites_visible_to(user) -> QuerySet[Site]:
    """The sites whose records ``user`` may read (``site_rights(user, site).read``): admins and
    investigators every site, a clinician the sites they belong to."""
    ids = readable_site_ids(user)
    return Site.objects.all() if ids is None else Site.objects.filter(id__in=ids)


def resolve_site(user, code: str | None) -> Site | None:
    """The site a client names with ``?site=<code>``: None when no code is given, else the site among
    those ``user`` may see whose code matches, whatever its case and surrounding spaces.

    Raises Http404 for a code of no site or of a site the user may not see (an empty code too: the
    web pages, where an empty value means "all sites", pass None for it). The API views answer the
    same with DRF's NotFound(NO_SITE).
    """
    if code is None:
        return None
    code = str(code).strip()
    if not code or len(code) > Site._meta.get_field("code").max_length or "\x00" in code:
        raise Http404(NO_SITE)
    site = sites_visible_to(user).filter(code__iexact=code).first()
    if site is None:
        raise Http404(NO_SITE)
    return site


def patients_visible_to(user) -> QuerySet[Patient]:
    """Patients whose records ``user`` may read (investigators: all, but only de-identified)."""
    return Patient.objects.filter(site__in=sites_visible_to(user))


def procedures_visible_to(user) -> QuerySet[Procedure]:
    return Procedure.objects.filter(patient__site__in=sites_visible_to(user))


# --- Read helpers of the staff web pages ---------------------------------------------


def patient_list_for(user, *, q: str = "", site: Site | None = None, treatment: str = "", fracture_status: str = ""):
    """Patients ``user`` may see, with their site and index (first) procedure, filtered as the list asks.

    ``q`` matches a study id (part of it) or, for users who may see PHI, an exact MRN.
    The index procedure comes as annotations, so a page costs the same queries for any number of patients.
    """
    index = Procedure.objects.filter(patient=OuterRef("pk")).order_by("date", "id")
    patients = (
        patients_visible_to(user)
        .select_related("site")
        .annotate(
            index_date=Subquery(index.values("date")[:1]),
            index_treatment=Subquery(index.values("treatment")[:1]),
            index_fracture_status=Subquery(index.values("fracture_status")[:1]),
        )
        .order_by("study_id")
    )
    term = q.strip()
    if has_control_characters(term):
        return patients.none()  # PostgreSQL refuses a NUL, and no study id or MRN holds a control character
    if term:
        match = Q(study_id__icontains=term)
        if may_see_phi(user):
            match |= Q(mrn=term)
        patients = patients.filter(match)
    if site is not None:
        patients = patients.filter(site=site)
    if treatment:
        patients = patients.filter(index_treatment=treatment)
    if fracture_status:
        patients = patients.filter(index_fracture_status=fracture_status)
    return patients
