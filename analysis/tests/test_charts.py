"""The dashboard's SVG charts, read back as XML: no database."""

import re
import xml.etree.ElementTree as ET

import numpy as np
from pytest import approx

from analysis import charts
from analysis.curves import incidence_curve, survival_curve
from analysis.dashboard import SHORT_DOMAIN_LABELS, dashboard_view_model
from analysis.tables import human_note

NS = {"s": "http://www.w3.org/2000/svg"}


def _xml(svg) -> ET.Element:
    return ET.fromstring(str(svg))


def _survival():
    psfs = survival_curve(np.array([30, 60, 60, 120, 200, 400]), np.array([1, 1, 0, 1, 0, 0]))
    sacroplasty = survival_curve(np.array([10, 100, 150]), np.array([0, 1, 1]))
    return {"psfs": psfs, "sacroplasty": sacroplasty}


def test_the_survival_chart_has_its_band_its_curves_and_the_numbers_at_risk_under_the_axis():
    survival = _survival()

    root = _xml(charts.survival_chart(survival, title="Overall survival"))

    bands = root.findall("s:path[@class='ci-band']", NS)
    assert len(bands) == 2  # one a treatment with an interval (sacroplasty falls to 0.5, then 0)
    assert bands[0].get("d").startswith("M") and bands[0].get("d").endswith("Z")
    assert [p.get("data-treatment") for p in root.findall("s:path[@class='curve']", NS)] == ["psfs", "sacroplasty"]
    at_risk = {
        (t.get("data-treatment"), t.get("data-day")): int(t.text) for t in root.findall("s:text[@class='at-risk']", NS)
    }
    # PSFS: 6 followed from day 0; still followed at 90 (120, 200, 400), 180 (200, 400), 365 (400).
    assert {day: at_risk["psfs", day] for day in ("0", "90", "180", "365")} == {"0": 6, "90": 3, "180": 2, "365": 1}
    assert {day: at_risk["sacroplasty", day] for day in ("0", "90", "180", "365")} == survival["sacroplasty"]["at_risk"]
    assert at_risk["psfs", "0"] == survival["psfs"]["at_risk"]["0"]
    assert "Number at risk" in str(charts.survival_chart(survival, title="x"))


def test_the_band_follows_the_interval_of_each_step():
    survival = {"psfs": survival_curve(np.array([100, 200, 300, 400]), np.array([1, 0, 0, 0]))}
    frame_y = _xml(charts.survival_chart(survival, title="x"))
    band = frame_y.find("s:path[@class='ci-band']", NS).get("d")
    low, high = survival["psfs"]["curve"][0][2:4]
    points = [tuple(map(float, p.split(","))) for p in re.findall(r"[\d.]+,[\d.]+", band)]
    ys = sorted({y for _, y in points})
    # Two heights: the interval's top and bottom, in the ratio of their distance from 0.
    assert len(ys) == 2
    bottom = max(float(t.get("y1")) for t in frame_y.findall("s:line", NS) if t.get("stroke") == "#ddd")
    assert (bottom - ys[0]) / (bottom - ys[1]) == approx(high / low, rel=0.01)


def test_the_incidence_chart_rises_from_zero_with_numbers_at_risk():
    incidence = {"sacroplasty": incidence_curve(np.array([10, 20, 30, 40]), np.array([1, 2, 1, 0]))}

    svg = charts.incidence_chart(incidence, title="Secondary procedure")

    root = _xml(svg)
    assert root.find("s:path[@class='ci-band']", NS) is None
    assert [t.text for t in root.findall("s:text[@class='at-risk']", NS)] == ["4", "0", "0", "0"]
    ticks = [t.text for t in root.findall("s:text", NS) if t.text and t.text.endswith("%")]
    assert ticks == ["0%", "10%", "20%", "30%", "40%", "50%"]  # the highest value is 0.5


def test_a_curve_chart_without_patients_says_so():
    svg = charts.survival_chart({"psfs": {"curve": [], "at_risk": {"0": 0}}}, title="x")

    assert "Not enough data: no patient followed yet." in svg


