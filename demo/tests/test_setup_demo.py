from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from demo.management.commands import setup_demo
from registry.models import Patient
from registry.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_a_new_registry_gets_the_demo_cohort_and_one_account_per_role(monkeypatch, tmp_path):
    monkeypatch.setattr(setup_demo, "ACCOUNTS_FILE", tmp_path / "demo-accounts.txt")
    out = StringIO()

    call_command("setup_demo", stdout=out)

    assert Patient.objects.filter(is_demo=True).count() == 30
    users = {u.username: u.staff.role for u in get_user_model().objects.select_related("staff")}
    assert users == {"demo-clinician": "clinician", "demo-investigator": "investigator", "demo-admin": "admin"}
    lines = setup_demo.ACCOUNTS_FILE.read_text().splitlines()
    assert [line.split()[1] for line in lines] == ["demo-clinician", "demo-investigator", "demo-admin"]
    for line in lines:
        role, username, password = line.split()
        assert line in out.getvalue()
        assert get_user_model().objects.get(username=username).check_password(password)
    assert get_user_model().objects.get(username="demo-clinician").staff.sites.get().code == "DEMO"


def test_a_registry_in_use_is_left_alone():
    PatientFactory()
    out = StringIO()

    call_command("setup_demo", stdout=out)

    assert out.getvalue().startswith("Existing registry: nothing seeded.")
    assert Patient.objects.count() == 1
    assert not get_user_model().objects.exists()
