"""Every write of sites, patients, procedures and screws. Web, API, admin and commands call these."""

import datetime
from collections.abc import Sequence
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection, transaction

from core.writes import (
    assign,
    audit_context,
    check_warnings,
    clinical_data_changed,
    lock_for_update,
    require_reason,
    save,
    validate,
)
from registry import consistency, plausibility, selectors
from registry.choices import PatientStatus, Treatment
from registry.models import STUDY_ID_PREFIX, STUDY_ID_SEQUENCE, Patient, Procedure, Screw, Site, normalise_site_code
from registry.mrn import normalise_mrn
from registry.permissions import check_can_write_site
from registry.sign_off import check_not_signed_off, check_patient_not_signed_off

PATIENT_EDITABLE = (
    "site",
    "mrn",
    "birth_date",
    "sex",
    "primary_cancer",
    "primary_cancer_detail",
    "death_date",
    "status",
    "status_date",
)
PROCEDURE_EDITABLE = (
    "date",
    "treatment",
    "fracture_status",
    "ablation",
    "prior_local_radiation",
    "service",
    "cement_volume_ml",
    "approach",
    "indications",
)
SCREW_FIELDS = ("corridor", "trajectory", "side", "diameter_mm", "length_mm", "fully_threaded")


# --- Sites ----------------------------------------------------------------------


@transaction.atomic
def site_create(*, code: str, name: str, user=None) -> Site:
    site = Site(code=normalise_site_code(code), name=name.strip())
    validate(site)
    with audit_context(user=user, action="site_create"):
        save(site)
    return site


@transaction.atomic
def site_update(*, site: Site, data: dict, user=None) -> Site:
    site = Site.objects.select_for_update().get(pk=site.pk)
    if "code" in data:
        data = {**data, "code": normalise_site_code(data["code"])}
    assign(site, data, allowed=("code", "name"))
    validate(site)
    with audit_context(user=user, action="site_update"):
        save(site)
    return site


@transaction.atomic
def site_delete(*, site: Site, user=None, reason: str = "") -> None:
    """Deletes a site that has no patients; one with patients is refused (they are moved or deleted first)."""
    if Patient.objects.filter(site=site).exists():
        raise ValidationError({NON_FIELD_ERRORS: ["This site still has patients; move or delete them first."]})
    with audit_context(user=user, action="site_delete", reason=reason[:500]):
        site.delete()


# --- Patients --------------------------------------------------------------------


def _next_study_id() -> str:
    return next_study_ids(1)[0]


