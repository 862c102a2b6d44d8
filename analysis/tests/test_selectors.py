import datetime
import re

import numpy as np
import pytest

from analysis import selectors
from analysis.cohort_extras import trajectory_key, visit_matrix
from outcomes import services as outcome_services
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def scores(pain, function, emotional, supports, walking, gait):
    return {
        "msts_pain": pain,
        "msts_function": function,
        "msts_emotional_acceptance": emotional,
        "msts_supports": supports,
        "msts_walking": walking,
        "msts_gait": gait,
    }


@pytest.fixture
def patient_with_history():
    """A patient whose first procedure was entered second, with a later visit entered last."""
    patient = PatientFactory(birth_date=D(1960, 5, 17), sex="male", primary_cancer="renal")
    later = ProcedureFactory(patient=patient, date=D(2023, 3, 1), treatment="psfs", fracture_status="pathological")
    index = ProcedureFactory(
        patient=patient,
        date=D(2023, 1, 10),
        treatment="sacroplasty",
        fracture_status="impending",
        ablation="cryo",
        prior_local_radiation=True,
    )
    EncounterFactory(procedure=index, kind="baseline", date=D(2023, 1, 9), **scores(0, 1, 2, 3, 4, 5))
    EncounterFactory(procedure=index, kind="followup", date=D(2023, 2, 10), **scores(5, 5, 5, 5, 5, 5))
    EncounterFactory(
        procedure=index, kind="followup", date=D(2023, 4, 10), narcotic_change="decreased", **scores(4, 4, 4, 3, 3, 3)
    )
    # Entered last but dated earlier: not the final follow-up.
    EncounterFactory(
        procedure=index, kind="followup", date=D(2023, 3, 10), narcotic_change="increased", **scores(1, 1, 1, 1, 1, 1)
    )
    # Visits and events of the later procedure belong to it, not to the index procedure.
    EncounterFactory(procedure=later, kind="baseline", date=D(2023, 2, 28), **scores(0, 0, 0, 0, 0, 0))
    EncounterFactory(procedure=later, kind="followup", date=D(2023, 9, 1), **scores(2, 2, 2, 2, 2, 2))
    outcome_services.complication_create(user=None, procedure=later, date=D(2023, 4, 1), kind="infection")
    outcome_services.secondary_procedure_create(user=None, procedure=index, date=D(2023, 6, 1), kind="radiation")
    outcome_services.secondary_procedure_create(user=None, procedure=index, date=D(2023, 5, 1), kind="neurolysis")
    outcome_services.complication_create(user=None, procedure=index, date=D(2023, 2, 1), kind="screw_backout")
    return patient


def test_it_reads_the_index_procedure_its_baseline_and_its_final_followup(patient_with_history):
    cohort = selectors.cohort_fetch()

    assert len(cohort) == 1
    assert cohort["site_id"].tolist() == [patient_with_history.site_id]
    assert cohort["treatment"].tolist() == ["sacroplasty"]
    assert cohort["fracture_status"].tolist() == ["impending"]
    assert cohort["ablation"].tolist() == ["cryo"]
    assert cohort["prior_local_radiation"].tolist() == [True]
    assert cohort["sex"].tolist() == ["male"]
    assert cohort["primary_cancer"].tolist() == ["renal"]
    assert cohort["age"].tolist() == [62.0]
    assert cohort["index_month"].tolist() == [2023 * 12 + 0]
    assert [cohort[f"pre_{m}"][0] for m in ("total", "pain", "gait")] == [15.0, 0.0, 5.0]
    assert [cohort[f"post_{m}"][0] for m in ("total", "pain", "supports")] == [21.0, 4.0, 3.0]
    assert cohort["narcotic_change"].tolist() == ["decreased"]
    assert cohort["followup_days"].tolist() == [90.0]  # 2023-01-10 to 2023-04-10
    assert cohort["secondary_count"].tolist() == [2]
    assert cohort["secondary_first_days"].tolist() == [111.0]  # to 2023-05-01
    assert dict(zip(cohort.complication_kinds, cohort["complications"][0].tolist(), strict=True)) == {
        "screw_backout": 1,
        "cement_extravasation": 0,
        "radiculopathy": 0,
        "infection": 0,
        "other": 0,
    }


def test_it_takes_the_lower_id_when_two_procedures_share_the_first_date():
    patient = PatientFactory()
    ProcedureFactory(patient=patient, date=D(2023, 1, 10), treatment="psfs", fracture_status="impending")
    ProcedureFactory(patient=patient, date=D(2023, 1, 10), treatment="sacroplasty", fracture_status="pathological")

    cohort = selectors.cohort_fetch()

    assert cohort["treatment"].tolist() == ["psfs"]
    assert cohort["fracture_status"].tolist() == ["impending"]


def test_it_keeps_patients_without_procedure_or_scores_with_missing_values():
    PatientFactory()  # no procedure
    procedure = ProcedureFactory(date=D(2023, 1, 10))
    EncounterFactory(procedure=procedure, kind="baseline", date=D(2023, 1, 10), msts_pain=None)
    EncounterFactory(procedure=procedure, kind="followup", date=D(2023, 2, 9))

    cohort = selectors.cohort_fetch()

    assert cohort["treatment"].tolist() == ["", "psfs"]
    assert np.isnan(cohort["age"][0])
    assert np.isnan(cohort["index_month"][0])
    assert np.isnan(cohort["pre_total"]).tolist() == [True, True]
    assert np.isnan(cohort["pre_pain"][1])
    assert cohort["pre_function"][1] == 3.0
    assert cohort["post_total"][1] == 18.0
    assert cohort["narcotic_change"].tolist() == ["", ""]
    assert np.isnan(cohort["followup_days"][0])
    assert cohort["followup_days"][1] == 30.0
    assert selectors.cohort_source_counts(cohort) == {
        "patients": 2,
        "index_procedures": 1,
        "baselines": 1,
        "final_followups": 1,
        "secondary_procedures": 0,
        "complications": 0,
    }


