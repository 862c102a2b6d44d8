"""Reads scoped by the user's rights. Views and API views start from these, never from .objects."""

import datetime

from django.db.models import CharField, Func, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Upper
from django.http import Http404

from core.free_text import has_control_characters
from registry.models import Patient, Procedure, Site
from registry.mrn import mrn_skeleton, normalise_mrn, one_edit_regex, within_one_edit
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

    ``q`` matches part of a study id or, for users who may see PHI, part of an MRN (``patients_matching``).
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
    patients = patients_matching(patients, q, phi=may_see_phi(user))
    if site is not None:
        patients = patients.filter(site=site)
    if treatment:
        patients = patients.filter(index_treatment=treatment)
    if fracture_status:
        patients = patients.filter(index_fracture_status=fracture_status)
    return patients


# --- Finding patients ------------------------------------------------------------------------


def patients_matching(patients: QuerySet[Patient], term: str, *, phi: bool) -> QuerySet[Patient]:
    """``patients`` whose study id, or MRN when ``phi`` (the user may see PHI), contains ``term``,
    whatever its case; the MRN is compared in its normalised form (``registry.mrn``).

    Both read ``UPPER(column) LIKE UPPER('%term%')``, the expressions of the search indexes
    (registry migration 0008: trigram indexes where PostgreSQL has pg_trgm)."""
    term = term.strip()
    if has_control_characters(term):
        return patients.none()  # PostgreSQL refuses a NUL, and no study id or MRN holds a control character
    if not term:
        return patients
    match = Q(study_id__icontains=term)
    mrn = normalise_mrn(term)
    if phi and mrn:
        match |= Q(mrn__icontains=mrn)
    return patients.filter(match)


SAME_BIRTH_AND_SEX = "same date of birth and sex"
NEAR_MRN = "nearly the same MRN"


def possible_duplicates(
    *, site: Site, mrn: str, birth_date: datetime.date | None, sex: str, exclude_pk: int | None = None
) -> list[tuple[Patient, list[str]]]:
    """Patients of ``site`` who may be the patient being entered, each with why: the same date of
    birth and sex, or a near MRN (the same letters and digits, or one character changed, added or
    removed, in any case). At most ten, by study id."""
    skeleton = mrn_skeleton(mrn)
    # The expressions of the search index (UPPER(mrn)): a trigram index serves the regular expression.
    near = Q(mrn_upper__regex=one_edit_regex(mrn))
    if skeleton:
        near |= Q(mrn_letters_digits=skeleton)
    same = Q(birth_date=birth_date, sex=sex) if birth_date and sex else Q(pk__in=[])
    candidates = (
        Patient.objects.filter(site=site)
        .annotate(
            mrn_upper=Upper("mrn"),
            mrn_letters_digits=Func(
                Upper("mrn"),
                Value("[^[:alnum:]]"),
                Value(""),
                Value("g"),
                function="REGEXP_REPLACE",
                output_field=CharField(),
            ),
        )
        .filter(same | near)
    )
    if exclude_pk is not None:
        candidates = candidates.exclude(pk=exclude_pk)
    found = []
    # No ORDER BY ... LIMIT in SQL: it leads the planner along the study id index through every site.
    for patient in sorted(candidates.order_by()[:50], key=lambda p: p.study_id)[:10]:
        why = []
        if patient.birth_date == birth_date and patient.sex == sex:
            why.append(SAME_BIRTH_AND_SEX)
        if (skeleton and mrn_skeleton(patient.mrn) == skeleton) or within_one_edit(patient.mrn, mrn):
            why.append(NEAR_MRN)
        if why:
            found.append((patient, why))
    return found