def next_study_ids(count: int) -> list[str]:
    """``count`` new study ids from the registry's sequence, in its order (one query)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [STUDY_ID_SEQUENCE, count])
        return [f"{STUDY_ID_PREFIX}{number:05d}" for (number,) in cursor.fetchall()]


def status_date_errors(patient: Patient) -> dict:
    """A patient withdraws or is lost while alive: the status date is not after the death."""
    if patient.status_date and patient.death_date and patient.status_date > patient.death_date:
        return {"status_date": [f"The status date cannot be after the date of death ({patient.death_date:%Y-%m-%d})."]}
    return {}


def patient_rule_errors(patient: Patient, *, mrn_taken: bool | None = None) -> dict:
    """Rules that need other rows: the MRN is unique within a site; death follows every procedure,
    visit and event of the patient (registry.consistency). ``mrn_taken``: whether another patient
    of the site has the MRN, when the caller knows (a bulk service asks for its whole batch)."""
    errors = {}
    if patient.site_id and patient.mrn:
        if mrn_taken is None:
            # The database compares case-insensitively (patient_unique_site_mrn_ci), and so does this.
            mrn = normalise_mrn(patient.mrn)
            clash = Patient.objects.filter(site_id=patient.site_id, mrn__iexact=mrn).exclude(pk=patient.pk)
            mrn_taken = clash.exists()
        if mrn_taken:
            errors["mrn"] = ["A patient with this MRN already exists at this site."]
    errors.update(consistency.death_date_errors(patient))
    errors.update(status_date_errors(patient))
    if patient.pk:
        errors.update(plausibility.birth_date_errors(patient.birth_date, _procedure_dates(patient)))
    return errors


def _procedure_dates(patient: Patient) -> list[datetime.date]:
    return list(Procedure.objects.filter(patient_id=patient.pk).values_list("date", flat=True))


def duplicate_warnings(patient: Patient) -> list[str]:
    """Warns that a new patient may already be in the registry at their site, naming by study id
    the patients with the same date of birth and sex or a near MRN (``selectors.possible_duplicates``)."""
    found = selectors.possible_duplicates(
        site=patient.site, mrn=patient.mrn, birth_date=patient.birth_date, sex=patient.sex
    )
    if not found:
        return []
    listed = ", ".join(f"{other.study_id} ({' and '.join(why)})" for other, why in found)
    return [f"Possible duplicate at this site: {listed}. Save only if this is not the same patient."]


def patient_build(
    *,
    site: Site,
    mrn: str,
    birth_date: datetime.date,
    sex: str,
    primary_cancer: str,
    primary_cancer_detail: str = "",
    death_date: datetime.date | None = None,
    status: str = PatientStatus.ACTIVE,
    status_date: datetime.date | None = None,
    is_demo: bool = False,
) -> Patient:
    """A new patient, not yet checked nor saved (``patient_create``, ``registry.bulk``)."""
    return Patient(
        site=site,
        mrn=normalise_mrn(mrn),
        birth_date=birth_date,
        sex=sex,
        primary_cancer=primary_cancer,
        primary_cancer_detail=(primary_cancer_detail or "").strip(),
        death_date=death_date,
        status=status,
        status_date=status_date,
        is_demo=is_demo,
        study_id="pending",  # replaced once the record is known to be valid
    )


@transaction.atomic
def patient_create(*, user, check_duplicates: bool = False, confirm: bool = False, **fields) -> Patient:
    """Records a patient (``fields``: those of ``patient_build``). With ``check_duplicates`` (a
    patient typed into the web page), a possible duplicate at the site (``duplicate_warnings``)
    raises NeedsConfirmation unless ``confirm``; the confirmation goes into the audit reason."""
    check_can_write_site(user, fields["site"].pk)
    patient = patient_build(**fields)
    validate(patient, errors=patient_rule_errors(patient))
    reason = check_warnings(duplicate_warnings(patient) if check_duplicates else [], confirm=confirm)
    patient.study_id = _next_study_id()
    with audit_context(user=user, action="patient_create", reason=reason):
        save(patient)
    clinical_data_changed()
    return patient


@transaction.atomic
def patient_update(
    *,
    user,
    patient: Patient,
    data: dict,
    expected_version: int | None = None,
    reason: str = "",
    confirm: bool = False,
) -> Patient:
    """Changes a patient. A new date of birth that makes the patient a minor at a procedure
    (registry.plausibility) raises NeedsConfirmation unless ``confirm``."""
    check_can_write_site(user, patient.site_id)
    reason = require_reason(reason)
    patient = lock_for_update(patient, expected_version=expected_version)
    if data.get("status") == PatientStatus.ACTIVE and "status_date" not in data:
        data = {**data, "status_date": None}  # followed again: the date of withdrawal or loss goes
    changed = assign(patient, data, allowed=PATIENT_EDITABLE)
    if not changed:
        return patient  # nothing changes: no new version, no audit event
    if "site" in data:
        check_can_write_site(user, patient.site_id)
    validate(patient, errors=patient_rule_errors(patient))
    if "birth_date" in changed:
        warnings = plausibility.birth_date_warnings(patient.birth_date, _procedure_dates(patient))
        reason = check_warnings(warnings, confirm=confirm, reason=reason)
    patient.version += 1
    with audit_context(user=user, action="patient_update", reason=reason):
        save(patient)
    clinical_data_changed()
    return patient


@transaction.atomic
def patient_delete(*, user, patient: Patient, reason: str = "") -> None:
    """Deletes the patient with every procedure and outcome; the audit trail keeps them all."""
    check_can_write_site(user, patient.site_id)
    reason = require_reason(reason)
    check_patient_not_signed_off(patient)
    with audit_context(user=user, action="patient_delete", reason=reason):
        patient.delete()
    clinical_data_changed()


# --- Procedures and screws ------------------------------------------------------------


def screw_count_errors(*, treatment: str, screw_count: int) -> dict:
    """PSFS has at least one screw; sacroplasty alone has none."""
    if treatment == Treatment.PSFS and screw_count == 0:
        return {"screws": ["A PSFS procedure needs at least one screw."]}
    if treatment == Treatment.SACROPLASTY and screw_count > 0:
        return {"screws": ["Sacroplasty alone has no screws: remove them or choose PSFS."]}
    return {}


def _build_screws(procedure: Procedure, screws: Sequence[dict]) -> tuple[list[Screw], dict]:
    built, errors = [], {}
    for index, data in enumerate(screws):
        unknown = sorted(set(data) - set(SCREW_FIELDS) - {"id"})
        screw = Screw(procedure=procedure, **{k: v for k, v in data.items() if k in SCREW_FIELDS})
        try:
            if unknown:
                raise ValidationError({name: ["Unknown screw field."] for name in unknown})
            # Check constraints are left to the database: clean() states each of them (core.writes.validate).
            screw.full_clean(exclude=["procedure"], validate_constraints=False)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault("screws", []).extend(f"Screw {index + 1}, {field}: {m}" for m in messages)
        built.append(screw)
    return built, errors


def _screw_rows(screws) -> list[tuple]:
    return [tuple(getattr(s, f) for f in SCREW_FIELDS) for s in screws]


def _same_screws(procedure: Procedure, screws: Sequence[dict]) -> bool:
    """Whether ``screws`` describe the procedure's screws as they are (in order)."""
    built, errors = _build_screws(procedure, screws)
    return not errors and _screw_rows(procedure.screws.order_by("id")) == _screw_rows(built)


