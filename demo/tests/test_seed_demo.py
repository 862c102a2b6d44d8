"""The demo cohort reproduces docs/reference.md (its last section), computed here straight from the tables."""

import statistics
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from outcomes.models import Encounter, SecondaryProcedure
from registry.models import Patient, Procedure
from registry.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

# (stratum, treatment): (n, pre total, post total, narcotic counts, patients with a secondary procedure)
TABLES_2_3 = {
    ("pathological", "psfs"): (9, 7.3, 22.6, {"decreased": 6, "stable": 3}, 0),
    ("pathological", "sacroplasty"): (12, 10.7, 18.1, {"decreased": 4, "stable": 5, "increased": 3}, 5),
    ("impending", "psfs"): (2, 12.0, 23.5, {"decreased": 1, "increased": 1}, 0),
    ("impending", "sacroplasty"): (7, 18.4, 28.0, {"decreased": 5, "stable": 2}, 1),
}


@pytest.fixture
def demo():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert out.getvalue() == "Loaded 30 synthetic demo patients at site DEMO.\n"


def index_procedures():
    return {p.patient_id: p for p in Procedure.objects.order_by("patient_id", "date", "id").distinct("patient_id")}


def test_it_loads_30_demo_patients_once(demo):
    out = StringIO()
    call_command("seed_demo", stdout=out)

    assert out.getvalue() == "The demo cohort is already loaded (site DEMO); nothing to do.\n"
    assert Patient.objects.count() == 30
    assert Patient.objects.filter(is_demo=True, site__code="DEMO").count() == 30


def test_it_refuses_a_registry_with_real_patients_unless_forced():
    real = PatientFactory()

    with pytest.raises(CommandError) as caught:
        call_command("seed_demo", stdout=StringIO())
    assert str(caught.value).startswith("This registry holds real (non-demo) patients;")
    assert list(Patient.objects.all()) == [real]

    call_command("seed_demo", "--force", stdout=StringIO())
    assert Patient.objects.filter(is_demo=True).count() == 30


def test_group_sizes_and_table_1(demo):
    procedures = index_procedures()
    by_treatment = {"psfs": [], "sacroplasty": []}
    for patient in Patient.objects.all():
        by_treatment[procedures[patient.pk].treatment].append((patient, procedures[patient.pk]))

    sizes = Counter((p.fracture_status, p.treatment) for p in procedures.values())
    assert sizes == {key: value[0] for key, value in TABLES_2_3.items()}

    expected = {
        "psfs": {"age": 63, "sex": (8, 3), "cancer": (5, 2, 2, 2), "rt": 5, "ablation": (1, 1, 1)},
        "sacroplasty": {"age": 65, "sex": (8, 11), "cancer": (8, 1, 1, 9), "rt": 8, "ablation": (6, 1, 0)},
    }
    for treatment, rows in by_treatment.items():
        ages = [patient.age_on(procedure.date) for patient, procedure in rows]
        sexes = Counter(patient.sex for patient, _ in rows)
        cancers = Counter(patient.primary_cancer for patient, _ in rows)
        ablations = Counter(procedure.ablation for _, procedure in rows)
        want = expected[treatment]
        assert round(statistics.mean(ages)) == want["age"]
        assert (sexes["male"], sexes["female"]) == want["sex"]
        mm, liver, renal = cancers["multiple_myeloma"], cancers["liver"], cancers["renal"]
        assert (mm, liver, renal, len(rows) - mm - liver - renal) == want["cancer"]
        assert sum(procedure.prior_local_radiation for _, procedure in rows) == want["rt"]
        assert (ablations["rfa"], ablations["cryo"], ablations["microwave"]) == want["ablation"]


def test_pre_post_totals_narcotics_and_secondary_procedures(demo):
    procedures = index_procedures()
    encounters = {}
    for encounter in Encounter.objects.order_by("date", "id"):
        encounters.setdefault(encounter.procedure_id, []).append(encounter)
    secondary = set(SecondaryProcedure.objects.values_list("procedure_id", flat=True))

    for (stratum, treatment), (n, pre, post, narcotics, with_secondary) in TABLES_2_3.items():
        group = [p for p in procedures.values() if (p.fracture_status, p.treatment) == (stratum, treatment)]
        baselines = [next(e for e in encounters[p.pk] if e.kind == "baseline") for p in group]
        finals = [[e for e in encounters[p.pk] if e.kind == "followup"][-1] for p in group]

        assert len(group) == n
        assert abs(statistics.mean(e.msts_total for e in baselines) - pre) <= 0.1, (stratum, treatment)
        assert abs(statistics.mean(e.msts_total for e in finals) - post) <= 0.1, (stratum, treatment)
        assert Counter(e.narcotic_change for e in finals) == narcotics
        assert sum(p.pk in secondary for p in group) == with_secondary


def test_secondary_procedure_timing(demo):
    days = sorted((s.date - s.procedure.date).days for s in SecondaryProcedure.objects.select_related("procedure"))

    assert len(days) == 6
    assert (days[0], days[-1], statistics.median(days)) == (14, 730, 90)
    assert round(statistics.mean(days)) == 197
