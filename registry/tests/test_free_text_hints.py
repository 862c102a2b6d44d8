"""Free text in the web forms: every free-text field says "No names or identifiers.", and a text
that a spreadsheet would read as a formula is flagged under its field (a warning, not an error)."""

import datetime
import re

import pytest

from core.free_text import NO_IDENTIFIERS_HELP
from outcomes.models import Complication, SecondaryProcedure
from registry.models import Patient
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

HINT = "No names or identifiers."


@pytest.fixture
def records(site_a):
    patient = PatientFactory(site=site_a, mrn="MRN-A-1", birth_date=datetime.date(1950, 1, 15))
    procedure = ProcedureFactory(patient=patient, date=datetime.date(2024, 1, 10))
    secondary = SecondaryProcedure.objects.create(
        procedure=procedure, date=datetime.date(2024, 2, 1), kind="si_joint_injection"
    )
    complication = Complication.objects.create(procedure=procedure, date=datetime.date(2024, 2, 1), kind="infection")
    EncounterFactory(procedure=procedure, kind="baseline", date=datetime.date(2024, 1, 9))
    return patient, procedure, secondary, complication


def _hinted(html: str, field_id: str) -> bool:
    """The field's help paragraph holds the hint, and the input names that paragraph in aria-describedby."""
    help_match = re.search(rf'<p class="help" id="{field_id}_helptext">([^<]*)</p>', html)
    described = re.search(
        rf'<(input|textarea)[^>]*aria-describedby="[^"]*{field_id}_helptext[^"]*"[^>]*id="{field_id}"', html
    )
    described = described or re.search(
        rf'<(input|textarea)[^>]*id="{field_id}"[^>]*aria-describedby="[^"]*{field_id}_helptext', html
    )
    return bool(help_match and HINT in help_match.group(1) and described)


def test_the_hint_is_one_sentence_shared_by_every_form():
    assert NO_IDENTIFIERS_HELP == HINT


@pytest.mark.parametrize(
    "url, fields",
    [
        ("/patients/new/", ["id_primary_cancer_detail"]),
        ("/patients/{patient}/edit/", ["id_primary_cancer_detail", "id_change_reason"]),
        ("/procedures/{procedure}/edit/", ["id_change_reason"]),
        ("/procedures/{procedure}/secondary-procedure/new/", ["id_reason"]),
        ("/secondary-procedures/{secondary}/edit/", ["id_reason", "id_change_reason"]),
        ("/procedures/{procedure}/complication/new/", ["id_description"]),
        ("/complications/{complication}/edit/", ["id_description", "id_change_reason"]),
        ("/encounters/{encounter}/edit/", ["id_change_reason"]),
    ],
)
def test_each_free_text_field_of_each_form_carries_the_hint(client, personas, records, url, fields):
    patient, procedure, secondary, complication = records
    client.force_login(personas["alice"])

    response = client.get(
        url.format(
            patient=patient.pk,
            procedure=procedure.pk,
            secondary=secondary.pk,
            complication=complication.pk,
            encounter=procedure.encounters.get().pk,
        )
    )

    assert response.status_code == 200
    html = response.content.decode()
    for field_id in fields:
        assert _hinted(html, field_id), field_id
    # the existing help texts are kept beside the hint
    if "id_primary_cancer_detail" in fields:
        assert "Required when the primary cancer is &#x27;other&#x27;. No names or identifiers." in html
    if "id_change_reason" in fields:
        assert "Why the record changes (kept in the audit trail). No names or identifiers." in html


def test_the_mrn_is_no_free_text_and_gets_no_hint(client, personas):
    client.force_login(personas["alice"])

    html = client.get("/patients/new/").content.decode()

    assert not _hinted(html, "id_mrn")


def _warning(html: str, field_id: str):
    return re.search(rf'<p class="[^"]*formula-warning[^"]*" id="{field_id}_formula"[^>]*>([^<]*)</p>', html)


def test_the_edit_page_of_a_record_with_a_formula_like_text_warns_under_that_field_only(client, personas, site_a):
    patient = PatientFactory(site=site_a, mrn="=1+2", primary_cancer="other", primary_cancer_detail="plain text")
    client.force_login(personas["alice"])

    html = client.get(f"/patients/{patient.pk}/edit/").content.decode()

    warning = _warning(html, "id_mrn")
    assert warning and "spreadsheet" in warning.group(1)
    assert re.search(r'<input[^>]*aria-describedby="id_mrn_formula"[^>]*id="id_mrn"', html)
    # the page's script is handed the same rule and words, for a live warning as the user types
    assert re.search(r'<input[^>]*data-formula-warning="This text starts with[^"]*"[^>]*id="id_mrn"', html)
    assert '<script src="/static/js/forms.js" defer></script>' in html
    assert not _warning(html, "id_primary_cancer_detail")
    assert not _warning(html, "id_change_reason")


def test_a_form_sent_back_with_errors_warns_about_a_formula_like_free_text(client, personas, records):
    _, procedure, _, _ = records
    client.force_login(personas["alice"])

    response = client.post(
        f"/procedures/{procedure.pk}/complication/new/",
        {"date": "", "kind": "infection", "description": '=HYPERLINK("http://evil.example/","x")'},
    )

    assert response.status_code == 200  # the missing date sends the form back
    html = response.content.decode()
    assert _warning(html, "id_description")
    assert re.search(r'<textarea[^>]*aria-describedby="id_description_helptext id_description_formula', html)


def test_the_warning_does_not_block_saving(client, personas, site_a):
    client.force_login(personas["alice"])

    response = client.post(
        "/patients/new/",
        {
            "site": site_a.pk,
            "mrn": "A-2",
            "birth_date": "1958-04-02",
            "sex": "male",
            "primary_cancer": "other",
            "primary_cancer_detail": "-adenocarcinoma of unknown origin",
            "death_date": "",
        },
    )

    assert response.status_code == 302
    assert Patient.objects.get(mrn="A-2").primary_cancer_detail == "-adenocarcinoma of unknown origin"


def test_a_negative_number_or_ordinary_text_is_not_flagged(client, personas, records):
    _, procedure, _, _ = records
    client.force_login(personas["alice"])

    response = client.post(
        f"/procedures/{procedure.pk}/secondary-procedure/new/",
        {"date": "", "kind": "si_joint_injection", "reason": "pain at L5, score a=b"},
    )

    assert response.status_code == 200
    assert not _warning(response.content.decode(), "id_reason")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_page_warns_as_the_user_types_a_formula_like_text(page, live_server, personas):
    from registry.tests.test_browser import expect, log_in

    log_in(page, live_server)
    page.goto(f"{live_server.url}/patients/new/")
    detail = page.locator("#id_primary_cancer_detail")
    warning = page.locator("#id_primary_cancer_detail_formula")
    expect(warning).to_have_count(0)

    detail.fill('=HYPERLINK("http://evil.example/","x")')
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("spreadsheet")
    expect(detail).to_have_attribute(
        "aria-describedby", "id_primary_cancer_detail_helptext id_primary_cancer_detail_formula"
    )

    detail.fill("-1.5")  # a plain number is not a formula
    expect(warning).to_be_hidden()
    expect(detail).to_have_attribute("aria-describedby", "id_primary_cancer_detail_helptext")

    page.locator("#id_mrn").fill("@SUM(A1)")
    expect(page.locator("#id_mrn_formula")).to_be_visible()
