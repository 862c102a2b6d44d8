"""One MRN, however it is typed: case, invisible characters, look-alike hyphens and letters, and
surrounding white space make no second patient, through the service, the API and the web form;
the migration that normalised existing MRNs stops on collisions instead of merging them."""

import datetime
import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from registry import services
from registry.models import Patient
from registry.tests.api_support import client_for, patient_body
from registry.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

DUPLICATE = "A patient with this MRN already exists at this site."
BYPASSES = [
    pytest.param("mrn-448812", id="lower-case"),
    pytest.param("MRN-448812\u200b", id="zero-width-space"),
    pytest.param("MRN\u2011448812", id="non-breaking-hyphen"),
    pytest.param("\uff2d\uff32\uff2e-448812", id="fullwidth-letters"),
    pytest.param("\uff2d\uff32\uff2e\uff0d\uff14\uff14\uff18\uff18\uff11\uff12", id="fullwidth-all"),
    pytest.param(" \u00a0MRN-448812\u00a0 ", id="surrounding-and-nbsp-space"),
    pytest.param("\ufeffMrN-448812\t", id="bom-mixed-case-tab"),
]


@pytest.fixture
def existing(site_a):
    return PatientFactory(site=site_a, mrn="MRN-448812", birth_date=datetime.date(1950, 1, 1), sex="male")


def snapshot():
    return list(Patient.objects.order_by("pk").values())


@pytest.mark.parametrize("typed", BYPASSES)
def test_the_service_refuses_the_same_mrn_typed_differently(existing, site_a, typed):
    before = snapshot()

    with pytest.raises(ValidationError) as refused:
        services.patient_create(
            user=None, site=site_a, mrn=typed, birth_date=datetime.date(1970, 2, 3), sex="female", primary_cancer="lung"
        )

    assert refused.value.message_dict == {"mrn": [DUPLICATE]}
    assert snapshot() == before


@pytest.mark.parametrize("typed", BYPASSES)
def test_the_service_refuses_changing_an_mrn_into_another_patients(existing, site_a, typed):
    other = PatientFactory(site=site_a, mrn="OTHER-1")

    with pytest.raises(ValidationError) as refused:
        services.patient_update(user=None, patient=other, data={"mrn": typed}, reason="Chart number corrected")

    assert refused.value.message_dict == {"mrn": [DUPLICATE]}
    assert Patient.objects.get(pk=other.pk).mrn == "OTHER-1"


@pytest.mark.parametrize("typed", BYPASSES)
def test_the_api_refuses_the_same_mrn_typed_differently(existing, personas, typed):
    before = snapshot()

    response = client_for(personas["alice"]).post("/api/patients/", patient_body("SITEA", mrn=typed), format="json")

    assert response.status_code == 400
    assert response.json() == {"mrn": [DUPLICATE]}
    assert snapshot() == before


@pytest.mark.parametrize("typed", BYPASSES)
def test_the_web_form_refuses_the_same_mrn_typed_differently(client, existing, personas, site_a, typed):
    client.force_login(personas["alice"])
    before = snapshot()
    data = {"site": site_a.pk, "mrn": typed, "birth_date": "1970-02-03", "sex": "female", "primary_cancer": "lung"}
    data["status"] = "active"

    response = client.post(reverse("patient_create"), data)

    assert response.status_code == 200
    assert response.context["form"].errors == {"mrn": [DUPLICATE]}
    assert snapshot() == before


def test_the_same_mrn_at_another_site_is_another_patient(existing, site_b):
    other = PatientFactory(site=site_b, mrn="mrn\u2011448812")

    assert other.mrn == "mrn-448812"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("\uff2d\uff32\uff2e\u2011448812\u200b ", "MRN-448812"),
        ("  mrn\u00a0 448812\u2060", "mrn 448812"),
        ("A\u2013B\u2212C", "A-B-C"),
    ],
)
def test_the_mrn_is_stored_normalised_through_service_and_api(personas, site_a, typed, stored):
    by_service = PatientFactory(site=site_a, mrn=typed)
    Patient.objects.filter(pk=by_service.pk).delete()

    response = client_for(personas["alice"]).post("/api/patients/", patient_body("SITEA", mrn=typed), format="json")

    assert by_service.mrn == stored
    assert response.status_code == 201
    assert response.json()["mrn"] == stored
    assert Patient.objects.get().mrn == stored


def test_an_mrn_of_invisible_characters_only_is_blank(site_a):
    with pytest.raises(ValidationError) as refused:
        PatientFactory(site=site_a, mrn="\u200b\u2060 ")

    assert refused.value.message_dict == {"mrn": ["This field cannot be blank."]}
    assert Patient.objects.count() == 0


# --- The migration that normalised the MRNs already stored ------------------------------------


def _normalise_mrns():
    return importlib.import_module("registry.migrations.0006_patient_status_mrn_signoff_screw_length").normalise_mrns


def _store_raw(patient, mrn):
    """Writes an MRN as an older release could have stored it, past the service."""
    Patient.objects.filter(pk=patient.pk).update(mrn=mrn)


def test_the_migration_stores_every_mrn_normalised_with_an_audited_version(site_a, site_b):
    typed = PatientFactory(site=site_a, mrn="X")
    clean = PatientFactory(site=site_a, mrn="MRN-1")
    elsewhere = PatientFactory(site=site_b, mrn="Y")
    _store_raw(typed, " \uff2d\uff32\uff2e\u2011448812\u200b")
    _store_raw(elsewhere, "mrn-448812\u00a0")

    _normalise_mrns()(apps, None)

    rows = {p.pk: (p.mrn, p.version) for p in Patient.objects.all()}
    assert rows == {typed.pk: ("MRN-448812", 2), clean.pk: ("MRN-1", 1), elsewhere.pk: ("mrn-448812", 2)}
    event = apps.get_model("registry", "PatientEvent").objects.filter(pgh_obj_id=typed.pk).latest("pgh_id")
    assert event.mrn == "MRN-448812"
    assert event.pgh_context.metadata["reason"] == "MRN stored in its normalised form"


def test_the_migration_stops_naming_colliding_patients_by_study_id_and_changes_nothing(site_a, site_b):
    first = PatientFactory(site=site_a, mrn="MRN-448812")
    second = PatientFactory(site=site_a, mrn="X")
    third = PatientFactory(site=site_a, mrn="Y")
    other_site = PatientFactory(site=site_b, mrn="Z")
    _store_raw(second, "MRN-448812\u200b")  # equal to the first once normalised
    _store_raw(third, "\uff2d\uff32\uff2e\u2011448812")  # and so is this one
    _store_raw(other_site, "mrn-448812")  # another site: no collision
    before = snapshot()

    with pytest.raises(RuntimeError) as stopped:
        _normalise_mrns()(apps, None)

    message = str(stopped.value)
    assert f"{first.study_id} and {second.study_id} (site id {site_a.pk})" in message
    assert f"{first.study_id} and {third.study_id} (site id {site_a.pk})" in message
    assert other_site.study_id not in message
    assert "448812" not in message  # MRNs are PHI: the message names study ids only
    assert snapshot() == before