def validate_procedure(
    procedure: Procedure, screws: Sequence[dict] | None, *, relations_checked: bool = False
) -> list[Screw]:
    """Refuses a procedure (with its screws, when given) that breaks a rule; returns the screws built.
    ``relations_checked``: see ``core.writes.validate``."""
    errors = {}
    built = []
    if screws is not None:
        built, errors = _build_screws(procedure, screws)
        count = len(screws)
    else:
        count = procedure.screws.count() if procedure.pk else 0
    errors.update(screw_count_errors(treatment=procedure.treatment, screw_count=count) if not errors else {})
    validate(procedure, errors=errors, relations_checked=relations_checked)
    return built


def procedure_warnings(
    procedure: Procedure,
    screws: Sequence[dict] | None,
    *,
    changed: Sequence[str] | None = None,
    others: Sequence[Procedure] | None = None,
) -> list[str]:
    """The soft rules of a procedure about to be saved (the pages ask to confirm them): a change of
    the patient's index procedure, screws removed with a change to sacroplasty, implausible values
    (registry.plausibility: of a new procedure, or among the fields ``changed``). ``others``: the
    patient's other procedures, when the caller holds them (a bulk service)."""
    return [
        *plausibility.procedure_warnings(procedure, changed=changed),
        *consistency.index_change_warnings(procedure, others=others),
        *consistency.screw_removal_warnings(procedure, screws),
    ]


def _save_procedure(procedure: Procedure, screws: Sequence[dict] | None, built: list[Screw], *, replace_screws: bool):
    save(procedure)
    if screws is not None:
        if replace_screws:
            if _screw_rows(procedure.screws.order_by("id")) == _screw_rows(built):
                return  # the same screws: no churn in the audit trail
            procedure.screws.all().delete()
        for screw in built:
            screw.procedure = procedure
        Screw.objects.bulk_create(built)


def procedure_build(
    *,
    patient: Patient,
    date: datetime.date,
    treatment: str,
    fracture_status: str,
    service: str,
    ablation: str = "none",
    prior_local_radiation: bool = False,
    cement_volume_ml: Decimal | None = None,
    approach: str | None = None,
    indications: Sequence[str] = (),
) -> Procedure:
    """A new procedure, not yet checked nor saved (``procedure_create``, ``registry.bulk``)."""
    return Procedure(
        patient=patient,
        date=date,
        treatment=treatment,
        fracture_status=fracture_status,
        service=service,
        ablation=ablation,
        prior_local_radiation=prior_local_radiation,
        cement_volume_ml=cement_volume_ml,
        approach=approach or None,
        indications=list(indications),
    )


