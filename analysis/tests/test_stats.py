"""The statistics against hand-computed values, on plain data (no database)."""

import json
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from analysis import stats
from analysis.tests.cohorts import KINDS, cohort, row
from outcomes.models import MSTS_DOMAINS

approx = pytest.approx


def group_rows():
    """Five PSFS patients with pathological fractures; D has no baseline, E no pain score at follow-up."""
    return [
        row(  # A
            pre=(0, 1, 0, 1, 2, 3),
            post=(4, 4, 4, 3, 4, 5),
            narcotic_change="decreased",
            followup_days=90,
            complications={"screw_backout": 1},
        ),
        row(  # B
            pre=(1, 2, 1, 1, 1, 2),
            post=(3, 3, 4, 3, 3, 4),
            narcotic_change="decreased",
            followup_days=180,
            secondary_first_days=30,
        ),
        row(  # C
            pre=(0, 1, 0, 2, 3, 4),
            post=(5, 4, 5, 4, 4, 5),
            narcotic_change="stable",
            followup_days=365,
            complications={"cement_extravasation": 2},
        ),
        row(pre=None, post=(5, 5, 5, 5, 5, 5), narcotic_change=None, followup_days=60),  # D
        row(  # E
            pre=(1, 1, 1, 1, 1, 1),
            post=(None, 3, 3, 3, 3, 3),
            narcotic_change="increased",
            followup_days=400,
            secondary_first_days=200,
            secondary_count=2,
        ),
    ]


def test_it_names_the_domains_as_the_outcomes_app_does():
    assert tuple(key for _, key, _ in MSTS_DOMAINS) == stats.DOMAINS


def test_it_averages_pre_and_post_scores_over_patients_with_both():
    summary = stats.group_summary(cohort(group_rows()))

    assert summary["n"] == 5
    assert summary["msts_n"] == {
        "total": 3,
        "pain": 3,
        "function": 4,
        "emotional_acceptance": 4,
        "supports": 4,
        "walking": 4,
        "gait": 4,
    }
    assert summary["msts_excluded"]["total"] == 2
    assert summary["msts_excluded"]["function"] == 1
    # total and pain: A, B, C
    assert summary["msts_pre"]["total"] == approx(25 / 3)
    assert summary["msts_post"]["total"] == approx(71 / 3)
    assert summary["msts_pre"]["pain"] == approx(1 / 3)
    assert summary["msts_post"]["pain"] == approx(4.0)
    # other domains: A, B, C, E
    assert summary["msts_pre"]["function"] == approx(1.25)
    assert summary["msts_post"]["function"] == approx(3.5)
    assert summary["msts_pre"]["gait"] == approx((3 + 2 + 4 + 1) / 4)
    assert summary["msts_post"]["gait"] == approx((5 + 4 + 5 + 3) / 4)
    assert "note" not in summary["msts_pre"]


def test_it_computes_the_improvement_mean_and_sample_sd():
    summary = stats.group_summary(cohort(group_rows()))

    # (24-7)/30, (20-8)/30, (27-10)/30 in percent: 56.67, 40, 56.67
    assert summary["improvement_pct"] == {"mean": approx(460 / 9), "sd": approx(math.sqrt(7500) / 9), "n": 3}
    assert summary["improvement_pct"]["sd"] == approx(9.6225, abs=1e-4)


def test_it_counts_narcotic_changes_secondary_procedures_and_complications():
    summary = stats.group_summary(cohort(group_rows()))

    assert summary["narcotic_change"] == {"decreased": 2, "stable": 1, "increased": 1, "not_recorded": 1}
    assert summary["secondary_procedures"] == {"patients": 2, "rate": 0.4}
    assert summary["time_to_secondary_days"] == {"mean": 115.0, "median": 115.0, "min": 30.0, "max": 200.0, "n": 2}
    assert summary["followup_days"] == {"mean": 219.0, "median": 180.0, "min": 60.0, "max": 400.0, "n": 5}
    assert summary["complications"] == {
        "screw_backout": 1,
        "cement_extravasation": 2,
        "radiculopathy": 0,
        "infection": 0,
        "other": 0,
    }


