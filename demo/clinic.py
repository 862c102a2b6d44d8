"""The demo clinic: a few SYNTHETIC recent patients at site DEMO-CLINIC whose visits are due and overdue
today, so that a new user's worklist is not empty and its follow-up loop can be tried.

The study's cohort at site DEMO stays as it is (it reproduces the paper); this site is beside it.
Dates are set relative to the day of loading: a patient operated "10 days ago" has a 1-2 week visit
due on that day. Every patient is flagged ``is_demo``; none describes a real person.
"""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from outcomes import services as outcome_services
from outcomes.models import MSTS_FIELDS, EncounterKind
from registry import services
from registry.models import Patient, Site

CLINIC_SITE_CODE = "DEMO-CLINIC"
CLINIC_SITE_NAME = "Demo clinic (synthetic recent patients, visits due now)"

_PSFS_SCREWS = [
    {
        "corridor": "S1",
        "trajectory": "transsacral",
        "side": "left",
        "diameter_mm": Decimal("7.3"),
        "fully_threaded": True,
    },
    {
        "corridor": "S2",
        "trajectory": "iliosacral",
        "side": "right",
        "diameter_mm": Decimal("7.3"),
        "fully_threaded": True,
    },
]

# (procedure days ago, treatment, fracture status, follow-ups on these days after the procedure).
# What the worklist shows on the day of loading is in the comment.
CLINIC_PATIENTS = [
    (10, "sacroplasty", "pathological", []),  # 1-2 weeks due
    (18, "psfs", "impending", []),  # 1-2 weeks due, closing soon
    (30, "sacroplasty", "pathological", [12]),  # 1 month due
    (33, "psfs", "pathological", []),  # 1-2 weeks overdue, 1 month due
    (60, "sacroplasty", "impending", [14]),  # 1 month overdue
    (95, "psfs", "pathological", [10, 30]),  # 3 months due
    (140, "sacroplasty", "pathological", [9, 28]),  # 3 months overdue
    (150, "psfs", "impending", [14, 35, 90]),  # complete: nothing due
]
_BIRTH_YEARS = [1951, 1960, 1947, 1968, 1955, 1972, 1944, 1958]
_CANCERS = ["breast", "lung", "multiple_myeloma", "prostate", "renal", "breast", "lung", "multiple_myeloma"]


def _msts(day: int, key: int) -> dict:
    """Scores that improve after the procedure, varied a little between patients."""
    base = [1, 2, 2, 2, 2, 2] if day <= 0 else [3, 3, 3, 3, 3, 3]
    return dict(zip(MSTS_FIELDS, [min(5, score + (key + i) % 2) for i, score in enumerate(base)], strict=True))


def _load(site: Site, key: int, days_ago: int, treatment: str, fracture_status: str, followups, today) -> None:
    day0 = today - datetime.timedelta(days=days_ago)
    patient = services.patient_create(
        user=None,
        site=site,
        mrn=f"CLINIC-{key:04d}",
        birth_date=datetime.date(_BIRTH_YEARS[key - 1], 1 + key, 10 + key),
        sex="female" if key % 2 else "male",
        primary_cancer=_CANCERS[key - 1],
        is_demo=True,
    )
    procedure = services.procedure_create(
        user=None,
        patient=patient,
        date=day0,
        treatment=treatment,
        fracture_status=fracture_status,
        service="orthopaedics" if treatment == "psfs" else "interventional_radiology",
        ablation="none",
        prior_local_radiation=bool(key % 3),
        cement_volume_ml=Decimal("8.0"),
        approach="posterior",
        indications=["destructive_lesion", "mechanical_pain"] if treatment == "psfs" else [],
        screws=[dict(screw) for screw in _PSFS_SCREWS] if treatment == "psfs" else [],
    )
    outcome_services.encounter_record(
        user=None,
        procedure=procedure,
        date=day0 - datetime.timedelta(days=1),
        kind=EncounterKind.BASELINE,
        opioid_mme_per_day=Decimal("60"),
        **_msts(-1, key),
    )
    for day in followups:
        outcome_services.encounter_record(
            user=None,
            procedure=procedure,
            date=day0 + datetime.timedelta(days=day),
            kind=EncounterKind.FOLLOWUP,
            narcotic_change="decreased",
            opioid_mme_per_day=Decimal("40"),
            **_msts(day, key),
        )


@transaction.atomic
def demo_clinic_load(*, today: datetime.date | None = None) -> int:
    """Loads the demo clinic's patients that are not there yet; returns how many were added."""
    today = today or timezone.localdate()
    site = Site.objects.filter(code=CLINIC_SITE_CODE).first() or services.site_create(
        code=CLINIC_SITE_CODE, name=CLINIC_SITE_NAME
    )
    present = set(Patient.objects.filter(site=site).values_list("mrn", flat=True))
    added = 0
    for key, (days_ago, treatment, fracture_status, followups) in enumerate(CLINIC_PATIENTS, start=1):
        if f"CLINIC-{key:04d}" not in present:
            _load(site, key, days_ago, treatment, fracture_status, followups, today)
            added += 1
    return added