@transaction.atomic
def procedure_create(*, user, screws: Sequence[dict] = (), confirm: bool = False, **fields) -> Procedure:
    """Records a procedure (``fields``: those of ``procedure_build``) with its screws (each a dict
    of SCREW_FIELDS); soft rules (``procedure_warnings``) raise NeedsConfirmation unless ``confirm``."""
    check_can_write_site(user, fields["patient"].site_id)
    procedure = procedure_build(**fields)
    screws = list(screws)
    built = validate_procedure(procedure, screws)
    reason = check_warnings(procedure_warnings(procedure, screws), confirm=confirm)
    with audit_context(user=user, action="procedure_create", reason=reason):
        _save_procedure(procedure, screws, built, replace_screws=False)
    clinical_data_changed()
    return procedure


@transaction.atomic
def procedure_update(
    *,
    user,
    procedure: Procedure,
    data: dict,
    screws: Sequence[dict] | None = None,
    expected_version: int | None = None,
    reason: str = "",
    confirm: bool = False,
) -> Procedure:
    """Changes a procedure; ``screws``, when given, replaces all its screws. Soft rules
    (``procedure_warnings``) raise NeedsConfirmation unless ``confirm``."""
    check_can_write_site(user, procedure.patient.site_id)
    reason = require_reason(reason)
    check_not_signed_off(procedure)
    procedure = lock_for_update(procedure, expected_version=expected_version)
    if "indications" in data:
        data = {**data, "indications": list(data["indications"])}
    changed = assign(procedure, data, allowed=PROCEDURE_EDITABLE)
    if not changed and (screws is None or _same_screws(procedure, list(screws))):
        return procedure  # nothing changes: no new version, no audit event
    screws = None if screws is None else list(screws)
    built = validate_procedure(procedure, screws)
    _check_dependent_dates(procedure)
    reason = check_warnings(procedure_warnings(procedure, screws, changed=changed), confirm=confirm, reason=reason)
    procedure.version += 1
    with audit_context(user=user, action="procedure_update", reason=reason):
        _save_procedure(procedure, screws, built, replace_screws=True)
    clinical_data_changed()
    return procedure


def _check_dependent_dates(procedure: Procedure) -> None:
    """A moved procedure must still fit the records that hang on it (baseline before, follow-ups and
    events after). Those records belong to apps above this one, so each of their models says itself
    what no longer fits (``procedure_date_errors``); the first complaint is the answer."""
    for relation in Procedure._meta.related_objects:
        check = getattr(relation.related_model, "procedure_date_errors", None)
        messages = check(procedure) if check else []
        if messages:
            raise ValidationError({"date": messages})


@transaction.atomic
def procedure_delete(*, user, procedure: Procedure, reason: str = "") -> None:
    check_can_write_site(user, procedure.patient.site_id)
    reason = require_reason(reason)
    check_not_signed_off(procedure)
    with audit_context(user=user, action="procedure_delete", reason=reason):
        procedure.delete()
    clinical_data_changed()


# --- Staff accounts ------------------------------------------------------------------


@transaction.atomic
def staff_user_create(*, username: str, password: str, role: str, sites: Sequence[Site] = ()) -> "User":  # noqa: F821
    """Creates a login with its registry role; a registry admin may also use the Django admin."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.password_validation import validate_password

    from registry.choices import Role
    from registry.models import StaffProfile

    User = get_user_model()
    errors = {}
    if role not in Role.values:
        errors["role"] = [f"Role must be one of: {', '.join(Role.values)}."]
    if role == Role.CLINICIAN and not sites:
        errors["sites"] = ["A clinician belongs to at least one site."]
    if User.objects.filter(username=username).exists():
        errors["username"] = ["A user with this username already exists."]
    user = User(username=username, is_staff=role == Role.ADMIN, is_superuser=role == Role.ADMIN)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    with audit_context(user=None, action="staff_user_create"):
        user.save()
        profile = StaffProfile.objects.create(user=user, role=role)
        profile.sites.set(sites)
    return user