def test_it_draws_the_secondary_procedure_free_curve_censored_at_the_final_followup():
    summary = stats.group_summary(cohort(group_rows()))

    # 30 event (5 at risk), 60 and 90 censored, 200 event (2 at risk), 365 censored
    assert summary["kaplan_meier"] == {
        "curve": [
            {"t": 0.0, "survival": 1.0, "at_risk": 5},
            {"t": 30.0, "survival": approx(0.8), "at_risk": 5},
            {"t": 200.0, "survival": approx(0.4), "at_risk": 2},
        ],
        "n": 5,
        "events": 2,
    }


def test_kaplan_meier_keeps_censored_ties_at_risk_and_handles_tied_events():
    curve = stats.kaplan_meier(np.array([10, 20, 20, 30, 40, np.nan]), np.array([1, 0, 1, 1, 0, 1], dtype=bool))

    assert curve == [
        {"t": 0.0, "survival": 1.0, "at_risk": 5},
        {"t": 10.0, "survival": approx(0.8), "at_risk": 5},
        {"t": 20.0, "survival": approx(0.6), "at_risk": 4},
        {"t": 30.0, "survival": approx(0.3), "at_risk": 2},
    ]
    assert stats.kaplan_meier(np.array([5.0, 5.0]), np.array([True, True])) == [
        {"t": 0.0, "survival": 1.0, "at_risk": 2},
        {"t": 5.0, "survival": 0.0, "at_risk": 2},
    ]


def test_it_leaves_patients_without_any_follow_up_out_of_the_curve_and_says_so():
    rows = [row(followup_days=None), row(followup_days=100, secondary_first_days=50)]

    km = stats.group_summary(cohort(rows))["kaplan_meier"]

    assert km["n"] == 1
    assert km["note"] == "1 patients without any follow-up or secondary procedure are left out"
    assert km["curve"][-1] == {"t": 50.0, "survival": 0.0, "at_risk": 1}


def test_describe_and_mean_sd_on_hand_computed_values():
    assert stats.describe(np.array([14, 90, 730, 30, np.nan])) == {
        "mean": 216.0,
        "median": 60.0,
        "min": 14.0,
        "max": 730.0,
        "n": 4,
    }
    assert stats.mean_sd(np.array([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])) == {
        "mean": 5.0,
        "sd": approx(math.sqrt(32 / 7)),
        "n": 8,
    }


def test_describe_and_mean_sd_say_why_when_there_is_not_enough_data():
    assert stats.describe(np.array([np.nan])) == {
        "mean": None,
        "median": None,
        "min": None,
        "max": None,
        "n": 0,
        "note": "not enough data: no values",
    }
    assert stats.mean_sd(np.array([12.5])) == {
        "mean": 12.5,
        "sd": None,
        "n": 1,
        "note": "not enough data: SD needs 2 patients",
    }


def test_it_builds_table_1_per_treatment():
    rows = [
        row(age=60, sex="male", primary_cancer="multiple_myeloma", prior_local_radiation=True, ablation="rfa"),
        row(age=65, sex="male", primary_cancer="liver", ablation="none", fracture_status="impending"),
        row(age=70, sex="female", primary_cancer="lung", prior_local_radiation=True, ablation="cryo"),
        row(age=58, sex="male", primary_cancer="other", ablation="microwave"),
        row(treatment="sacroplasty", age=71, sex="female", primary_cancer="renal", ablation="rfa"),
    ]

    document = stats.cohort_document(cohort(rows), computed_at="2024-06-01T00:00:00+00:00")

    assert document["demographics"]["psfs"] == {
        "n": 4,
        "age_mean": 63.25,
        "sex": {"male": 3, "female": 1},
        "primary_cancer": {"multiple_myeloma": 1, "liver": 1, "renal": 0, "other": 2},
        "primary_cancer_codes": {"liver": 1, "lung": 1, "multiple_myeloma": 1, "other": 1},
        "prior_local_radiation": 2,
        "ablation": {"any": 3, "rfa": 1, "cryo": 1, "microwave": 1},
    }
    assert document["demographics"]["sacroplasty"]["primary_cancer"] == {
        "multiple_myeloma": 0,
        "liver": 0,
        "renal": 1,
        "other": 0,
    }
    assert document["demographics"]["sacroplasty"]["ablation"] == {"any": 1, "rfa": 1, "cryo": 0, "microwave": 0}


