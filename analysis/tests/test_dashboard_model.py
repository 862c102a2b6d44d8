"""The dashboard's tables and pictures from a stats document: no database."""

from analysis import charts
from analysis.dashboard import dashboard_tables, dashboard_view_model, fmt_p, headline

GROUP = {
    "n": 2,
    "msts_pre": {
        "total": 7.25,
        "pain": 0.5,
        "function": 1,
        "emotional_acceptance": 1,
        "supports": 1,
        "walking": 2,
        "gait": 2,
    },
    "msts_post": {
        "total": 22.6,
        "pain": 4,
        "function": 3,
        "emotional_acceptance": 4,
        "supports": 3,
        "walking": 4,
        "gait": 4,
    },
    "msts_n": {"total": 2},
    "msts_total_pairs": [[6, 20], [8.5, 25.2]],
    "msts_total_sd": {"pre": 1.0, "post": 2.0},
    "improvement_pct": {"mean": 51.0, "sd": 19.0, "n": 2},
    "narcotic_change": {"decreased": 1, "stable": 1, "increased": 0, "not_recorded": 0},
    "secondary_procedures": {"patients": 1, "rate": 0.5},
    "time_to_secondary_days": {"mean": 90.0, "median": 90.0, "min": 90.0, "max": 90.0, "n": 1},
    "kaplan_meier": {"curve": [{"t": 0.0, "survival": 1.0, "at_risk": 2}, {"t": 90.0, "survival": 0.5, "at_risk": 2}]},
    "followup_days": {"mean": 120.0, "median": 120.0, "min": 30.0, "max": 210.0, "n": 2},
    "complications": {"screw_backout": 1, "infection": 0},
}
EMPTY_GROUP = {
    "n": 0,
    "msts_pre": {},
    "msts_post": {},
    "improvement_pct": {"mean": None, "sd": None, "n": 0, "note": "not enough data: no patient with both scores"},
    "secondary_procedures": {"patients": 0, "rate": None},
}
DOCUMENT = {
    "computed_at": "2026-11-24T08:00:00+00:00",
    "n_patients": 3,
    "n_patients_analysed": 2,
    "strata": {
        "pathological": {
            "n": 2,
            "groups": {"psfs": GROUP, "sacroplasty": EMPTY_GROUP},
            "ancova": {
                "total": {"difference": 6.123, "ci_low": 2.05, "ci_high": 10.2, "p_value": 0.0049, "n": 21},
                "pain": {
                    "difference": None,
                    "ci_low": None,
                    "ci_high": None,
                    "p_value": None,
                    "n": 2,
                    "note": "not enough data: a group is empty",
                },
            },
        },
        "impending": {"n": 0, "groups": {"psfs": EMPTY_GROUP, "sacroplasty": EMPTY_GROUP}, "ancova": {}},
    },
    "demographics": {
        "psfs": {
            "n": 2,
            "age_mean": 63.04,
            "sex": {"male": 1, "female": 1},
            "primary_cancer": {"multiple_myeloma": 1, "liver": 0, "renal": 0, "other": 1},
            "prior_local_radiation": 1,
            "ablation": {"any": 1, "rfa": 1, "cryo": 0, "microwave": 0},
        },
        "sacroplasty": {"n": 0, "age_mean": None, "note": "age_mean: not enough data: no patient in this group"},
    },
    "enrolment": [{"month": "2023-01", "psfs": 1, "sacroplasty": 0}, {"month": "2023-03", "psfs": 1, "sacroplasty": 0}],
}


def test_the_msts_table_shows_means_and_the_ancova():
    table = dashboard_tables(DOCUMENT)["msts-pathological"]

    assert table.header[:5] == ["Measure", "PSFS pre", "PSFS post", "Sacroplasty pre", "Sacroplasty post"]
    assert table.rows[0] == ["Total (0-30)", "7.3", "22.6", "—", "—", "6.1", "2.1 to 10.2", "0.005", "21"]
    assert table.rows[1][0] == "Pain"
    assert table.rows[1][5:] == ["—", "—", "—", "2"]
    assert table.notes == ["Pain: Not enough data: a group is empty"]
    # The download: the same numbers, unrounded, each in its own column; a missing one is None.
    assert table.csv_header == [
        "measure",
        "psfs_pre_mean",
        "psfs_post_mean",
        "sacroplasty_pre_mean",
        "sacroplasty_post_mean",
        "difference",
        "ci_low",
        "ci_high",
        "p_value",
        "n",
    ]
    assert table.csv_rows[0] == ["Total (0-30)", 7.25, 22.6, None, None, 6.123, 2.05, 10.2, 0.0049, 21]


