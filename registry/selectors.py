"""Reads scoped by the user's rights. Views and API views start from these, never from .objects."""

from django.db.models import QuerySet

from outcomes.models import Complication, Encounter, SecondaryProcedure
from registry.choices import Role
from registry.models import Patient, Procedure, Site
from registry.permissions import member_site_ids, user_role


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


def encounters_visible_to(user) -> QuerySet[Encounter]:
    return Encounter.objects.filter(procedure__patient__site__in=sites_visible_to(user))


def secondary_procedures_visible_to(user) -> QuerySet[SecondaryProcedure]:
    return SecondaryProcedure.objects.filter(procedure__patient__site__in=sites_visible_to(user))


def complications_visible_to(user) -> QuerySet[Complication]:
    return Complication.objects.filter(procedure__patient__site__in=sites_visible_to(user))