def test_it_splits_strata_and_counts_enrolment_by_month():
    rows = [
        row(index_month="2023-01"),
        row(index_month="2023-01", treatment="sacroplasty"),
        row(index_month="2022-11", fracture_status="impending", treatment="sacroplasty"),
        row(treatment="", fracture_status="", index_month=""),  # a patient without any procedure
    ]

    document = stats.cohort_document(cohort(rows), computed_at="2024-06-01T00:00:00+00:00")

    assert document["n_patients"] == 4
    assert document["n_patients_analysed"] == 3
    assert document["strata"]["pathological"]["n"] == 2
    assert document["strata"]["pathological"]["groups"]["psfs"]["n"] == 1
    assert document["strata"]["impending"]["groups"]["sacroplasty"]["n"] == 1
    assert document["strata"]["impending"]["groups"]["psfs"]["n"] == 0
    assert document["enrolment"] == [
        {"month": "2022-11", "psfs": 0, "sacroplasty": 1},
        {"month": "2023-01", "psfs": 1, "sacroplasty": 1},
    ]


# --- ANCOVA ----------------------------------------------------------------------------


def numpy_ancova(post, pre, psfs):
    """The textbook computation: least squares, sigma^2 = RSS / (n - 3), t distribution."""
    x = np.column_stack([np.ones(len(post)), psfs.astype(float), pre])
    beta, _, _, _ = np.linalg.lstsq(x, post, rcond=None)
    residuals = post - x @ beta
    df = len(post) - 3
    sigma2 = residuals @ residuals / df
    se = math.sqrt(sigma2 * np.linalg.inv(x.T @ x)[1, 1])
    t = beta[1] / se
    half = scipy_stats.t.ppf(0.975, df) * se
    return beta[1], beta[1] - half, beta[1] + half, 2 * scipy_stats.t.sf(abs(t), df)


def test_ancova_agrees_with_an_independent_least_squares_computation():
    rng = np.random.default_rng(7)
    pre = rng.integers(0, 31, size=25).astype(float)
    psfs = rng.random(25) < 0.4
    post = 5 + 4 * psfs + 0.6 * pre + rng.normal(0, 3, size=25)
    pre_with_gap, post_with_gap = np.append(pre, np.nan), np.append(post, 20.0)

    result = stats.ancova(post_with_gap, pre_with_gap, np.append(psfs, True))

    difference, low, high, p = numpy_ancova(post, pre, psfs)
    assert result["n"] == 25
    assert round(result["difference"], 4) == round(difference, 4)
    assert round(result["ci_low"], 4) == round(low, 4)
    assert round(result["ci_high"], 4) == round(high, 4)
    assert round(result["p_value"], 4) == round(p, 4)
    assert "note" not in result


def test_ancova_of_a_balanced_design_is_the_difference_of_the_group_means():
    # The same pre-operative scores in both groups: the adjusted difference is (5+7)/2 - (2+4.5)/2.
    result = stats.ancova(
        np.array([5.0, 7.0, 2.0, 4.5]), np.array([1.0, 3.0, 1.0, 3.0]), np.array([True, True, False, False])
    )

    assert result["difference"] == approx(2.75)
    assert result["n"] == 4


