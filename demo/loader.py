"""Loading the synthetic demo cohort (demo.data) through the services."""

import datetime
from decimal import Decimal

from django.db import transaction

from demo.data import PATIENTS
from outcomes import services as outcome_services
from outcomes.models import MSTS_FIELDS, EncounterKind
from registry import services
from registry.models import Patient, Site

DEMO_SITE_CODE = "DEMO"
DEMO_SITE_NAME = "Demo hospital (synthetic data, not real patients)"


class RealPatientsPresent(Exception):
    """The registry holds real patients; the demo cohort is not mixed into it unless forced."""


def _decimal(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _msts(scores) -> dict:
    return dict(zip(MSTS_FIELDS, scores, strict=True))


def _load_patient(site: Site, record: dict) -> Patient:
    proc = record["procedure"]
    day0: datetime.date = proc["date"]

    def on(days: int) -> datetime.date:
        return day0 + datetime.timedelta(days=days)

    patient = services.patient_create(
        user=None,
        site=site,
        mrn=f"DEMO-{record['key']:04d}",
        birth_date=record["birth_date"],
        sex=record["sex"],
        primary_cancer=record["primary_cancer"],
        primary_cancer_detail=record.get("primary_cancer_detail", ""),
        death_date=record.get("death_date"),
        is_demo=True,
    )
    procedure = services.procedure_create(
        user=None,
        patient=patient,
        date=day0,
        treatment=proc["treatment"],
        fracture_status=proc["fracture_status"],
        service=proc["service"],
        ablation=proc["ablation"],
        prior_local_radiation=proc["prior_local_radiation"],
        cement_volume_ml=_decimal(proc.get("cement_volume_ml")),
        approach=proc.get("approach"),
        indications=proc.get("indications", []),
        screws=[{**screw, "diameter_mm": _decimal(screw["diameter_mm"])} for screw in proc.get("screws", [])],
    )
    baseline = record["baseline"]
    outcome_services.encounter_record(
        user=None,
        procedure=procedure,
        date=on(baseline["days"]),
        kind=EncounterKind.BASELINE,
        opioid_mme_per_day=_decimal(baseline.get("mme")),
        **_msts(baseline["msts"]),
    )
    for visit in record["followups"]:
        outcome_services.encounter_record(
            confirm=True,  # the cohort as the study recorded it (one patient has two 3-month visits)
            user=None,
            procedure=procedure,
            date=on(visit["days"]),
            kind=EncounterKind.FOLLOWUP,
            narcotic_change=visit.get("narcotic_change"),
            opioid_mme_per_day=_decimal(visit.get("mme")),
            **_msts(visit["msts"]),
        )
    for event in record.get("secondary_procedures", []):
        outcome_services.secondary_procedure_create(
            user=None, procedure=procedure, date=on(event["days"]), kind=event["kind"], reason=event.get("reason", "")
        )
    for event in record.get("complications", []):
        outcome_services.complication_create(
            user=None,
            procedure=procedure,
            date=on(event["days"]),
            kind=event["kind"],
            description=event.get("description", ""),
            resolved=event.get("resolved", False),
        )
    return patient


@transaction.atomic
def demo_cohort_load(*, force: bool = False) -> int:
    """Loads the 30 demo patients unless they are there already; returns how many were added.

    Refuses (RealPatientsPresent) when the registry holds non-demo patients, unless ``force``.
    """
    if not force and Patient.objects.filter(is_demo=False).exists():
        raise RealPatientsPresent(
            "This registry holds real (non-demo) patients; the demo cohort is not loaded into it. "
            "Use --force to load it anyway (its patients stay flagged as demo)."
        )
    site = Site.objects.filter(code=DEMO_SITE_CODE).first() or services.site_create(
        code=DEMO_SITE_CODE, name=DEMO_SITE_NAME
    )
    present = set(Patient.objects.filter(is_demo=True, site=site).values_list("mrn", flat=True))
    added = 0
    for record in PATIENTS:
        if f"DEMO-{record['key']:04d}" not in present:
            _load_patient(site, record)
            added += 1
    return added
