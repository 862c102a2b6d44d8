"""Login, logout, password change, lockout and the home page of each role."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from registry.tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.mark.parametrize(
    ("user", "target"),
    [("alice", "/worklist/"), ("ivy", "/dashboard/"), ("root", "/patients/")],
)
def test_home_sends_each_role_to_its_page(client, personas, user, target):
    client.force_login(personas[user])

    response = client.get("/")

    assert response.status_code == 302
    assert response.url == target


def test_a_user_without_a_role_is_refused(client, db):
    client.force_login(get_user_model().objects.create_user("nobody", password=PASSWORD))

    assert client.get("/").status_code == 403
    assert client.get(reverse("patient_list")).status_code == 403


def test_the_login_page_logs_in_with_the_password(client, personas):
    page = client.get(reverse("login"))
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})

    assert page.status_code == 200
    assert response.status_code == 302
    assert response.url == "/"
    assert client.get(reverse("patient_list")).status_code == 200


def test_a_wrong_password_is_told_without_saying_which_part(client, personas):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong password!"})

    assert response.status_code == 200
    assert "Your username and password did not match." in response.content.decode()


def test_repeated_failures_lock_the_account_with_a_clear_page(client, personas):
    for _ in range(4):
        assert client.post(reverse("login"), {"username": "alice", "password": "nope"}).status_code == 200

    locked = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    still_locked = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})

    assert locked.status_code == 429
    assert "Account locked" in locked.content.decode()
    assert "Try again in 15 minutes." in locked.content.decode()
    assert still_locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post(client, personas):
    client.force_login(personas["alice"])

    refused = client.get(reverse("logout"))
    response = client.post(reverse("logout"))

    assert refused.status_code == 405
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert client.get(reverse("patient_list")).status_code == 302


def test_the_nav_shows_each_role_its_links(client, personas):
    client.force_login(personas["alice"])
    alice = client.get(reverse("patient_list")).content.decode()
    client.force_login(personas["ivy"])
    ivy = client.get(reverse("patient_list")).content.decode()
    client.force_login(personas["root"])
    root = client.get(reverse("patient_list")).content.decode()

    assert 'href="/worklist/"' in alice and 'href="/dashboard/"' in alice and 'href="/admin/"' not in alice
    assert 'href="/worklist/"' not in ivy and 'href="/dashboard/"' in ivy
    assert 'href="/admin/"' in root
    assert '<form method="post" action="/logout/"' in alice


def test_a_password_change_needs_twelve_characters(client, site_a):
    user = make_user("dora", "clinician", [site_a])
    client.force_login(user)

    short = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "Sh0rt-pass", "new_password2": "Sh0rt-pass"},
    )
    changed = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a much longer passphrase",
            "new_password2": "a much longer passphrase",
        },
    )

    assert short.status_code == 200
    assert short.context["form"].errors["new_password2"] == [
        "This password is too short. It must contain at least 12 characters."
    ]
    assert changed.status_code == 302
    assert changed.url == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password("a much longer passphrase")


def test_the_login_page_states_the_configured_idle_and_lockout_times(client, personas, settings):
    settings.SESSION_IDLE_SECONDS = 10 * 60
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=45)

    page = client.get("/login/").content.decode()
    refused = client.post("/login/", {"username": "alice", "password": "not her password"}).content.decode()

    assert "Sessions end after 10 minutes without activity." in page
    assert "30 minutes" not in page
    assert "repeated failures lock the account for 45 minutes." in refused
