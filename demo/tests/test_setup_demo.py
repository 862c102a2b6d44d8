from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from demo.management.commands import setup_demo
from outcomes.selectors import worklist_for
from registry.models import Patient
from registry.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_a_new_registry_gets_the_demo_cohort_and_one_account_per_role(monkeypatch, tmp_path):
    monkeypatch.setattr(setup_demo, "ACCOUNTS_FILE", tmp_path / "demo-accounts.txt")
    out = StringIO()

    call_command("setup_demo", stdout=out)

    assert Patient.objects.filter(is_demo=True, site__code="DEMO").count() == 30
    assert Patient.objects.filter(is_demo=True, site__code="DEMO-CLINIC").count() == 8
    assert Patient.objects.filter(is_demo=False).count() == 0
    users = {u.username: u.staff.role for u in get_user_model().objects.select_related("staff")}
    assert users == {"demo-clinician": "clinician", "demo-investigator": "investigator", "demo-admin": "admin"}
    lines = setup_demo.ACCOUNTS_FILE.read_text().splitlines()
    assert [line.split()[1] for line in lines] == ["demo-clinician", "demo-investigator", "demo-admin"]
    for line in lines:
        role, username, password = line.split()
        assert line in out.getvalue()
        assert get_user_model().objects.get(username=username).check_password(password)
    clinician_sites = get_user_model().objects.get(username="demo-clinician").staff.sites
    assert sorted(clinician_sites.values_list("code", flat=True)) == ["DEMO", "DEMO-CLINIC"]
    assert "/dashboard/?site=DEMO" in out.getvalue()


def test_a_registry_in_use_is_left_alone():
    PatientFactory()
    out = StringIO()

    call_command("setup_demo", stdout=out)

    assert out.getvalue().startswith("Existing registry: nothing seeded.")
    assert Patient.objects.count() == 1
    assert not get_user_model().objects.exists()


def test_the_demo_clinicians_worklist_has_visits_due_and_overdue_on_the_day_of_loading(client, monkeypatch, tmp_path):
    monkeypatch.setattr(setup_demo, "ACCOUNTS_FILE", tmp_path / "demo-accounts.txt")
    call_command("setup_demo", stdout=StringIO())
    clinician = get_user_model().objects.get(username="demo-clinician")

    rows = worklist_for(clinician, today=timezone.localdate())

    by_status = {}
    for row in rows:
        if row.patient.site.code != "DEMO-CLINIC":
            # The study's cohort is years old: nothing is due, but a visit it missed stays listed as
            # overdue until it is recorded as not done (contract: the worklist keeps missed visits).
            assert (row.patient.site.code, row.visit.status) == ("DEMO", "overdue")
            continue
        by_status.setdefault(row.visit.status, set()).add((row.patient.mrn, row.visit.visit.key))
    assert by_status["due"] == {
        ("CLINIC-0001", "week2"),
        ("CLINIC-0002", "week2"),
        ("CLINIC-0003", "month1"),
        ("CLINIC-0004", "month1"),
        ("CLINIC-0006", "month3"),
    }
    assert {("CLINIC-0004", "week2"), ("CLINIC-0005", "month1"), ("CLINIC-0007", "month3")} <= by_status["overdue"]
    assert not any(mrn == "CLINIC-0008" for rows_ in by_status.values() for mrn, _ in rows_)

    client.force_login(clinician)
    page = client.get("/worklist/")
    assert page.status_code == 200
    assert page.content.decode().count("DEMO-CLINIC") >= 1