@pytest.mark.parametrize(
    ("post", "pre", "psfs", "note"),
    [
        (
            [20.0, 22.0, 25.0],
            [5.0, 6.0, 9.0],
            [True, True, True],
            "not enough data: needs patients of both treatments (psfs 3, sacroplasty 0)",
        ),
        (
            [20.0, 22.0, 25.0],
            [5.0, 6.0, 9.0],
            [True, True, False],
            "not enough data: 3 patients with both scores, 4 needed",
        ),
        (
            [20.0, 22.0, 25.0, 18.0, 21.0],
            [8.0, 8.0, 8.0, 8.0, 8.0],
            [True, True, False, False, False],
            "singular model: the pre-operative score is constant or confounded with the treatment",
        ),
        (
            [3.0, 5.0, 1.0, 4.0, 6.0],
            [1.0, 3.0, 1.0, 4.0, 6.0],
            [True, True, False, False, False],
            "not computable: the model fits the data exactly (no residual variance)",
        ),
        ([], [], [], "not enough data: needs patients of both treatments (psfs 0, sacroplasty 0)"),
    ],
)
def test_ancova_gives_null_with_a_note_when_it_cannot_be_computed(post, pre, psfs, note):
    result = stats.ancova(np.array(post), np.array(pre), np.array(psfs, dtype=bool))

    assert result == {
        "difference": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "n": len(post),
        "note": note,
    }


def test_an_empty_registry_gives_a_json_document_of_nulls_and_notes():
    document = stats.cohort_document(cohort([]), computed_at="2024-06-01T00:00:00+00:00")

    json.dumps(document, allow_nan=False)
    group = document["strata"]["impending"]["groups"]["psfs"]
    assert document["n_patients"] == 0
    assert group["n"] == 0
    assert group["msts_pre"]["total"] is None
    assert group["msts_pre"]["note"].startswith("total: no patient with both a baseline and a scored final follow-up")
    assert group["improvement_pct"]["note"] == "not enough data: no patient with both scores"
    assert group["secondary_procedures"] == {
        "patients": 0,
        "rate": None,
        "note": "not enough data: no patient in this group",
    }
    assert document["strata"]["pathological"]["ancova"]["total"]["note"] == (
        "not enough data: needs patients of both treatments (psfs 0, sacroplasty 0)"
    )
    assert document["demographics"]["psfs"]["age_mean"] is None
    assert document["demographics"]["psfs"]["note"] == "age_mean: not enough data: no patient in this group"


def test_the_document_has_the_shape_of_the_data_dictionary():
    rows = [row(treatment=t, fracture_status=f) for t in ("psfs", "sacroplasty") for f in ("pathological", "impending")]

    document = stats.cohort_document(cohort(rows), computed_at="2024-06-01T00:00:00+00:00")

    json.dumps(document, allow_nan=False)
    assert document["computed_at"] == "2024-06-01T00:00:00+00:00"
    assert set(document["strata"]) == {"pathological", "impending"}
    for stratum in document["strata"].values():
        assert set(stratum["groups"]) == {"psfs", "sacroplasty"}
        assert set(stratum["ancova"]) == set(stats.MEASURES)
        group = stratum["groups"]["psfs"]
        assert {"n", "msts_pre", "msts_post", "improvement_pct", "narcotic_change", "secondary_procedures"} <= set(
            group
        )
        assert set(group["msts_pre"]) == {"total", *stats.DOMAINS}
        assert set(group["narcotic_change"]) == {"decreased", "stable", "increased", "not_recorded"}
        assert set(group["complications"]) == set(KINDS)
        assert set(stratum["ancova"]["total"]) == {"difference", "ci_low", "ci_high", "p_value", "n", "note"}


def test_total_pairs_give_each_patient_with_both_totals_and_the_sds():
    pre = np.array([6.0, np.nan, 10.0, 8.0])
    post = np.array([20.0, 25.0, np.nan, 24.0])

    result = stats.total_pairs(pre, post)

    assert result["msts_total_pairs"] == [[6.0, 20.0], [8.0, 24.0]]
    assert result["msts_total_sd"] == {"pre": pytest.approx(2**0.5), "post": pytest.approx(8**0.5)}


def test_total_pairs_sample_a_large_group_evenly():
    values = np.arange(1000, dtype=float) % 30

    result = stats.total_pairs(values, values)

    assert len(result["msts_total_pairs"]) == stats.PAIRS_SHOWN
    assert result["msts_total_pairs"][0] == [0.0, 0.0]
    assert result["msts_total_pairs"][-1] == [999 % 30, 999 % 30]
    assert stats.total_pairs(np.array([]), np.array([])) == {
        "msts_total_sd": {"pre": None, "post": None},
        "msts_total_pairs": [],
    }