def test_the_fingerprint_changes_with_the_data_and_only_then():
    procedure = ProcedureFactory()
    encounter = EncounterFactory(procedure=procedure)
    first = selectors.cohort_fingerprint(selectors.cohort_fetch())

    assert selectors.cohort_fingerprint(selectors.cohort_fetch()) == first
    outcome_services.encounter_update(user=None, encounter=encounter, data={"msts_pain": 4}, reason="Score corrected")
    assert selectors.cohort_fingerprint(selectors.cohort_fetch()) != first


def test_it_reads_days_to_death_and_the_last_day_known_alive(patient_with_history):
    cohort = selectors.cohort_fetch()
    # Index procedure 2023-01-10; the latest record of it is the secondary procedure of 2023-06-01 (day 142),
    # after the final follow-up (2023-04-10, day 90); the later procedure's visit of 2023-09-01 is not its own.
    assert cohort["last_alive_days"].tolist() == [142.0]
    assert np.isnan(cohort["death_days"]).all()

    type(patient_with_history).objects.filter(pk=patient_with_history.pk).update(death_date=D(2023, 8, 1))
    cohort = selectors.cohort_fetch()
    assert cohort["death_days"].tolist() == [203.0]


def test_a_patient_with_nothing_after_the_index_procedure_is_known_alive_on_its_day():
    patient = PatientFactory()
    ProcedureFactory(patient=patient, date=D(2024, 2, 1))
    cohort = selectors.cohort_fetch()
    assert cohort["last_alive_days"].tolist() == [0.0]


def test_it_reads_every_complete_followup_of_the_index_procedure_as_days_and_totals(patient_with_history):
    index = patient_with_history.procedures.order_by("date").first()
    # Incomplete (no pain score): not a visit of the trajectory.
    EncounterFactory(procedure=index, kind="followup", date=D(2023, 1, 20), msts_pain=None)

    cohort = selectors.cohort_fetch()

    # 2023-02-10, 03-10 and 04-10 from 2023-01-10, in date order (entered in another); totals 30, 6 and 21.
    # The later procedure's follow-up of 2023-09-01 is not the index procedure's.
    assert cohort["visit_days"].tolist() == ["31 59 90"]
    assert cohort["visit_totals"].tolist() == ["30 6 21"]
    assert visit_matrix(cohort["visit_days"]).tolist() == [[31.0, 59.0, 90.0]]


def test_patients_without_a_complete_followup_have_no_visits():
    PatientFactory()  # no procedure
    procedure = ProcedureFactory(date=D(2023, 1, 10))
    EncounterFactory(procedure=procedure, kind="baseline", date=D(2023, 1, 10))
    EncounterFactory(procedure=procedure, kind="followup", date=D(2023, 2, 9), msts_gait=None)

    cohort = selectors.cohort_fetch()

    assert cohort["visit_days"].tolist() == ["", ""]
    assert cohort["visit_totals"].tolist() == ["", ""]
    assert np.isnan(visit_matrix(cohort["visit_totals"])).tolist() == [[True], [True]]


def test_no_date_leaves_the_database_with_the_visits(patient_with_history):
    text = selectors.cohort_csv().decode()

    header = text.splitlines()[0].split(",")
    assert {"visit_days", "visit_totals", "death_days", "last_alive_days"} <= set(header)
    assert re.search(r"\d{4}-\d{2}-\d{2}", text) is None
    assert "2023" not in text and "1960" not in text  # no year of any date either


def test_the_fingerprint_changes_when_a_followup_before_the_final_one_changes(patient_with_history):
    earlier = patient_with_history.procedures.order_by("date").first().encounters.get(date=D(2023, 3, 10))
    first = selectors.cohort_fetch()

    outcome_services.encounter_update(user=None, encounter=earlier, data={"msts_pain": 4}, reason="Score corrected")

    second = selectors.cohort_fetch()
    assert second["post_total"].tolist() == first["post_total"].tolist() == [21.0]
    assert second["visit_totals"].tolist() == ["30 9 21"]
    assert selectors.cohort_fingerprint(second) != selectors.cohort_fingerprint(first)


def test_a_registry_larger_than_the_visits_limit_reads_no_visits_and_its_trajectory_says_why(
    patient_with_history, monkeypatch
):
    """At 100,000 patients the visits cost the refresh about 0.4 s for a model it does not fit."""
    assert selectors.cohort_fetch()["visits_read"].tolist() == [True]
    monkeypatch.setattr(selectors, "VISITS_MAX_PATIENTS", 0)

    cohort = selectors.cohort_fetch()
    trajectory = trajectory_key(cohort)

    assert cohort["visits_read"].tolist() == [False]
    assert cohort["visit_totals"].tolist() == [""]
    assert cohort["post_total"].tolist() == [21.0]  # everything else is read as before
    assert set(trajectory) == {"pathological", "impending"}
    for stratum in trajectory.values():
        assert stratum["difference"] is None and stratum["n_patients"] is None
        assert stratum["note"].startswith("not computed: the registry holds more patients than the refresh reads")
