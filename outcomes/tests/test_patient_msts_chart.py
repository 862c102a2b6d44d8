"""The patient page's MSTS chart: each scored visit's total by days since the index procedure."""

import datetime
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db
NS = {"s": "http://www.w3.org/2000/svg"}


@pytest.fixture
def patient(site_a):
    patient = PatientFactory(site=site_a)
    index = ProcedureFactory(patient=patient, date=datetime.date(2023, 3, 1), treatment="psfs")
    second = ProcedureFactory(patient=patient, date=datetime.date(2023, 9, 1), treatment="sacroplasty")
    EncounterFactory(procedure=index, kind="baseline", date=datetime.date(2023, 2, 27), msts_pain=0)  # total 15
    EncounterFactory(procedure=index, kind="followup", date=datetime.date(2023, 4, 1), msts_pain=5)  # day 31: 20
    EncounterFactory(procedure=index, kind="followup", date=datetime.date(2023, 6, 1), msts_gait=None)  # not scored
    EncounterFactory(procedure=second, kind="followup", date=datetime.date(2023, 10, 1), msts_walking=1)  # day 214: 16
    return patient


def _chart(client, user, patient):
    client.force_login(user)
    response = client.get(reverse("patient_detail", args=[patient.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    if "<h2>MSTS over time</h2>" not in page:
        return None
    return ET.fromstring(page[page.index("<svg ") : page.index("</svg>") + 6])


def _points(chart):
    return [
        (c.find("s:title", NS).text.split(":")[0], int(c.get("data-x")), int(c.get("data-y")))
        for c in chart.findall("s:circle[@class='point']", NS)
    ]


@pytest.mark.parametrize("persona", ["alice", "root", "ivy"])
def test_the_patient_page_draws_each_scored_total_by_days_since_the_index_procedure(client, personas, patient, persona):
    chart = _chart(client, personas[persona], patient)

    assert _points(chart) == [
        ("PSFS (index)", -2, 15),
        ("PSFS (index)", 31, 20),
        ("Sacroplasty (day +184)", 214, 16),
    ]
    assert "2023" not in ET.tostring(chart, encoding="unicode")  # days, never a date


def test_a_patient_without_a_scored_total_has_no_chart(client, personas, site_a):
    patient = PatientFactory(site=site_a)
    EncounterFactory(procedure=ProcedureFactory(patient=patient), kind="followup", msts_pain=None)

    assert _chart(client, personas["alice"], patient) is None