def _month_x(svg) -> dict[str, float]:
    return {c.get("data-month"): float(c.get("cx")) for c in _xml(svg).findall("s:circle[@class='month']", NS)}


def test_the_enrolment_axis_spaces_months_by_date():
    months = [
        {"month": "2020-01", "psfs": 1, "sacroplasty": 0},
        {"month": "2020-02", "psfs": 0, "sacroplasty": 1},
        {"month": "2023-01", "psfs": 1, "sacroplasty": 0},
    ]

    x = _month_x(charts.enrolment_chart(months, ["psfs", "sacroplasty"], title="Enrolment"))

    assert x["2020-02"] - x["2020-01"] == approx((x["2023-01"] - x["2020-01"]) / 36, abs=0.15)


def test_the_enrolment_axis_labels_fit_the_drawing():
    months = [{"month": f"2024-{m:02d}", "psfs": 1} for m in range(1, 13)]

    root = _xml(charts.enrolment_chart(months, ["psfs"], title="Enrolment"))

    labels = [t for t in root.findall("s:text", NS) if t.text and re.fullmatch(r"\d{4}-\d\d", t.text)]
    assert [t.text for t in labels] == ["2024-01", "2024-03", "2024-05", "2024-07", "2024-09", "2024-11"]
    width = float(root.get("viewBox").split()[2])
    for label in labels:  # 7 characters of 11 px text are about 40 px wide
        x, half = float(label.get("x")), 20
        right = x if label.get("text-anchor") == "end" else x + half
        assert right <= width


def test_the_domain_profile_has_a_legend_for_its_shading():
    groups = {"psfs": {"msts_pre": {"pain": 1.0}, "msts_post": {"pain": 4.0}}}

    root = _xml(charts.domain_profile(groups, SHORT_DOMAIN_LABELS, title="Domains"))

    swatches = root.findall("s:rect[@class='legend-shading']", NS)
    assert [s.get("fill-opacity") for s in swatches] == ["0.35", "1"]
    texts = [t.text for t in root.findall("s:text", NS)]
    assert "Pre-operative" in texts and "Final follow-up" in texts


def test_the_trajectory_chart_draws_each_groups_means_by_visit():
    root = _xml(charts.trajectory_chart({"psfs": [[1, 18.0, 9], [3, 21.5, 8]], "sacroplasty": []}, title="x"))

    assert [(c.get("data-x"), c.get("data-y")) for c in root.findall("s:circle[@class='point']", NS)] == [
        ("1", "18"),
        ("3", "21.5"),
    ]


def test_notes_read_as_text_not_field_names():
    assert (
        human_note("age_mean: not enough data: no patient in this group") == "Not enough data: no patient in this group"
    )
    assert human_note("not enough data: needs patients of both treatments (psfs 0, sacroplasty 1)") == (
        "Not enough data: needs patients of both treatments (PSFS: no patients, Sacroplasty: 1 patient)"
    )
    assert human_note("ci_at_days 90: no interval; ci_at_days 180: no interval") == "No interval"


def test_an_empty_scope_shows_human_text_and_keys_not_computed_yet():
    empty_group = {"n": 0, "msts_pre": {}, "msts_post": {}}
    note = "not enough data: needs patients of both treatments (psfs 0, sacroplasty 0)"
    document = {
        "n_patients": 0,
        "strata": {
            s: {
                "n": 0,
                "groups": {"psfs": empty_group, "sacroplasty": empty_group},
                "ancova": {"total": {"difference": None, "note": note}, "pain": {"difference": None, "note": note}},
            }
            for s in ("pathological", "impending")
        },
        "demographics": {t: {"n": 0, "note": "age_mean: not enough data: no patient"} for t in ("psfs", "sacroplasty")},
    }

    model = dashboard_view_model(document)

    pathological = model["strata"][0]["msts"]
    assert pathological.notes == [
        "All: Not enough data: needs patients of both treatments (PSFS: no patients, Sacroplasty: no patients)"
    ]
    assert model["demographics"].notes == ["All: Not enough data: no patient"]
    followup = model["followup"]
    assert (followup["survival"], followup["incidence"], followup["trajectory"], followup["responders"]) == (None,) * 4
    assert followup["survival_chart"] is None
