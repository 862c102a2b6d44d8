import pytest

from analysis.models import Snapshot
from analysis.services import stats_refresh

pytestmark = pytest.mark.django_db


def test_an_admin_sees_the_snapshots_and_the_refresh_state_read_only(client, personas):
    stats_refresh()
    client.force_login(personas["root"])

    snapshots = client.get("/admin/analysis/snapshot/")
    state = client.get("/admin/analysis/refreshstate/")
    change = client.post(f"/admin/analysis/snapshot/{Snapshot.objects.get(site=None).pk}/delete/", {"post": "yes"})

    assert snapshots.status_code == 200
    assert "Statistics of the registry" in snapshots.content.decode()
    assert state.status_code == 200
    assert change.status_code == 403
    assert Snapshot.objects.count() == 3


def test_a_clinician_has_no_admin(client, personas):
    client.force_login(personas["alice"])

    assert client.get("/admin/analysis/snapshot/").status_code == 302
