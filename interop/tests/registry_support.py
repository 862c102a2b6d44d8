"""A registry for the import tests (patients with PSFS screws, encounters, secondary procedures,
complications, visits not done, later procedures and deaths), built through the services, and the
ways the tests compare two registries (every record by its natural keys, the stats document)."""

import datetime
import random
from decimal import Decimal

from analysis import selectors as analysis_selectors
from analysis import stats
from core.writes import analyze_after_bulk_load
from interop.importer import ANALYZED_MODELS
from outcomes import bulk as outcome_bulk
from outcomes import services as outcome_services
from outcomes.models import MSTS_FIELDS, Complication, Encounter, SecondaryProcedure, VisitNotDone
from registry import bulk, services
from registry.models import Patient, Procedure, Screw

MODELS = (Patient, Procedure, Screw, Encounter, SecondaryProcedure, Complication, VisitNotDone)
# In the order of services.SCREW_FIELDS: corridor, trajectory, side, diameter, length (optional), fully threaded.
SCREW_CHOICES = [
    ("S1", "transsacral", "left", Decimal("7.3"), Decimal("140.0"), True),
    ("S1", "iliosacral", "right", Decimal("6.5"), None, False),
    ("S2", "transsacral", "right", Decimal("8.0"), Decimal("152.5"), True),
    ("S2", "iliosacral", "left", Decimal("7.0"), None, True),
]
BUILT = "the import tests' registry"


def _decimal_or_none(rng, low, high):
    return None if rng.random() < 0.2 else Decimal(rng.randint(low * 10, high * 10)) / 10


