"""Many new patients and procedures at once (an import's path): the rules of ``patient_create`` and
``procedure_create`` (the functions of ``registry.services`` they share), checked for a batch with a
few queries instead of some ten a row, then written with bulk INSERTs.

Each function takes unsaved records in the order they are to be created (built by
``services.patient_build`` / ``procedure_build``) and returns the refused ones' errors by index; the
others are saved (their ids set). A record is checked against the registry and the batch's earlier
records, as if those had been created one at a time. Every record is audited (the triggers write
one event a row) under one audit context with ``reason``; a record whose warnings are confirmed gets
them in its reason (``core.writes.check_warnings``), as on the single-row path. The news of the
change (``clinical_data_changed``) is sent once, after the commit.
"""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from core.writes import (
    audit_context,
    check_warnings,
    clinical_data_changed,
    missing_relations,
    quiet_trigger_checks,
    runs_by_reason,
    save_all,
    validate,
)
from registry.models import Patient, Procedure, Screw
from registry.permissions import check_can_write_site
from registry.services import next_study_ids, patient_rule_errors, procedure_warnings, validate_procedure


def _mrns_taken(patients: Sequence[Patient]) -> tuple[list[str], set[tuple[int, str]]]:
    """Each patient's MRN as the database compares it (upper case, as ``mrn__iexact``), and the
    (site, MRN) pairs of the batch already in the registry (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.site_id, UPPER(t.mrn), EXISTS (SELECT 1 FROM registry_patient p "
            "WHERE p.site_id = t.site_id AND UPPER(p.mrn::text) = UPPER(t.mrn)) "
            "FROM unnest(%s::int[], %s::text[]) WITH ORDINALITY AS t(site_id, mrn, n) ORDER BY t.n",
            [[p.site_id for p in patients], [p.mrn for p in patients]],
        )
        rows = cursor.fetchall()
    return [row[1] for row in rows], {(row[0], row[1]) for row in rows if row[2]}


@transaction.atomic
def patients_create_bulk(*, user, patients: Sequence[Patient], reason: str) -> dict[int, ValidationError]:
    """Records new ``patients`` (``services.patient_build``), each checked as ``patient_create``
    checks it (the MRN unique at its site among the registry and the batch's earlier patients); the
    saved ones get their study ids from the registry's sequence, in order."""
    patients = list(patients)
    if not patients:
        return {}
    for site_id in {patient.site_id for patient in patients}:
        check_can_write_site(user, site_id)
    quiet_trigger_checks()
    missing = missing_relations(patients)
    mrns, taken = _mrns_taken(patients)
    refused, good = {}, []
    for index, patient in enumerate(patients):
        key = (patient.site_id, mrns[index])
        try:
            errors = patient_rule_errors(patient, mrn_taken=key in taken)
            validate(patient, errors=errors, relations_checked=index not in missing)
        except ValidationError as exc:
            refused[index] = exc
            continue
        taken.add(key)
        good.append(index)
    for index, study_id in zip(good, next_study_ids(len(good)) if good else [], strict=True):
        patients[index].study_id = study_id
    with audit_context(user=user, action="patient_create", reason=reason):
        failed = save_all([patients[index] for index in good])
    refused.update({good[index]: exc for index, exc in failed.items()})
    clinical_data_changed()
    return refused


def _procedures_of(procedures: Sequence[Procedure]) -> dict[int, list[Procedure]]:
    """The saved procedures of the batch's patients, by patient (one query)."""
    found: dict[int, list[Procedure]] = {procedure.patient_id: [] for procedure in procedures}
    rows = Procedure.objects.filter(patient_id__in=list(found)).only("id", "patient_id", "date", "treatment")
    for row in rows.order_by("id"):
        found[row.patient_id].append(row)
    return found


@transaction.atomic
def procedures_create_bulk(
    *, user, procedures: Sequence[tuple[Procedure, Sequence[dict]]], reason: str, confirm: bool = False
) -> dict[int, ValidationError]:
    """Records new procedures, each given with its screws (dicts of SCREW_FIELDS), checked as
    ``procedure_create`` checks them (the index procedure compared with the patient's saved
    procedures and the batch's earlier ones). Unconfirmed warnings raise NeedsConfirmation (nothing
    is written); confirmed ones go into the record's audit reason."""
    items = [(procedure, list(screws)) for procedure, screws in procedures]
    if not items:
        return {}
    for site_id in {procedure.patient.site_id for procedure, _ in items}:
        check_can_write_site(user, site_id)
    quiet_trigger_checks()
    missing = missing_relations([procedure for procedure, _ in items])
    others = _procedures_of([procedure for procedure, _ in items])
    refused, good, built, reasons = {}, [], {}, []
    for index, (procedure, screws) in enumerate(items):
        try:
            built[index] = validate_procedure(procedure, screws, relations_checked=index not in missing)
        except ValidationError as exc:
            refused[index] = exc
            continue
        warnings = procedure_warnings(procedure, screws, others=others[procedure.patient_id])
        reasons.append(check_warnings(warnings, confirm=confirm, reason=reason))
        others[procedure.patient_id].append(procedure)
        good.append(index)
    for run_reason, run in runs_by_reason(reasons):
        indexes = [good[position] for position in run]
        with audit_context(user=user, action="procedure_create", reason=run_reason):
            failed = save_all([items[index][0] for index in indexes])
            refused.update({indexes[position]: exc for position, exc in failed.items()})
            screws = []
            for index in indexes:
                if index in refused:
                    continue
                for screw in built[index]:
                    screw.procedure = items[index][0]
                    screws.append(screw)
            Screw.objects.bulk_create(screws)
    clinical_data_changed()
    return refused
