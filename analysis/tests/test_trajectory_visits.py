"""The trajectory's visit means (each treatment's mean MSTS total by follow-up window) in the stats
document of the demo cohort, held to a computation of their own through the ORM, and their chart."""

import statistics
import xml.etree.ElementTree as ET

import pytest

from analysis.cohort_extras import VISIT_MONTHS
from analysis.selectors import snapshot_latest
from analysis.services import stats_refresh
from demo.loader import demo_cohort_load
from outcomes.schedule import SCHEDULE
from registry.models import Patient

NS = {"s": "http://www.w3.org/2000/svg"}


def test_every_window_of_the_schedule_has_a_nominal_month():
    assert {visit.key for visit in SCHEDULE} == set(VISIT_MONTHS)
    assert [VISIT_MONTHS[visit.key] for visit in SCHEDULE] == [0.5, 1, 3]


def _expected_visit_means(stratum: str) -> dict:
    """Each treatment's means by visit, read through the ORM: the patients with a baseline total and at
    least one complete follow-up total of their index procedure; every follow-up counted in its window."""
    baselines = {"psfs": [], "sacroplasty": []}
    windows = {"psfs": {}, "sacroplasty": {}}
    for patient in Patient.objects.all():
        procedure = patient.procedures.order_by("date", "id").first()
        if procedure.fracture_status != stratum:
            continue
        baseline = procedure.encounters.filter(kind="baseline").order_by("date", "id").first()
        followups = procedure.encounters.filter(kind="followup", msts_total__isnull=False)
        if baseline is None or baseline.msts_total is None or not followups.exists():
            continue
        baselines[procedure.treatment].append(baseline.msts_total)
        for followup in followups:
            day = (followup.date - procedure.date).days
            for visit in SCHEDULE:
                if visit.first_day <= day <= visit.last_day:
                    windows[procedure.treatment].setdefault(VISIT_MONTHS[visit.key], []).append(followup.msts_total)
    return {
        treatment: [[0, statistics.mean(baselines[treatment]), len(baselines[treatment])]]
        + [[month, statistics.mean(totals), len(totals)] for month, totals in sorted(windows[treatment].items())]
        for treatment in baselines
    }


@pytest.mark.django_db
def test_the_demo_cohorts_visit_means_match_the_database_and_are_drawn(client, personas):
    assert demo_cohort_load() == 30
    stats_refresh()
    document = snapshot_latest(site_id=None).document

    visits = document["trajectory"]["pathological"]["visits"]
    expected = _expected_visit_means("pathological")
    assert [row[0] for row in visits["psfs"]] == [0, 0.5, 1, 3]
    assert [row[2] for row in visits["psfs"]][0] + [row[2] for row in visits["sacroplasty"]][0] == 21
    for treatment in ("psfs", "sacroplasty"):
        assert [[month, n] for month, _, n in visits[treatment]] == [[month, n] for month, _, n in expected[treatment]]
        assert [mean for _, mean, _ in visits[treatment]] == pytest.approx(
            [mean for _, mean, _ in expected[treatment]], abs=1e-9
        )

    client.force_login(personas["ivy"])
    page = client.get("/dashboard/").content.decode()
    start = page.index("<title>Pathological fractures: mean MSTS total by visit</title>")
    svg = page[page.rindex("<svg", 0, start) : page.index("</svg>", start) + len("</svg>")]
    root = ET.fromstring(svg)
    assert len(root.findall(".//s:polyline", NS)) == 2  # one line per treatment
    drawn = [(c.get("data-x"), c.get("data-y")) for c in root.findall(".//s:circle[@class='point']", NS)]
    assert drawn == [(f"{month:g}", f"{mean:g}") for t in ("psfs", "sacroplasty") for month, mean, _ in visits[t]]
