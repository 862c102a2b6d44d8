"""The follow-up worklist as a CSV file for clinic days: the rows of the page, with its site filter.

Identified data (MRNs, dates): clinicians and registry admins only, like the page, and each
download is kept in the PHI access log. Cells go through ``core.csv_safe``.
"""

import io
import re

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils import timezone

from core.csv_safe import SafeWriter
from outcomes import schedule, selectors
from registry.access_log import phi_access_record
from registry.choices import Role
from registry.models import PhiAccess
from registry.permissions import staff_view, user_role
from registry.selectors import resolve_site

COLUMNS = (
    "site",
    "study_id",
    "mrn",
    "status",
    "days_overdue",
    "procedure_date",
    "treatment",
    "visit",
    "window_start",
    "window_end",
)


def worklist_rows(rows: list[selectors.WorklistRow]):
    """The CSV rows (without the header) of the worklist's rows, in their order."""
    for row in rows:
        visit = row.visit
        yield (
            row.patient.site.code,
            row.patient.study_id,
            row.patient.mrn,
            visit.status,
            visit.days_overdue if visit.status == schedule.OVERDUE else "",
            row.procedure.date.isoformat(),
            row.procedure.treatment,
            visit.visit.key,
            visit.window_start.isoformat(),
            visit.window_end.isoformat(),
        )


@staff_view
def worklist_csv(request):
    if user_role(request.user) not in (Role.CLINICIAN, Role.ADMIN):
        raise PermissionDenied("The worklist is for staff who see patients.")
    site = resolve_site(request.user, request.GET.get("site", "").strip() or None)
    today = timezone.localdate()
    rows = selectors.worklist_for(request.user, today=today, site=site)
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(worklist_rows(rows))
    scope = re.sub(r"[^A-Za-z0-9_-]", "", site.code) if site else "all"
    name = f"worklist-{scope}-{today:%Y-%m-%d}.csv"
    phi_access_record(request=request, action=PhiAccess.Action.EXPORT_IDENTIFIED, what=f"{name} ({len(rows)} visits)")
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
