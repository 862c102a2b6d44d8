"""The FHIR R4 endpoints: valid resources (checked with fhir.resources' R4B models), references that
resolve inside each Bundle, the exact values of a hand-built patient, rights, the PHI access log and
the number of queries."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.questionnaire import Questionnaire

from demo.loader import demo_cohort_load
from interop import fhir
from outcomes import msts
from outcomes import services as outcome_services
from outcomes.models import ComplicationKind
from registry import vocabulary
from registry.models import Patient, PhiAccess
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

BASE = "http://127.0.0.1:8000"
CODES = f"{BASE}/api/fhir/CodeSystem/sacral-registry"


def everything_url(patient) -> str:
    return f"/api/fhir/Patient/{patient.pk}/$everything"


def _references(node) -> list[str]:
    """Every ``reference`` string anywhere inside ``node``."""
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = BASE + "/"


@pytest.fixture
def hand_built(site_a):
    """A PSFS patient of site A: a complete baseline MSTS, an incomplete follow-up, two doses, one complication."""
    patient = PatientFactory(site=site_a, mrn="MRN-FHIR-1", birth_date=datetime.date(1950, 1, 2), sex="male")
    procedure = ProcedureFactory(patient=patient, date=datetime.date(2023, 3, 1), fracture_status="impending")
    baseline = EncounterFactory(
        procedure=procedure,
        kind="baseline",
        date=datetime.date(2023, 2, 27),
        msts_pain=1,
        msts_function=2,
        msts_emotional_acceptance=1,
        msts_supports=0,
        msts_walking=1,
        msts_gait=1,
        opioid_mme_per_day=Decimal("90"),
    )
    followup = EncounterFactory(
        procedure=procedure,
        kind="followup",
        date=datetime.date(2023, 4, 1),
        msts_pain=4,
        msts_function=3,
        msts_emotional_acceptance=3,
        msts_supports=5,
        msts_walking=3,
        msts_gait=None,
        opioid_mme_per_day=Decimal("45.5"),
    )
    complication = outcome_services.complication_create(
        user=None, procedure=procedure, date=datetime.date(2023, 5, 1), kind="infection", resolved=True
    )
    return {"patient": patient, "procedure": procedure, "baseline": baseline, "followup": followup, "c": complication}


def _by_id(bundle: dict) -> dict:
    return {entry["resource"]["id"]: entry for entry in bundle["entry"]}


def test_every_bundle_of_the_demo_cohort_is_valid_fhir_with_references_inside_it(client, personas):
    demo_cohort_load()
    client.force_login(personas["root"])
    seen_types, screws = set(), 0
    patients = list(Patient.objects.filter(is_demo=True))
    assert len(patients) == 30
    for patient in patients:
        response = client.get(everything_url(patient))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/fhir+json"
        data = response.json()
        Bundle.model_validate(data)  # raises on any invalid resource
        assert data["type"] == "collection"
        full_urls = [entry["fullUrl"] for entry in data["entry"]]
        assert len(set(full_urls)) == len(full_urls)
        assert all(url.startswith("urn:uuid:") for url in full_urls)
        assert all(entry["resource"]["id"] for entry in data["entry"])
        references = _references(data)
        assert references and set(references) <= set(full_urls)
        seen_types |= {entry["resource"]["resourceType"] for entry in data["entry"]}
        screws += sum(len(entry["resource"].get("extension", [])) for entry in data["entry"])
    # The cohort reaches every kind of resource, so the validation above checked each of them.
    assert seen_types == {"Patient", "Procedure", "Encounter", "Observation", "AdverseEvent"}
    assert screws > 0


def test_the_code_system_and_the_questionnaire_are_valid_fhir_for_every_role(client, personas):
    client.force_login(personas["ivy"])
    response = client.get("/api/fhir/CodeSystem/sacral-registry")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    code_system = response.json()
    CodeSystem.model_validate(code_system)
    assert code_system["url"] == CODES
    groups = {concept["code"]: concept for concept in code_system["concept"]}
    assert [c["code"] for c in groups["treatment"]["concept"]] == ["psfs", "sacroplasty"]
    assert groups["treatment"]["concept"][0]["display"] == vocabulary.TREATMENT_LABELS["psfs"]
    assert [c["code"] for c in groups["msts-domain"]["concept"]] == list(msts.MSTS_FIELDS)
    assert [c["code"] for c in groups["complication"]["concept"]] == list(ComplicationKind.values)
    assert groups["msts"]["display"] == "MSTS score, total (0-30)"
    assert groups["opioid-mme-per-day"]["display"].startswith("Opioid dose")

    response = client.get("/api/fhir/Questionnaire/msts")
    assert response.status_code == 200
    questionnaire = response.json()
    Questionnaire.model_validate(questionnaire)
    assert [item["linkId"] for item in questionnaire["item"]] == list(msts.MSTS_FIELDS)
    assert {item["type"] for item in questionnaire["item"]} == {"choice"}
    pain = questionnaire["item"][0]
    assert [option["valueCoding"]["code"] for option in pain["answerOption"]] == ["5", "4", "3", "2", "1", "0"]
    assert pain["answerOption"][0]["valueCoding"]["display"] == "5: None"
    assert pain["answerOption"][1]["valueCoding"]["display"] == "4: between Modest, non-disabling and None"
    assert pain["answerOption"][5]["valueCoding"]["display"] == "0: Severe, disabling"
    assert pain["answerOption"][5]["extension"] == [{"url": fhir.ORDINAL_VALUE, "valueDecimal": 0}]


def test_the_hand_built_patient_comes_with_its_exact_values(client, personas, hand_built):
    client.force_login(personas["alice"])
    data = client.get(everything_url(hand_built["patient"])).json()
    Bundle.model_validate(data)
    entries = _by_id(data)
    patient = hand_built["patient"]
    pid, proc_id = patient.pk, hand_built["procedure"].pk
    base_id, follow_id = hand_built["baseline"].pk, hand_built["followup"].pk
    assert list(entries) == [
        f"patient-{pid}",
        f"procedure-{proc_id}",
        f"encounter-{base_id}",
        f"msts-{base_id}",
        f"mme-{base_id}",
        f"encounter-{follow_id}",
        f"msts-{follow_id}",
        f"mme-{follow_id}",
        f"complication-{hand_built['c'].pk}",
    ]
    subject = {"reference": entries[f"patient-{pid}"]["fullUrl"]}
    resource = entries[f"patient-{pid}"]["resource"]
    assert [(i["system"], i["value"]) for i in resource["identifier"]] == [
        (f"{BASE}/fhir/sid/mrn/SITEA", "MRN-FHIR-1"),
        (f"{BASE}/fhir/sid/study-id", patient.study_id),
    ]
    assert (resource["gender"], resource["birthDate"], resource["deceasedBoolean"]) == ("male", "1950-01-02", False)

    procedure = entries[f"procedure-{proc_id}"]["resource"]
    assert procedure["status"] == "completed"
    assert procedure["code"]["coding"] == [
        {"system": CODES, "code": "psfs", "display": "PSFS (screw fixation with sacroplasty)"}
    ]
    assert procedure["reasonCode"][0]["coding"][0]["code"] == "impending"
    assert procedure["bodySite"][0]["coding"] == [
        {"system": "http://snomed.info/sct", "code": "54735007", "display": "Sacrum"}
    ]
    assert procedure["performedDateTime"] == "2023-03-01"
    assert procedure["subject"] == subject
    assert procedure["extension"] == [
        {
            "url": f"{BASE}/fhir/StructureDefinition/screw",
            "extension": [
                {"url": "corridor", "valueCode": "S1"},
                {"url": "trajectory", "valueCode": "transsacral"},
                {"url": "side", "valueCode": "left"},
                {
                    "url": "diameter",
                    "valueQuantity": {"value": 7.3, "unit": "mm", "system": "http://unitsofmeasure.org", "code": "mm"},
                },
                {"url": "fullyThreaded", "valueBoolean": True},
            ],
        }
    ]

    encounter = entries[f"encounter-{base_id}"]
    assert encounter["resource"]["status"] == "finished"
    assert encounter["resource"]["class"]["code"] == "AMB"
    assert encounter["resource"]["period"] == {"start": "2023-02-27"}
    assert encounter["resource"]["subject"] == subject

    baseline = entries[f"msts-{base_id}"]["resource"]
    assert baseline["code"]["coding"][0]["code"] == "msts"
    assert baseline["category"][0]["coding"][0]["code"] == "survey"
    assert baseline["encounter"] == {"reference": encounter["fullUrl"]}
    assert baseline["valueInteger"] == 6
    assert "dataAbsentReason" not in baseline
    assert [(c["code"]["coding"][0]["code"], c["valueInteger"]) for c in baseline["component"]] == list(
        zip(msts.MSTS_FIELDS, [1, 2, 1, 0, 1, 1], strict=True)
    )

    followup = entries[f"msts-{follow_id}"]["resource"]
    assert "valueInteger" not in followup
    assert followup["dataAbsentReason"]["coding"][0]["code"] == "unknown"
    assert [(c["code"]["coding"][0]["code"], c["valueInteger"]) for c in followup["component"]] == list(
        zip(msts.MSTS_FIELDS[:5], [4, 3, 3, 5, 3], strict=True)
    )

    unit = {"unit": "mg/d", "system": "http://unitsofmeasure.org", "code": "mg/d"}
    assert entries[f"mme-{base_id}"]["resource"]["valueQuantity"] == {"value": 90, **unit}
    assert entries[f"mme-{follow_id}"]["resource"]["valueQuantity"] == {"value": 45.5, **unit}
    assert entries[f"mme-{base_id}"]["resource"]["code"]["coding"][0]["code"] == "opioid-mme-per-day"

    event = entries[f"complication-{hand_built['c'].pk}"]["resource"]
    assert event["actuality"] == "actual"
    assert event["event"]["coding"][0] == {"system": CODES, "code": "infection", "display": "Infection"}
    assert event["date"] == "2023-05-01"
    assert event["outcome"]["coding"][0]["code"] == "resolved"
    assert event["suspectEntity"] == [{"instance": {"reference": entries[f"procedure-{proc_id}"]["fullUrl"]}}]


def test_a_deceased_patient_carries_the_date_of_death(client, personas, site_a):
    patient = PatientFactory(site=site_a, death_date=datetime.date(2023, 9, 9))
    client.force_login(personas["root"])
    resource = client.get(everything_url(patient)).json()["entry"][0]["resource"]
    assert resource["deceasedDateTime"] == "2023-09-09"
    assert "deceasedBoolean" not in resource


def test_everything_is_for_clinicians_of_the_site_and_admins(client, personas, hand_built):
    url = everything_url(hand_built["patient"])
    assert client.get(url).status_code == 401
    client.force_login(personas["charlie"])
    response = client.get(url)
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
    client.force_login(personas["ivy"])
    response = client.get(url)
    assert response.status_code == 403
    assert response.json() == {"detail": "This resource holds identified data, which investigators may not read."}
    assert not PhiAccess.objects.exists()
    for name in ("alice", "root"):
        client.force_login(personas[name])
        assert client.get(url).status_code == 200
    for other in (hand_built["patient"].pk + 1000, "abc", "١", "99999999999999999999"):
        response = client.get(f"/api/fhir/Patient/{other}/$everything")
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


def test_the_public_resources_need_a_login(client):
    assert client.get("/api/fhir/CodeSystem/sacral-registry").status_code == 401
    assert client.get("/api/fhir/Questionnaire/msts").status_code == 401


def test_a_read_of_everything_is_in_the_phi_access_log(client, personas, hand_built):
    client.force_login(personas["alice"])
    url = everything_url(hand_built["patient"])
    assert client.get(url).status_code == 200
    row = PhiAccess.objects.get()
    assert (row.username, row.action, row.patient_id, row.study_id, row.what) == (
        "alice",
        PhiAccess.Action.API_READ,
        hand_built["patient"].pk,
        hand_built["patient"].study_id,
        url,
    )


def test_everything_costs_the_same_queries_however_many_records(client, personas, site_a, hand_built):
    small = PatientFactory(site=site_a)
    client.force_login(personas["alice"])
    client.get(everything_url(small))  # the first request of a session reads more (the session, the user)
    counts = []
    for patient in (small, hand_built["patient"]):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(everything_url(patient)).status_code == 200
        counts.append(len(queries))
    more = ProcedureFactory(patient=hand_built["patient"], date=datetime.date(2024, 1, 10), treatment="sacroplasty")
    for day in (20, 40, 60):
        EncounterFactory(procedure=more, date=more.date + datetime.timedelta(days=day))
    with CaptureQueriesContext(connection) as queries:
        data = client.get(everything_url(hand_built["patient"])).json()
    counts.append(len(queries))
    assert len(data["entry"]) == 9 + 1 + 3 * 2  # a procedure, three visits with their MSTS
    assert counts[0] == counts[1] == counts[2]
    assert counts[0] <= 8


def test_the_schema_documents_the_fhir_operations_with_their_media_type(client, personas):
    client.force_login(personas["ivy"])
    paths = client.get("/api/schema/?format=json").json()["paths"]
    fhir_paths = sorted(path for path in paths if path.startswith("/api/fhir/"))
    assert fhir_paths == [
        "/api/fhir/CodeSystem/sacral-registry",
        "/api/fhir/Patient/{id}/$everything",
        "/api/fhir/Questionnaire/msts",
    ]
    everything = paths["/api/fhir/Patient/{id}/$everything"]["get"]
    assert list(everything["responses"]["200"]["content"]) == ["application/fhir+json"]
    assert sorted(everything["responses"]) == ["200", "401", "403", "404"]
    assert "FHIR R4 (4.0.1)" in everything["description"]
    assert everything["parameters"][0]["schema"] == {"type": "integer"}


def test_a_bundle_is_never_cached(client, personas, hand_built):
    client.force_login(personas["alice"])
    response = client.get(everything_url(hand_built["patient"]))
    assert "no-store" in response["Cache-Control"]