def draw_registry(sites, count: int, seed: int = 7) -> list[dict]:
    """Each patient's records as the services' arguments: ``patient``, ``procedure`` (with its
    ``screws``), ``encounters``, and ``secondary``, ``complication``, ``not_done``, ``later`` (a
    second procedure) or None."""
    rng = random.Random(seed)
    drawn = []
    for number in range(count):
        day0 = datetime.date(2021, 1, 1) + datetime.timedelta(days=rng.randint(0, 900))
        cancer = rng.choice(["breast", "renal", "lung", "multiple_myeloma", "other"])
        patient = {
            "site": sites[number % len(sites)],
            "mrn": f"=M{number}" if number % 37 == 0 else f"M{number:05d}",
            "birth_date": datetime.date(rng.randint(1930, 1985), rng.randint(1, 12), rng.randint(1, 28)),
            "sex": rng.choice(["male", "female"]),
            "primary_cancer": cancer,
            "primary_cancer_detail": "@chondrosarcoma" if cancer == "other" else "",
            "death_date": day0 + datetime.timedelta(days=400) if rng.random() < 0.15 else None,
        }
        psfs = rng.random() < 0.6
        procedure = {
            "date": day0,
            "treatment": "psfs" if psfs else "sacroplasty",
            "fracture_status": rng.choice(["pathological", "impending"]),
            "service": rng.choice(["orthopaedics", "interventional_radiology"]),
            "ablation": rng.choice(["none", "rfa", "cryo", "microwave"]),
            "prior_local_radiation": rng.random() < 0.5,
            "cement_volume_ml": _decimal_or_none(rng, 2, 30),
            "approach": rng.choice([None, "posterior", "transiliac", "combined"]),
            "indications": rng.sample(
                ["destructive_lesion", "pain_despite_radiation", "mechanical_pain"], rng.randint(0, 2)
            ),
            "screws": [
                dict(zip(services.SCREW_FIELDS, s, strict=True)) for s in rng.sample(SCREW_CHOICES, rng.randint(1, 3))
            ]
            if psfs
            else [],
        }
        scores = lambda: {f: (None if rng.random() < 0.05 else rng.randint(0, 5)) for f in MSTS_FIELDS}  # noqa: E731
        encounters = [
            dict(
                date=day0 - datetime.timedelta(days=rng.randint(0, 10)),
                kind="baseline",
                opioid_mme_per_day=_decimal_or_none(rng, 0, 200),
                **scores(),
            )
        ]
        followups = rng.sample([14, 30, 90, 180], rng.randint(1, 4))
        for days in followups:
            encounters.append(
                dict(
                    date=day0 + datetime.timedelta(days=days),
                    kind="followup",
                    narcotic_change=rng.choice([None, "decreased", "stable", "increased"]),
                    opioid_mme_per_day=_decimal_or_none(rng, 0, 120),
                    **scores(),
                )
            )
        secondary = complication = not_done = later = None
        if rng.random() < 0.3:
            secondary = {
                "date": day0 + datetime.timedelta(days=rng.randint(20, 300)),
                "kind": rng.choice(["radiation", "neurolysis", "hardware_removal", "other"]),
                "reason": rng.choice(["", "persistent pain", "=cmd|' /C calc'!A0"]),
            }
        if rng.random() < 0.25:
            date = day0 + datetime.timedelta(days=rng.randint(1, 60))
            kind = rng.choice(["screw_backout", "cement_extravasation", "radiculopathy", "infection", "other"])
            description = rng.choice(["", "minor leak", "+1 grade"])
            # An "other" complication is described (the same draws, so the registry is the same size).
            description = description or ("unlisted" if kind == "other" else "")
            complication = {"date": date, "kind": kind, "description": description, "resolved": rng.random() < 0.5}
        # Every third patient: the first visit without a follow-up is recorded as not done (no draws,
        # so the rest of the registry is the one the other tests know).
        missed = [visit for visit, days in (("week2", 14), ("month1", 30), ("month3", 90)) if days not in followups]
        if number % 3 == 0 and missed:
            not_done = {
                "visit": missed[0],
                "reason": ["declined", "too_ill", "other"][number % 9 // 3],
                "note": "=moved away" if number % 9 // 3 == 2 else "",
            }
        if rng.random() < 0.1:
            later = {
                "date": day0 + datetime.timedelta(days=250),
                "treatment": "sacroplasty",
                "fracture_status": "impending",
                "service": "interventional_radiology",
            }
        drawn.append(
            {
                "patient": patient,
                "procedure": procedure,
                "encounters": encounters,
                "secondary": secondary,
                "complication": complication,
                "not_done": not_done,
                "later": later,
            }
        )
    return drawn


def build_registry(sites, count: int, seed: int = 7, *, in_bulk: bool = False) -> None:
    """``count`` patients over ``sites`` (``draw_registry``), all through the services: one record at
    a time, or ``in_bulk`` through the bulk services (the same rules, much faster)."""
    drawn = draw_registry(sites, count, seed)
    if in_bulk:
        _build_in_bulk(drawn)
    else:
        _build_one_at_a_time(drawn)
    # As an import does after a large load (core.writes.analyze_after_bulk_load): a table that an
    # earlier test left vacuumed as "0 rows" would otherwise make the export's plans cubic.
    analyze_after_bulk_load(ANALYZED_MODELS)


def _build_one_at_a_time(drawn: list[dict]) -> None:
    for records in drawn:
        patient = services.patient_create(user=None, **records["patient"])
        procedure = services.procedure_create(user=None, patient=patient, **records["procedure"])
        for encounter in records["encounters"]:
            outcome_services.encounter_record(user=None, procedure=procedure, **encounter)
        if records["secondary"]:
            outcome_services.secondary_procedure_create(user=None, procedure=procedure, **records["secondary"])
        if records["complication"]:
            outcome_services.complication_create(user=None, procedure=procedure, **records["complication"])
        if records["not_done"]:
            outcome_services.visit_not_done_create(user=None, procedure=procedure, **records["not_done"])
        if records["later"]:
            services.procedure_create(user=None, patient=patient, **records["later"])


def _build_in_bulk(drawn: list[dict]) -> None:
    patients = [services.patient_build(**records["patient"]) for records in drawn]
    assert bulk.patients_create_bulk(user=None, patients=patients, reason=BUILT) == {}
    index = []
    for patient, records in zip(patients, drawn, strict=True):
        fields = dict(records["procedure"])
        screws = fields.pop("screws")
        index.append((services.procedure_build(patient=patient, **fields), screws))
    later = [
        (services.procedure_build(patient=patient, **records["later"]), [])
        for patient, records in zip(patients, drawn, strict=True)
        if records["later"]
    ]
    for procedures in (index, later):
        assert bulk.procedures_create_bulk(user=None, procedures=procedures, reason=BUILT) == {}

    def each(name: str, build):
        return [
            build(procedure=procedure, **fields)
            for (procedure, _), records in zip(index, drawn, strict=True)
            for fields in (records[name] if name == "encounters" else [records[name]] if records[name] else [])
        ]

    writes = (
        (outcome_bulk.encounters_create_bulk, "encounters", each("encounters", outcome_services.encounter_build)),
        (outcome_bulk.secondary_procedures_create_bulk, "secondary_procedures", each("secondary", SecondaryProcedure)),
        (outcome_bulk.complications_create_bulk, "complications", each("complication", Complication)),
        (
            outcome_bulk.visits_not_done_create_bulk,
            "visits_not_done",
            each("not_done", outcome_services.visit_not_done_build),
        ),
    )
    for create, name, records in writes:
        assert create(user=None, reason=BUILT, **{name: records}) == {}


def registry_records() -> dict[str, list]:
    """Every clinical record by its natural keys and values (no ids, no timestamps, no versions)."""

    def procedure_key(procedure):
        return (procedure.patient.site.code, procedure.patient.mrn, procedure.date, procedure.treatment)

    def rows(queryset, *fields):
        related = queryset.select_related("procedure__patient__site")
        return sorted((procedure_key(r.procedure), *(getattr(r, f) for f in fields)) for r in related)

    procedures = Procedure.objects.select_related("patient__site").prefetch_related("screws")
    return {
        "patients": sorted(
            (p.site.code, p.mrn, p.birth_date, p.sex, p.primary_cancer, p.primary_cancer_detail, p.death_date)
            for p in Patient.objects.select_related("site")
        ),
        "procedures": sorted(
            (
                procedure_key(p),
                *(getattr(p, f) for f in services.PROCEDURE_EDITABLE[2:]),
                [
                    tuple(getattr(s, f) for f in services.SCREW_FIELDS)
                    for s in sorted(p.screws.all(), key=lambda s: s.id)
                ],
            )
            for p in procedures
        ),
        "encounters": rows(
            Encounter.objects.all(), "date", "kind", *outcome_services.ENCOUNTER_EDITABLE[2:], "msts_total"
        ),
        "secondary_procedures": rows(SecondaryProcedure.objects.all(), "date", "kind", "reason"),
        "complications": rows(Complication.objects.all(), "date", "kind", "description", "resolved"),
        "visits_not_done": rows(VisitNotDone.objects.all(), "visit", "reason", "note"),
    }


def audit_events() -> int:
    return sum(model.pgh_event_models["insert"].objects.count() for model in MODELS)


def stats_document() -> dict:
    return stats.cohort_document(analysis_selectors.cohort_fetch(), computed_at="fixed")


def sortable(records: dict) -> dict:
    return {name: sorted(rows, key=repr) for name, rows in records.items()}