def test_the_document_carries_survival_and_secondary_procedure_incidence():
    rows = [
        row(followup_days=100, death_days=120),  # PSFS: died on day 120
        row(followup_days=400),  # PSFS: alive, censored at day 400
        row(followup_days=30, secondary_first_days=60, death_days=200),  # PSFS: secondary day 60, died day 200
        row(treatment="sacroplasty", followup_days=50, death_days=80),  # died on day 80
        row(treatment="", fracture_status="", index_month="", followup_days=None),  # no procedure: left out
    ]

    document = stats.cohort_document(cohort(rows), computed_at="2024-06-01T00:00:00+00:00")

    json.dumps(document, allow_nan=False)
    psfs = document["survival"]["psfs"]
    # Day 120: 3 at risk, 1 death: S = 2/3. Day 200: 2 at risk, 1 death: S = 1/3 (the first S <= 0.5).
    assert (psfs["n"], psfs["events"], psfs["median_days"]) == (3, 2, 200.0)
    assert psfs["at_days"] == {"90": 1.0, "180": approx(2 / 3), "365": approx(1 / 3)}
    assert psfs["ci_at_days"]["180"] == approx(
        [(2 / 3) ** math.exp(s * 1.959964 * math.sqrt(1 / 6) / abs(math.log(2 / 3))) for s in (1, -1)], rel=1e-6
    )
    sacroplasty = document["survival"]["sacroplasty"]
    assert sacroplasty["at_days"] == {"90": 0.0, "180": 0.0, "365": 0.0}
    assert (sacroplasty["n"], sacroplasty["events"], sacroplasty["median_days"]) == (1, 1, 80.0)
    # The dashboard's curve: one step per death day, with the number at risk just before it.
    assert [step[0:2] + step[4:] for step in psfs["curve"]] == [[120.0, 0.6667, 3], [200.0, 0.3333, 2]]
    assert psfs["curve"][0][2:4] == approx(psfs["ci_at_days"]["180"], abs=1e-4)
    assert psfs["at_risk"] == {"0": 3, "90": 3, "180": 2, "365": 1}
    incidence = document["secondary_procedure_incidence"]
    assert incidence["psfs"].pop("curve") == [[60.0, 0.3333, 3]]
    assert incidence["psfs"].pop("at_risk") == {"0": 3, "90": 2, "180": 1, "365": 1}
    assert incidence["sacroplasty"].pop("curve") == []  # a competing death does not move the incidence
    assert incidence["sacroplasty"].pop("at_risk") == {"0": 1, "90": 0, "180": 0, "365": 0}
    # The secondary procedure on day 60 among 3 at risk: 1/3; the death on day 120 competes, adding nothing.
    assert document["secondary_procedure_incidence"] == {
        "psfs": {
            "n": 3,
            "events": 1,
            "competing": 1,
            "at_days": {"90": approx(1 / 3), "180": approx(1 / 3), "365": approx(1 / 3)},
        },
        "sacroplasty": {"n": 1, "events": 0, "competing": 1, "at_days": {"90": 0.0, "180": 0.0, "365": 0.0}},
    }


# --- Trajectory, responders and the improvement test (analysis.cohort_extras) ---------------


def trajectory_rows():
    """Three patients of each treatment with pathological fractures and several follow-ups; one impending
    patient; a PSFS patient without a baseline (no visit of theirs is used)."""
    rows = []
    for i, (treatment, lift) in enumerate([("psfs", 6)] * 3 + [("sacroplasty", 2)] * 3):
        base = 4 + 2 * i
        visits = [(14 + i, base + lift), (30 + 2 * i, base + lift + 1 + i % 2), (90 - i, base + lift + 3 - i % 3)]
        rows.append(
            row(
                treatment=treatment,
                pre=(base, 0, 0, 0, 0, 0),
                post=(visits[-1][1], 0, 0, 0, 0, 0),
                followup_days=visits[-1][0],
                visits=visits,
            )
        )
    rows.append(row(fracture_status="impending", pre=(3, 3, 3, 3, 3, 3), visits=[(20, 20)]))
    rows.append(row(pre=None, visits=[(30, 25), (60, 27)]))
    return rows


