"""Reads scoped by the user's rights. Views and API views start from these, never from .objects."""

from django.db.models import OuterRef, Q, QuerySet, Subquery

from registry.choices import Role
from registry.models import Patient, Procedure, Site
from registry.permissions import may_see_phi, member_site_ids, user_role


def sites_visible_to(user) -> QuerySet[Site]:
    """Admins and investigators see every site; a clinician the sites they belong to."""
    role = user_role(user)
    if role in (Role.ADMIN, Role.INVESTIGATOR):
        return Site.objects.all()
    if role == Role.CLINICIAN:
        return Site.objects.filter(id__in=member_site_ids(user))
    return Site.objects.none()


def patients_visible_to(user) -> QuerySet[Patient]:
    """Patients whose records ``user`` may read (investigators: all, but only de-identified)."""
    return Patient.objects.filter(site__in=sites_visible_to(user))


def procedures_visible_to(user) -> QuerySet[Procedure]:
    return Procedure.objects.filter(patient__site__in=sites_visible_to(user))


# --- Read helpers of the staff web pages ---------------------------------------------


def patient_list_for(user, *, q: str = "", site_id: int | None = None, treatment: str = "", fracture_status: str = ""):
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
    if term:
        match = Q(study_id__icontains=term)
        if may_see_phi(user):
            match |= Q(mrn=term)
        patients = patients.filter(match)
    if site_id is not None:
        patients = patients.filter(site_id=site_id)
    if treatment:
        patients = patients.filter(index_treatment=treatment)
    if fracture_status:
        patients = patients.filter(index_fracture_status=fracture_status)
    return patients
