"""Who may see which patients is audited: a user's registry role, their sites, their account flags
(active, staff, superuser) and groups. Each change leaves an event naming who made it, whether
made in the admin or by a command."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from registry.management.commands import registry_user
from registry.models import AuditedUser, AuditedUserGroup, StaffProfile, StaffSiteMembership
from tests.test_audit_cannot_be_rewritten import app_db, app_role, audited, run  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

ProfileEvent = StaffProfile.pgh_event_models["update"]
MembershipEvent = StaffSiteMembership.pgh_event_models["insert"]
AccountEvent = AuditedUser.pgh_event_models["update"]
GroupEvent = AuditedUserGroup.pgh_event_models["insert"]


def who(event) -> int | None:
    return event.pgh_context.metadata.get("user") if event.pgh_context_id else None


def test_changing_a_users_role_and_sites_in_the_admin_leaves_events_naming_the_admin(client, personas, site_a, site_b):
    root, alice = personas["root"], personas["alice"]
    client.force_login(root)
    last_event = MembershipEvent.objects.order_by("pgh_id").last().pgh_id

    response = client.post(
        reverse("admin:registry_staffprofile_change", args=[alice.staff.pk]),
        {"user": alice.pk, "role": "investigator", "sites": [site_b.pk]},
    )

    assert response.status_code == 302
    alice.staff.refresh_from_db()
    assert (alice.staff.role, list(alice.staff.sites.all())) == ("investigator", [site_b])
    role_change = ProfileEvent.objects.filter(pgh_obj=alice.staff, pgh_label="update").get()
    assert (role_change.role, who(role_change)) == ("investigator", root.pk)
    made = MembershipEvent.objects.filter(pgh_id__gt=last_event).order_by("pgh_id")
    assert sorted((e.pgh_label, e.staffprofile_id, e.site_id, who(e)) for e in made) == [
        ("delete", alice.staff.pk, site_a.pk, root.pk),
        ("insert", alice.staff.pk, site_b.pk, root.pk),
    ]


def test_deactivating_a_user_and_changing_their_groups_in_the_admin_leaves_events_naming_the_admin(client, personas):
    root, alice = personas["root"], personas["alice"]
    group = Group.objects.create(name="monitors")
    client.force_login(root)

    response = client.post(
        reverse("admin:auth_user_change", args=[alice.pk]),
        {
            "username": "alice",
            "first_name": "",
            "last_name": "",
            "email": "",
            "is_active": "",  # unticked
            "is_staff": "",
            "is_superuser": "",
            "groups": [group.pk],
            "user_permissions": [],
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "08:00:00",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert not alice.is_active
    deactivated = AccountEvent.objects.get(pgh_obj=alice.pk, pgh_label="update")
    assert (deactivated.is_active, who(deactivated)) == (False, root.pk)
    joined = GroupEvent.objects.get(user=alice, pgh_label="insert")
    assert (joined.group_id, who(joined)) == (group.pk, root.pk)


def test_a_login_alone_leaves_no_account_event(client, personas):
    alice = personas["alice"]
    count = AccountEvent.objects.count()

    client.post(reverse("login"), {"username": "alice", "password": "x"})
    alice.last_login = None
    alice.save(update_fields=["last_login"])

    assert AccountEvent.objects.count() == count


def test_registry_user_records_the_new_account_its_role_and_sites_as_made_by_the_command(monkeypatch, site_a):
    class PipedStdin(io.StringIO):
        def isatty(self):
            return False

    monkeypatch.setattr(registry_user.sys, "stdin", PipedStdin("a long enough passphrase\n"))
    monkeypatch.setattr(registry_user.getpass, "getuser", lambda: "operator")

    call_command("registry_user", "dora", "--role", "clinician", "--site", "SITEA", stdout=io.StringIO())

    profile = StaffProfile.objects.get(user__username="dora")
    created = StaffProfile.pgh_event_models["insert"].objects.get(pgh_obj=profile, pgh_label="insert")
    membership = MembershipEvent.objects.get(staffprofile=profile, pgh_label="insert")
    account = AuditedUser.pgh_event_models["insert"].objects.get(pgh_obj=profile.user_id, pgh_label="insert")
    for event in (created, membership, account):
        assert event.pgh_context.metadata == {
            "action": "staff_user_create",
            "command": "registry_user",
            "os_user": "operator",
        }
    assert (created.role, membership.site_id, account.username) == ("clinician", site_a.pk, "dora")


def test_the_staff_event_tables_are_protected_like_the_other_audit_tables():
    from core.management.commands.grant_app_role import audit_tables

    _, events = audit_tables()

    for model in (StaffProfile, StaffSiteMembership, AuditedUser, AuditedUserGroup):
        assert model.pgh_event_models["insert"]._meta.db_table in events


@pytest.mark.django_db(transaction=True)
def test_the_app_role_changes_accounts_and_memberships_and_each_change_is_audited(app_db, personas, site_b):  # noqa: F811
    alice = personas["alice"]
    counts = {model: model.objects.count() for model in (AccountEvent, MembershipEvent)}

    run(app_db, "UPDATE auth_user SET is_active = false WHERE id = %s", [alice.pk])
    run(app_db, "UPDATE auth_user SET last_login = now() WHERE id = %s", [alice.pk])  # not an account change
    run(
        app_db,
        f"INSERT INTO {StaffProfile.sites.through._meta.db_table} (staffprofile_id, site_id) VALUES (%s, %s)",
        [alice.staff.pk, site_b.pk],
    )

    assert AccountEvent.objects.count() == counts[AccountEvent] + 1
    assert AccountEvent.objects.filter(pgh_obj=alice.pk, pgh_label="update").get().is_active is False
    assert MembershipEvent.objects.count() == counts[MembershipEvent] + 1
