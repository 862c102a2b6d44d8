"""The dashboard leaves the demo patients out once real patients are there too (issue: data entry
staff can trust, item 15): the refresh computes the whole registry a second time without them,
the dashboard shows that document by default and offers a toggle; ?demo=include puts them back."""

import pytest

from analysis import services
from analysis.models import Snapshot
from analysis.selectors import snapshot_latest
from registry import services as registry_services
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory, SiteFactory

pytestmark = pytest.mark.django_db

LEFT_OUT = "Demo patients are <strong>left out</strong>"
INCLUDED = "Demo patients are <strong>included</strong>"


def _patients(site, count, *, demo):
    patients = []
    for _ in range(count):
        patient = PatientFactory(site=site, is_demo=demo)
        procedure = ProcedureFactory(patient=patient)
        EncounterFactory(procedure=procedure, kind="baseline")
        EncounterFactory(procedure=procedure, kind="followup")
        patients.append(patient)
    return patients


@pytest.fixture
def demo_site():
    return SiteFactory(code="DEMO")


def test_a_registry_of_demo_patients_alone_has_one_document_and_no_toggle(client, personas, demo_site):
    _patients(demo_site, 3, demo=True)

    services.stats_refresh()
    client.force_login(personas["ivy"])
    page = client.get("/dashboard/")

    assert list(Snapshot.objects.filter(site=None).values_list("real_only", flat=True)) == [False]
    assert page.status_code == 200
    assert LEFT_OUT not in page.content.decode() and INCLUDED not in page.content.decode()


def test_with_real_patients_the_dashboard_leaves_the_demo_ones_out_by_default(client, personas, demo_site, site_a):
    _patients(demo_site, 3, demo=True)
    _patients(site_a, 2, demo=False)

    services.stats_refresh()
    client.force_login(personas["ivy"])
    default = client.get("/dashboard/")
    included = client.get("/dashboard/?demo=include")
    status_default = client.get("/dashboard/status").json()
    status_included = client.get("/dashboard/status?demo=include").json()

    real_only = Snapshot.objects.get(site=None, real_only=True)
    every = Snapshot.objects.get(site=None, real_only=False)
    assert (real_only.source_counts["patients"], every.source_counts["patients"]) == (2, 5)
    assert default.context["snapshot"].pk == real_only.pk
    assert LEFT_OUT in default.content.decode()
    assert 'href="/dashboard/?demo=include"' in default.content.decode()
    assert included.context["snapshot"].pk == every.pk
    assert INCLUDED in included.content.decode()
    assert status_default["version"].startswith(f"{real_only.pk}:")
    assert status_included["version"].startswith(f"{every.pk}:")
    # A site's figures are its own: no toggle there.
    site_page = client.get(f"/dashboard/?site={site_a.code}")
    assert LEFT_OUT not in site_page.content.decode()
    assert site_page.context["snapshot"].source_counts["patients"] == 2
    # The stats API keeps its contract: the whole registry, every patient.
    assert snapshot_latest(site_id=None).pk == every.pk


def test_the_document_without_demo_patients_goes_when_they_no_longer_sit_beside_real_ones(demo_site, site_a):
    demo = _patients(demo_site, 2, demo=True)
    _patients(site_a, 2, demo=False)
    services.stats_refresh()
    assert Snapshot.objects.filter(real_only=True).count() == 1

    for patient in demo:
        registry_services.patient_delete(user=None, patient=patient, reason="Demo patients removed before go-live")
    services.stats_refresh()

    assert not Snapshot.objects.filter(real_only=True).exists()
    assert snapshot_latest(site_id=None, include_demo=False).source_counts["patients"] == 2
