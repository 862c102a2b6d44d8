"""Staff accounts in the admin (issue: data entry staff can trust, item 16): one screen creates a
clinician with role and sites, the list shows role, sites and lockouts, one action unlocks, and the
admin's own login page is the registry's, which says why a session ended."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

PASSWORD = "correct horse battery staple"  # the personas' (registry/tests/factories.py)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "correct horse battery staple 42"


def test_one_admin_screen_creates_a_clinician_with_role_and_sites(client, personas, site_a, site_b):
    client.force_login(personas["root"])

    page = client.get(reverse("admin:auth_user_add"))
    created = client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "dora",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "role": "clinician",
            "sites": [site_a.pk, site_b.pk],
        },
    )

    assert page.status_code == 200
    assert {"username", "password1", "password2", "role", "sites"} <= set(page.context["adminform"].form.fields)
    assert created.status_code == 302
    dora = get_user_model().objects.select_related("staff").get(username="dora")
    assert dora.staff.role == "clinician"
    assert sorted(dora.staff.sites.values_list("code", flat=True)) == sorted([site_a.code, site_b.code])
    assert dora.check_password(NEW_PASSWORD)
    assert not dora.is_staff


def test_a_clinician_without_a_site_is_refused_and_nothing_is_created(client, personas):
    client.force_login(personas["root"])

    refused = client.post(
        reverse("admin:auth_user_add"),
        {"username": "dora", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "role": "clinician"},
    )

    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["sites"] == ["A clinician belongs to at least one site."]
    assert not get_user_model().objects.filter(username="dora").exists()


def test_the_user_list_shows_role_and_sites(client, personas, site_a):
    client.force_login(personas["root"])

    listing = client.get(reverse("admin:auth_user_changelist"))

    text = listing.content.decode()
    assert listing.status_code == 200
    row = text[text.index(">alice<") :][:1500]
    assert "Clinician" in row
    assert site_a.code in row


def test_an_admin_unlocks_a_locked_account_with_one_action(client, personas):
    alice = personas["alice"]
    visitor = Client()
    for _ in range(5):
        visitor.post(reverse("login"), {"username": "alice", "password": "not her password"})
    locked = visitor.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert locked.status_code == 429 or "_auth_user_id" not in visitor.session
    client.force_login(personas["root"])

    listing = client.get(reverse("admin:auth_user_changelist") + "?locked=yes")
    unlocked = client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "unlock_accounts", "_selected_action": [alice.pk]},
    )
    relisted = client.get(reverse("admin:auth_user_changelist") + "?locked=yes")
    again = visitor.post(reverse("login"), {"username": "alice", "password": PASSWORD})

    assert [user.username for user in listing.context["cl"].result_list] == ["alice"]
    assert unlocked.status_code == 302
    assert [str(m) for m in get_messages(unlocked.wsgi_request)] == ["Unlocked: alice."]
    assert list(relisted.context["cl"].result_list) == []
    assert again.status_code == 302
    assert visitor.session["_auth_user_id"] == str(alice.pk)


def test_the_admin_login_is_the_registrys_login_page(client):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/admin/"


IDLE_MESSAGE = "You were signed out after a time without activity. Log in again to continue."


def test_the_login_page_says_why_when_the_session_ended_overnight(client, personas):
    from django.contrib.sessions.models import Session

    client.force_login(personas["alice"])
    client.get(reverse("patient_list"))
    Session.objects.all().delete()  # the store drops a session once it has expired

    followed = client.get(reverse("patient_list"), follow=True)

    assert followed.redirect_chain[-1][0].startswith("/login/")
    assert IDLE_MESSAGE in followed.content.decode()


def test_the_login_page_after_logging_out_does_not_speak_of_inactivity(client, personas):
    client.force_login(personas["alice"])
    client.get(reverse("patient_list"))

    client.post(reverse("logout"))
    page = client.get(reverse("login"))

    assert page.status_code == 200
    assert IDLE_MESSAGE not in page.content.decode()