def test_the_trajectory_of_a_stratum_fits_every_visit_of_the_patients_with_a_baseline():
    from analysis.trajectory import trajectory_model

    rows = trajectory_rows()

    document = stats.cohort_document(cohort(rows), computed_at="2024-06-01T00:00:00+00:00")

    json.dumps(document, allow_nan=False)
    # The same model on arrays built by hand from the rows: one entry per visit of a patient with a baseline.
    post, psfs, pre, days, patient = [], [], [], [], []
    for number_, r in enumerate(rows[:6]):
        for day, total in r["visits"]:
            post.append(total)
            psfs.append(r["treatment"] == "psfs")
            pre.append(sum(r["pre"]))
            days.append(day)
            patient.append(number_)
    expected = trajectory_model(post, psfs, pre, days, patient)
    pathological = document["trajectory"]["pathological"]
    assert (pathological["n_patients"], pathological["n_visits"]) == (6, 18)
    assert pathological["difference"] == approx(expected["difference"], rel=1e-9)
    assert pathological["p_value"] == approx(expected["p_value"], rel=1e-9)
    assert pathological["difference"] > 0  # the PSFS patients gained 4 points more
    assert document["trajectory"]["impending"] == {
        "difference": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "n_patients": 1,
        "n_visits": 1,
        "note": "not enough data: needs patients of both treatments (psfs 1, sacroplasty 0)",
        # The baseline (month 0) and the one follow-up, in the 1-2 weeks window (month 0.5).
        "visits": {"psfs": [[0, 18.0, 1], [0.5, 20.0, 1]], "sacroplasty": []},
    }


def test_a_stratum_too_large_for_the_refresh_has_no_mixed_model_and_says_why(monkeypatch):
    from analysis import cohort_extras

    monkeypatch.setattr(cohort_extras, "MIXED_MODEL_MAX_PATIENTS", 5)
    fitted = []
    monkeypatch.setattr(cohort_extras, "trajectory_model", lambda post, *args: fitted.append(len(post)) or {})

    document = stats.cohort_document(cohort(trajectory_rows()), computed_at="2024-06-01T00:00:00+00:00")

    assert fitted == [1]  # the impending stratum's one visit only
    impending_visits = {"psfs": [[0, 18.0, 1], [0.5, 20.0, 1]], "sacroplasty": []}
    assert document["trajectory"]["impending"] == {"visits": impending_visits}

    visits = document["trajectory"]["pathological"].pop("visits")
    assert [row[0] for row in visits["psfs"]][0] == 0  # the visit means are there without the model
    assert document["trajectory"]["pathological"] == {
        "difference": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "n_patients": 6,
        "n_visits": 18,
        "note": "not computed: 6 patients in this stratum; the refresh fits the mixed model for at most 5 "
        "(about 0.5 s of computing per 1,000 patients)",
    }


def test_the_responders_share_one_mcid_from_every_baseline_of_the_scope():
    rows = trajectory_rows()

    document = stats.cohort_document(cohort(rows), computed_at="2024-06-01T00:00:00+00:00")

    # Baseline totals 4, 6, 8, 10, 12, 14 and 18 (the impending patient): half their SD.
    mcid = float(np.std([4, 6, 8, 10, 12, 14, 18], ddof=1)) / 2
    pathological = document["responders"]["pathological"]
    assert pathological["mcid"] == approx(mcid) == document["responders"]["impending"]["mcid"]
    # Final minus baseline: PSFS 9, 8, 7; sacroplasty 5, 4, 3; the MCID is 2.41.
    assert pathological["psfs"] == {"responders": 3, "n": 3, "rate": 1.0}
    assert pathological["sacroplasty"] == {"responders": 3, "n": 3, "rate": 1.0}
    assert pathological["p_value"] == 1.0
    # The impending patient's final total equals the baseline (18): not a responder.
    assert document["responders"]["impending"]["psfs"] == {"responders": 0, "n": 1, "rate": 0.0}
    assert document["responders"]["impending"]["note"].startswith("not enough data: Fisher's test needs patients")


