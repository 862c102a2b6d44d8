"""Patient pages and forms, for each persona: alice and bob (site A), charlie (site B), ivy (investigator)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from core.web import STALE_MESSAGE
from outcomes.models import Encounter
from registry.models import Patient
from registry.permissions import SiteRights
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "mrn": "A-1001",
    "birth_date": "1958-04-02",
    "sex": "male",
    "primary_cancer": "renal",
    "primary_cancer_detail": "",
    "death_date": "",
}


@pytest.fixture
def patient_a(site_a):
    return PatientFactory(site=site_a, mrn="MRN-A-1", birth_date=datetime.date(1930, 1, 15))


@pytest.fixture
def patient_b(site_b):
    return PatientFactory(site=site_b, mrn="MRN-B-1")


def snapshot():
    return list(Patient.objects.order_by("pk").values())


def edit_data(patient, **changes):
    data = {
        "site": patient.site_id,
        "mrn": patient.mrn,
        "birth_date": patient.birth_date.isoformat(),
        "sex": patient.sex,
        "primary_cancer": patient.primary_cancer,
        "primary_cancer_detail": patient.primary_cancer_detail,
        "death_date": "",
        "version": patient.version,
        "change_reason": "typo in the chart",
    }
    return {**data, **changes}


# --- Anonymous --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["patient_list", "patient_create", "worklist", "home"])
def test_it_sends_anonymous_visitors_to_the_login_page(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={reverse(name)}"


def test_an_anonymous_post_changes_nothing(client, personas, patient_a):
    before = snapshot()

    response = client.post(reverse("patient_edit", args=[patient_a.pk]), edit_data(patient_a, sex="male"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert snapshot() == before


# --- List ------------------------------------------------------------------------------------


def test_the_list_shows_a_clinician_only_their_sites(client, personas, patient_a, patient_b):
    client.force_login(personas["alice"])

    response = client.get(reverse("patient_list"))

    assert response.status_code == 200
    assert [p.pk for p in response.context["page"].object_list] == [patient_a.pk]
    assert patient_b.study_id not in response.content.decode()
    assert "MRN-A-1" in response.content.decode()


def test_the_list_shows_charlie_nothing_of_site_a(client, personas, patient_a, patient_b):
    client.force_login(personas["charlie"])

    response = client.get(reverse("patient_list"), {"q": "MRN-A-1"})

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == []
    assert patient_a.study_id not in response.content.decode()


def test_the_list_searches_by_study_id_and_exact_mrn(client, personas, patient_a, site_a):
    other = PatientFactory(site=site_a, mrn="MRN-A-2")
    client.force_login(personas["alice"])

    by_mrn = client.get(reverse("patient_list"), {"q": "MRN-A-2"})
    by_study_id = client.get(reverse("patient_list"), {"q": patient_a.study_id.lower()})

    assert [p.pk for p in by_mrn.context["page"].object_list] == [other.pk]
    assert [p.pk for p in by_study_id.context["page"].object_list] == [patient_a.pk]


def test_the_list_filters_by_index_treatment_fracture_and_site(client, personas, site_a, site_b):
    psfs = ProcedureFactory(patient=PatientFactory(site=site_a), treatment="psfs").patient
    sacro = ProcedureFactory(
        patient=PatientFactory(site=site_a), treatment="sacroplasty", fracture_status="impending"
    ).patient
    at_b = ProcedureFactory(patient=PatientFactory(site=site_b), treatment="psfs").patient
    client.force_login(personas["root"])

    def listed(**params):
        return [p.pk for p in client.get(reverse("patient_list"), params).context["page"].object_list]

    assert listed(treatment="psfs") == [at_b.pk, psfs.pk]  # newest first
    assert listed(treatment="sacroplasty") == [sacro.pk]
    assert listed(fracture_status="impending") == [sacro.pk]
    assert listed(treatment="psfs", site="SITEB") == [at_b.pk]


def test_the_list_takes_a_site_code_in_any_case_and_shows_it_chosen(client, personas, site_a, site_b):
    at_a = PatientFactory(site=site_a)
    at_b = PatientFactory(site=site_b)
    client.force_login(personas["root"])

    chosen = client.get(reverse("patient_list"), {"site": " siteb "})
    every = client.get(reverse("patient_list"), {"site": ""})

    assert [p.pk for p in chosen.context["page"].object_list] == [at_b.pk]
    assert '<option value="SITEB" selected>' in chosen.content.decode()
    assert '<option value="SITEA">' in chosen.content.decode()
    assert [p.pk for p in every.context["page"].object_list] == [at_b.pk, at_a.pk]  # newest first
    assert '<option value="" selected>' not in every.content.decode()


@pytest.mark.parametrize(
    ("name", "value"),
    [("root", "NOPE"), ("alice", "SITEB"), ("alice", "siteb"), ("charlie", "SITEA"), ("alice", "id of site A")],
)
def test_the_list_answers_404_for_an_unknown_or_unseen_site(client, personas, site_a, name, value):
    PatientFactory(site=site_a)
    client.force_login(personas[name])

    response = client.get(reverse("patient_list"), {"site": str(site_a.pk) if value == "id of site A" else value})

    assert response.status_code == 404


def test_an_investigator_cannot_search_by_mrn_and_sees_no_phi(client, personas, patient_a):
    ProcedureFactory(patient=patient_a, date=datetime.date(2023, 3, 1))
    client.force_login(personas["ivy"])

    by_mrn = client.get(reverse("patient_list"), {"q": "MRN-A-1"})
    listing = client.get(reverse("patient_list"))

    assert list(by_mrn.context["page"].object_list) == []
    page = listing.content.decode()
    assert patient_a.study_id in page
    assert "MRN-A-1" not in page
    assert "1930-01-15" not in page
    assert "<td>90+</td>" in page  # 93 at the index procedure
    assert "New patient" not in page


def test_the_list_pages_by_25(client, personas, site_a):
    for _ in range(27):
        PatientFactory(site=site_a)
    client.force_login(personas["alice"])

    first = client.get(reverse("patient_list"))
    second = client.get(reverse("patient_list"), {"page": 2})

    assert len(first.context["page"].object_list) == 25
    assert len(second.context["page"].object_list) == 2
    assert "27 patients, page 1 of 2" in first.content.decode()


@pytest.mark.parametrize("count", [3, 30])
def test_the_list_costs_the_same_queries_for_3_or_30_patients(
    client, personas, site_a, count, django_assert_num_queries
):
    for _ in range(count):
        ProcedureFactory(patient=PatientFactory(site=site_a))
    client.force_login(personas["alice"])

    # session, user, staff profile, member sites and site list (filter), member sites (selector),
    # count, page, and the session renewal (savepoint, update, release)
    with django_assert_num_queries(11):
        response = client.get(reverse("patient_list"))

    assert response.status_code == 200


# --- Patient page ----------------------------------------------------------------------------


def test_the_patient_page_shows_the_timeline(client, personas, patient_a):
    procedure = ProcedureFactory(patient=patient_a, date=datetime.date(2023, 3, 1))
    EncounterFactory(procedure=procedure, kind="baseline", date=datetime.date(2023, 2, 27))
    EncounterFactory(procedure=procedure, kind="followup", date=datetime.date(2023, 3, 15), msts_gait=5)
    EncounterFactory(procedure=procedure, kind="followup", date=datetime.date(2023, 4, 20))
    client.force_login(personas["bob"])

    response = client.get(reverse("patient_detail", args=[patient_a.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "MRN-A-1" in page
    assert "S1" in page and "7.3 mm" in page
    assert "18/30 (60.0%)" in page  # baseline
    assert "20/30 (66.7%)" in page  # 2 weeks
    assert '<span class="tag">1-2 weeks</span>' in page
    assert '<span class="tag warn">outside window</span>' in page  # day 50


@pytest.mark.parametrize("procedures", [1, 3])
def test_the_patient_page_costs_the_same_queries_for_1_or_3_procedures(
    client, personas, patient_a, procedures, django_assert_num_queries
):
    for n in range(procedures):
        procedure = ProcedureFactory(patient=patient_a, date=datetime.date(2023, 3, 1 + n))
        EncounterFactory(procedure=procedure, kind="followup", date=datetime.date(2023, 4, 1 + n))
    client.force_login(personas["alice"])

    # session, user, profile, member sites, patient, procedures with all their children (one
    # query: outcomes.selectors.patient_timeline), member sites (the write right of the patient's
    # site), the PHI access log's row, the retracted entries (one query: quality.selectors_retracted),
    # the open data queries beside the records
    # (one query: quality.selectors), session renewal (3)
    with django_assert_num_queries(13):
        response = client.get(reverse("patient_detail", args=[patient_a.pk]))

    assert response.status_code == 200


@pytest.mark.parametrize("user", ["charlie"])
def test_another_sites_patient_is_not_found(client, personas, patient_a, user):
    client.force_login(personas[user])

    assert client.get(reverse("patient_detail", args=[patient_a.pk])).status_code == 404
    assert client.get(reverse("patient_edit", args=[patient_a.pk])).status_code == 404
    assert client.get(reverse("procedure_create", args=[patient_a.pk])).status_code == 404
    assert client.get(reverse("record_history", args=["patient", patient_a.pk])).status_code == 404


def test_an_investigator_sees_a_deidentified_patient_page_without_forms(client, personas, patient_a):
    ProcedureFactory(patient=patient_a, date=datetime.date(2023, 3, 1))
    client.force_login(personas["ivy"])

    response = client.get(reverse("patient_detail", args=[patient_a.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "MRN-A-1" not in page and "1930-01-15" not in page and "2023-03-01" not in page
    assert "<dd>90+</dd>" in page
    assert "day +0" in page
    assert reverse("patient_edit", args=[patient_a.pk]) not in page
    assert reverse("record_history", args=["patient", patient_a.pk]) not in page


def test_the_patient_page_offers_changes_by_the_write_right_of_its_site_not_by_phi(
    client, personas, patient_a, monkeypatch
):
    from quality import views as timeline_views

    asked = []

    def rights(user, site):
        asked.append((user.username, site))
        return SiteRights(read=True, write=False, phi=True)

    monkeypatch.setattr(timeline_views, "site_rights", rights)
    client.force_login(personas["alice"])

    response = client.get(reverse("patient_detail", args=[patient_a.pk]))

    assert response.status_code == 200
    assert asked == [("alice", patient_a.site)]
    assert (response.context["phi"], response.context["can_write"]) == (True, False)
    assert reverse("patient_edit", args=[patient_a.pk]) not in response.content.decode()


# --- New patient ------------------------------------------------------------------------------


def test_a_clinician_creates_a_patient_at_her_site(client, personas, site_a):
    client.force_login(personas["alice"])

    response = client.post(reverse("patient_create"), {**NEW_PATIENT, "site": site_a.pk})

    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("patient_detail", args=[patient.pk])
    assert (patient.site, patient.mrn, patient.sex, patient.primary_cancer) == (site_a, "A-1001", "male", "renal")
    event = next(iter(Patient.pgh_event_models.values())).objects.get()
    assert event.pgh_context.metadata["username"] == "alice"


def test_a_clinician_cannot_create_a_patient_at_another_site(client, personas, site_b):
    client.force_login(personas["alice"])

    response = client.post(reverse("patient_create"), {**NEW_PATIENT, "site": site_b.pk})

    assert response.status_code == 200
    assert response.context["form"].errors["site"] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    assert not Patient.objects.exists()


def test_service_errors_are_shown_beside_their_fields_and_entries_kept(client, personas, site_a, patient_a):
    client.force_login(personas["alice"])
    future = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    data = {**NEW_PATIENT, "site": site_a.pk, "mrn": "MRN-A-1", "primary_cancer": "other", "birth_date": future}

    response = client.post(reverse("patient_create"), data)

    errors = response.context["form"].errors
    assert response.status_code == 200
    assert errors["mrn"] == ["A patient with this MRN already exists at this site."]
    assert errors["primary_cancer_detail"] == ["Describe the primary cancer when it is 'other'."]
    assert errors["birth_date"] == ["Date cannot be in the future."]
    page = response.content.decode()
    assert f'value="{future}"' in page and 'value="MRN-A-1"' in page
    assert Patient.objects.count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_investigator_gets_403_from_every_patient_form(client, personas, patient_a, site_a, method):
    client.force_login(personas["ivy"])
    before = snapshot()

    create = getattr(client, method)(reverse("patient_create"), {**NEW_PATIENT, "site": site_a.pk})
    edit = getattr(client, method)(reverse("patient_edit", args=[patient_a.pk]), edit_data(patient_a, sex="male"))

    assert (create.status_code, edit.status_code) == (403, 403)
    assert snapshot() == before


def test_charlie_gets_404_posting_an_edit_of_a_site_a_patient(client, personas, patient_a):
    client.force_login(personas["charlie"])
    before = snapshot()

    response = client.post(reverse("patient_edit", args=[patient_a.pk]), edit_data(patient_a, sex="male"))

    assert response.status_code == 404
    assert snapshot() == before


# --- Edit, reason and stale edits ------------------------------------------------------------


def test_a_colleague_edits_a_patient_with_a_reason(client, personas, patient_a):
    client.force_login(personas["bob"])

    response = client.post(reverse("patient_edit", args=[patient_a.pk]), edit_data(patient_a, sex="male"))

    patient_a.refresh_from_db()
    assert response.status_code == 302
    assert (patient_a.sex, patient_a.version) == ("male", 2)
    update = next(iter(Patient.pgh_event_models.values())).objects.get(pgh_label="update")
    assert update.pgh_context.metadata["reason"] == "typo in the chart"


def test_an_edit_needs_a_reason(client, personas, patient_a):
    client.force_login(personas["alice"])
    before = snapshot()

    response = client.post(
        reverse("patient_edit", args=[patient_a.pk]), edit_data(patient_a, sex="male", change_reason="")
    )

    assert response.status_code == 200
    assert response.context["form"].errors["change_reason"] == ["This field is required."]
    assert snapshot() == before


def test_a_stale_edit_is_refused_listing_only_the_fields_both_changed(client, personas, patient_a):
    client.force_login(personas["alice"])
    stale_form = edit_data(patient_a, sex="male", primary_cancer="lung")
    client.force_login(personas["bob"])
    client.post(reverse("patient_edit", args=[patient_a.pk]), edit_data(patient_a, primary_cancer="liver"))
    saved = snapshot()
    client.force_login(personas["alice"])

    response = client.post(reverse("patient_edit", args=[patient_a.pk]), stale_form)

    assert response.status_code == 409
    assert response.context["stale"]["message"] == STALE_MESSAGE
    # Sex only alice changed: no conflict. Primary cancer both changed: alice chooses.
    assert response.context["stale"]["differences"] == [("Primary cancer", "Liver", "Lung")]
    page = response.content.decode()
    assert STALE_MESSAGE in page
    assert '<option value="lung" selected>' in page  # alice's entry is kept
    assert 'name="version" value="1"' in page  # every new attempt merges against what alice loaded
    assert 'name="merge_primary_cancer" value="theirs"' in page
    assert snapshot() == saved


# --- Audit trail --------------------------------------------------------------------------------


def test_the_history_shows_who_when_why_and_old_to_new(client, personas, patient_a):
    client.force_login(personas["bob"])
    client.post(reverse("patient_edit", args=[patient_a.pk]), edit_data(patient_a, sex="male"))
    client.force_login(personas["alice"])

    response = client.get(reverse("record_history", args=["patient", patient_a.pk]))

    entries = response.context["entries"]
    assert response.status_code == 200
    assert [(e["label"], e["username"], e["reason"]) for e in entries] == [
        ("insert", None, ""),
        ("update", "bob", "typo in the chart"),
    ]
    assert entries[1]["changes"] == [("sex", "Female", "Male")]
    page = response.content.decode()
    assert "<del>Female</del> → <ins>Male</ins>" in page


def test_an_investigator_never_sees_the_history(client, personas, patient_a):
    client.force_login(personas["ivy"])

    assert client.get(reverse("record_history", args=["patient", patient_a.pk])).status_code == 403


def test_a_bulk_update_leaves_one_audit_row_per_affected_row_and_the_history_shows_them(client, personas, site_a):
    procedure = ProcedureFactory(patient=PatientFactory(site=site_a))
    encounters = [
        EncounterFactory(procedure=procedure, date=procedure.date + datetime.timedelta(days=d)) for d in (10, 30)
    ]
    EncounterFactory()  # another patient's, not touched
    events = next(iter(Encounter.pgh_event_models.values())).objects

    changed = Encounter.objects.filter(procedure=procedure).update(msts_pain=5)

    assert changed == 2
    assert events.filter(pgh_label="update").count() == 2
    client.force_login(personas["alice"])
    response = client.get(reverse("record_history", args=["encounter", encounters[0].pk]))
    assert [(e["label"], e["changes"]) for e in response.context["entries"]][1] == ("update", [("Pain", "3", "5")])
