"""Read-only admin of the statistics snapshots and the refresh state; refreshes come from Celery."""

from django.contrib import admin

from analysis.models import RefreshState, Snapshot


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "site", "computed_at", "duration_ms", "fingerprint"]
    list_select_related = ["site"]


@admin.register(RefreshState)
class RefreshStateAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "requested_at", "scheduled_for", "started_at", "succeeded_at", "failed_at", "last_error"]