def test_each_stratum_carries_the_welch_test_of_the_improvement_next_to_its_groups():
    rows = trajectory_rows()

    document = stats.cohort_document(cohort(rows), computed_at="2024-06-01T00:00:00+00:00")

    pathological = document["strata"]["pathological"]
    # Improvements (final - baseline) / 30 in percent: PSFS 9, 8, 7; sacroplasty 5, 4, 3.
    expected = scipy_stats.ttest_ind([900 / 30, 700 / 30, 800 / 30], [500 / 30, 300 / 30, 400 / 30], equal_var=False)
    assert pathological["improvement_p_value"] == approx(expected.pvalue, rel=1e-9)
    assert pathological["improvement_test"]["p_value"] == pathological["improvement_p_value"]
    assert pathological["improvement_test"]["note"] == (
        "Welch's t-test (unequal variances, two-sided) of the improvement percentages, PSFS against sacroplasty"
    )
    impending = document["strata"]["impending"]
    assert impending["improvement_p_value"] is None
    assert impending["improvement_test"]["note"] == (
        "Welch's t-test (unequal variances, two-sided) of the improvement percentages, PSFS against sacroplasty; "
        "not enough data: Welch's t-test needs 2 patients with both totals in each treatment"
    )


def test_a_scope_of_two_patients_has_notes_instead_of_a_trajectory_responders_or_test():
    rows = [row(pre=None, visits=[(30, 20)]), row(treatment="sacroplasty", fracture_status="impending")]

    document = stats.cohort_document(cohort(rows), computed_at="2024-06-01T00:00:00+00:00")

    json.dumps(document, allow_nan=False)
    assert document["trajectory"]["pathological"]["note"] == (
        "not enough data: needs patients of both treatments (psfs 0, sacroplasty 0)"
    )
    assert document["trajectory"]["impending"]["note"] == (
        "not enough data: needs patients of both treatments (psfs 0, sacroplasty 1)"
    )
    for stratum in ("pathological", "impending"):
        responders = document["responders"][stratum]
        assert responders["mcid"] is None
        assert responders["p_value"] is None
        assert responders["note"] == "not enough data: the MCID needs 2 baseline totals (1 in scope)"
        assert document["strata"][stratum]["improvement_p_value"] is None
        assert "not enough data" in document["strata"][stratum]["improvement_test"]["note"]


def test_equal_improvements_within_each_treatment_give_no_p_value_rather_than_a_certain_one():
    from analysis.responders import improvement_test

    # (post - pre) is 16 for every PSFS patient and 19 for every sacroplasty patient: 16/30 is not exact
    # in floating point, the variances come out tiny but not zero, and Welch's t gave p = 2.5e-31.
    rows = [row(pre=(1, 1, 1, 1, 1, 1), post=(5, 5, 3, 3, 3, 3)) for _ in range(3)]
    rows += [row(treatment="sacroplasty", pre=(1, 1, 1, 1, 1, 1), post=(5, 5, 5, 4, 3, 3)) for _ in range(3)]
    with pytest.warns(RuntimeWarning, match="Precision loss"):
        assert improvement_test([6] * 6, [22] * 3 + [25] * 3, [True] * 3 + [False] * 3)["p_value"] < 1e-20

    document = stats.cohort_document(cohort(rows), computed_at="2024-06-01T00:00:00+00:00")

    test = document["strata"]["pathological"]["improvement_test"]
    assert document["strata"]["pathological"]["improvement_p_value"] is None
    assert (test["statistic"], test["df"], test["p_value"], test["n_psfs"], test["n_sacroplasty"]) == (
        None,
        None,
        None,
        3,
        3,
    )
    assert test["note"] == (
        "Welch's t-test (unequal variances, two-sided) of the improvement percentages, PSFS against sacroplasty; "
        "not computable: the improvement does not vary within either treatment"
    )