def test_demographics_and_outcomes_tables():
    tables = dashboard_tables(DOCUMENT)

    assert tables["demographics"].rows[:3] == [
        ["Patients (n)", "2", "0"],
        ["Mean age at index procedure, years", "63.0", "—"],
        ["Male / female", "1 / 1", "— / —"],
    ]
    assert tables["demographics"].rows[-1] == ["Ablation: any (RFA / cryo / MWA)", "1 (1 / 0 / 0)", "— (— / — / —)"]
    assert tables["demographics"].notes == ["Sacroplasty: Not enough data: no patient in this group"]
    assert tables["demographics"].csv_rows[0] == ["PSFS", 2, 63.04, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0]
    assert tables["demographics"].csv_rows[1] == ["Sacroplasty", 0, None, *[None] * 11]
    outcomes = {row[0]: row[1:] for row in tables["outcomes-pathological"].rows}
    assert outcomes["Improvement, % (mean ± SD)"] == ["51.0 ± 19.0", "— ± —"]
    assert outcomes["Narcotics decreased"] == ["1", "—"]
    assert outcomes["Secondary procedure: patients (rate)"] == ["1 (50%)", "0 (—%)"]
    assert outcomes["Follow-up, days: mean / median (range)"] == ["120 / 120 (30-210)", "—"]
    assert tables["complications"].rows == [["infection", "0", "0"], ["screw backout", "1", "0"]]
    outcomes_csv = dict(zip(tables["outcomes-pathological"].csv_header, tables["outcomes-pathological"].csv_rows[0]))
    assert (outcomes_csv["improvement_pct_mean"], outcomes_csv["improvement_pct_sd"]) == (51.0, 19.0)
    assert (outcomes_csv["followup_days_min"], outcomes_csv["secondary_procedure_rate"]) == (30.0, 0.5)


def test_headline_counts():
    assert dict(headline(DOCUMENT)) == {
        "Patients": "3",
        "Analysed (index procedure)": "2",
        "PSFS": "2",
        "Sacroplasty": "0",
        "Pathological fractures": "2",
        "Impending fractures": "0",
        "With a secondary procedure": "1",
        "Complications": "1",
    }


def test_p_values_are_formatted():
    assert (fmt_p(None), fmt_p(0.0004), fmt_p(0.72)) == ("—", "<0.001", "0.720")


def test_the_pictures_are_svg_without_script():
    model = dashboard_view_model(DOCUMENT)
    pathological = model["strata"][0]["charts"]

    for svg in (*pathological.values(), model["enrolment_chart"]):
        assert svg.startswith("<svg ")
        assert "<script" not in svg
    groups = [chunk.split("</g>")[0] for chunk in pathological["slope"].split('<g class="pairs"')[1:]]
    assert sum(group.count("<line ") for group in groups) == 2  # one thin line per patient
    assert all(group.startswith(' stroke="#') and 'stroke-opacity="0.25"' in group for group in groups)
    assert "<path d=" in pathological["km"]
    impending = model["strata"][1]["charts"]
    assert "Not enough data: no patient with baseline and follow-up totals." in impending["slope"]
    assert "Not enough data: no follow-up yet." in impending["km"]


def test_chart_text_is_escaped():
    svg = charts.enrolment_chart([{"month": "<b>", "psfs": 1}], ["psfs"], title="A & B")

    assert "<title>A &amp; B</title>" in svg
    assert "<b>" not in svg  # not a month: left out
    assert "&lt;b&gt;" in charts.trajectory_chart({"psfs": [[1, 20.0, 3]]}, title="<b>")


def test_mean_ci():
    low, high = charts.mean_ci(10.0, 2.0, 4)

    assert (round(low, 3), round(high, 3)) == (6.818, 13.182)  # t(0.975, 3) = 3.182
    assert charts.mean_ci(10.0, None, 4) is None
    assert charts.mean_ci(10.0, 2.0, 1) is None
