"""Helpers shared by the API tests (no tests here)."""

from rest_framework.test import APIClient


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def patient_body(site_code: str, **overrides) -> dict:
    body = {
        "site": site_code,
        "mrn": "MRN-1",
        "birth_date": "1955-01-02",
        "sex": "male",
        "primary_cancer": "renal",
    }
    return {**body, **overrides}


def procedure_body(patient_id: int, **overrides) -> dict:
    body = {
        "patient": patient_id,
        "date": "2023-05-01",
        "treatment": "psfs",
        "fracture_status": "pathological",
        "service": "orthopaedics",
        "screws": [
            {"corridor": "S1", "trajectory": "iliosacral", "side": "right", "diameter_mm": "6.5"},
        ],
    }
    return {**body, **overrides}
