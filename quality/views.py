"""Pages that show a patient's records from every app below, with their data queries: the
timeline, the audit trail and the follow-up worklist.

Investigators read de-identified pages only: no audit trail (it holds PHI) and no worklist.
"""

import datetime

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from core.svg import line_chart
from outcomes import schedule, selectors
from outcomes.models import Complication, Encounter, EncounterKind, SecondaryProcedure, VisitNotDone
from outcomes.msts import MSTS_MAX
from outcomes.selectors import (
    complications_visible_to,
    encounters_visible_to,
    secondary_procedures_visible_to,
    visits_not_done_visible_to,
)
from quality import selectors as query_selectors
from quality.query_views import attach_queries
from quality.retract_views import retracted_record_history
from quality.selectors_retracted import patient_retractions
from registry.access_log import phi_access_record
from registry.choices import Role
from registry.models import Patient, PhiAccess, Procedure, Screw
from registry.permissions import is_admin, may_see_phi, site_rights, staff_view, user_role
from registry.selectors import patients_visible_to, procedures_visible_to, resolve_site, sites_visible_to
from registry.sign_off import SIGN_OFF_AFTER_DAYS
from registry.vocabulary import TREATMENT_SHORT_LABELS

# --- Worklist ------------------------------------------------------------------------------


@staff_view
def worklist(request):
    """Follow-up visits due or overdue at the user's sites (admins: every site, with a filter)."""
    if user_role(request.user) not in (Role.CLINICIAN, Role.ADMIN):
        raise PermissionDenied("The worklist is for staff who see patients.")
    sites = list(sites_visible_to(request.user))
    # ?site=<code>, any case; empty is "All my sites"; an unknown or unseen code is a 404
    site = resolve_site(request.user, request.GET.get("site", "").strip() or None)
    today = timezone.localdate()
    rows = selectors.worklist_for(request.user, today=today, site=site)
    query_counts = query_selectors.open_query_counts_by_site(request.user, site=site)
    return render(
        request,
        "quality/worklist.html",
        {
            "rows": rows,
            "sites": sites,
            "chosen_site": site,
            "today": today,
            "phi": may_see_phi(request.user),
            "query_counts": query_counts,
            "schedule": schedule.SCHEDULE,
            "overdue": schedule.OVERDUE,
        },
    )


# --- A patient's timeline -------------------------------------------------------------


def _timeline_items(entry: selectors.TimelineProcedure, today, *, alive: bool, ended_on=None) -> dict:
    """The procedure's visits and events by date; a visit not done sits where its window opens.
    ``alive``: its schedule is still followed (the patient's last procedure); ``ended_on``: the
    day follow-up ended (``schedule.follow_up_end``)."""
    procedure = entry.procedure
    followups = [e.date for e in entry.encounters if e.kind == EncounterKind.FOLLOWUP]
    items = []
    for encounter in entry.encounters:
        timing = (
            schedule.followup_timing(procedure.date, encounter.date)
            if encounter.kind == EncounterKind.FOLLOWUP
            else "baseline"
        )
        items.append({"type": "encounter", "date": encounter.date, "obj": encounter, "timing": timing})
    items += [{"type": "secondary", "date": s.date, "obj": s} for s in entry.secondary_procedures]
    items += [{"type": "complication", "date": c.date, "obj": c} for c in entry.complications]
    windows = {visit.key: visit.window(procedure.date) for visit in schedule.SCHEDULE}
    items += [
        {"type": "not_done", "date": windows[v.visit][0], "window": windows[v.visit], "obj": v}
        for v in entry.visits_not_done
    ]
    items.sort(key=lambda item: (item["date"], item["type"] != "encounter"))
    not_done = {v.visit for v in entry.visits_not_done}
    next_visit = (
        schedule.next_visit(procedure.date, followups, today, not_done=not_done, ended_on=ended_on) if alive else None
    )
    return {"procedure": procedure, "screws": entry.screws, "items": items, "next_visit": next_visit}


# One colour and dash per procedure on the MSTS chart (a patient has one or two, rarely more).
_PROCEDURE_STYLES = [("#1b5e9f", ""), ("#c2571a", "6 4"), ("#2e7d32", "2 3"), ("#6a1b9a", "8 3 2 3")]


def _msts_chart(entries: list[selectors.TimelineProcedure]):
    """The MSTS total of each scored encounter over days since the index (first) procedure, one line
    a procedure; None without a scored total. Days, not dates: the same picture for every role."""
    if not entries:
        return None
    index = entries[0].procedure.date
    series = []
    for i, entry in enumerate(entries):
        points = sorted(((e.date - index).days, e.msts_total) for e in entry.encounters if e.msts_total is not None)
        if not points:
            continue
        offset = (entry.procedure.date - index).days
        colour, dash = _PROCEDURE_STYLES[i % len(_PROCEDURE_STYLES)]
        name = TREATMENT_SHORT_LABELS.get(entry.procedure.treatment, entry.procedure.treatment)
        label = name + (" (index)" if i == 0 else f" (day {offset:+d})")
        series.append({"label": label, "points": points, "colour": colour, "dash": dash})
    if not series:
        return None
    return line_chart(
        series,
        title="MSTS total over time",
        description="The MSTS total of each scored visit, by days since the index procedure; one line a procedure.",
        x_label="Days since the index procedure",
        y_label=f"MSTS total (0-{MSTS_MAX})",
        y_range=(0, MSTS_MAX),
        y_ticks=range(0, MSTS_MAX + 1, 5),
    )


@staff_view
def patient_detail(request, pk: int):
    patient = get_object_or_404(patients_visible_to(request.user).select_related("site"), pk=pk)
    entries = selectors.patient_timeline(patient)
    today = timezone.localdate()
    # Only the last procedure's schedule is still followed once a later procedure exists.
    ended_on = schedule.follow_up_end(patient.death_date, patient.status_date)
    timeline = [_timeline_items(e, today, alive=e is entries[-1], ended_on=ended_on) for e in entries]
    phi = may_see_phi(request.user)
    if phi:
        phi_access_record(request=request, action=PhiAccess.Action.VIEW_PATIENT, patient=patient)
    return render(
        request,
        "quality/patient_detail.html",
        {
            "patient": patient,
            "timeline": timeline,
            "phi": phi,
            "can_write": site_rights(request.user, patient.site).write,
            "index_date": entries[0].procedure.date if entries else None,
            "msts_chart": _msts_chart(entries),
            # Record sign-off of the index procedure (registry.sign_off): the forms are for admins.
            "can_sign_off": is_admin(request.user),
            "sign_off_ready": bool(entries)
            and entries[0].procedure.date + datetime.timedelta(days=SIGN_OFF_AFTER_DAYS) < today,
            # Each record's data queries that are not closed, beside it (none for investigators).
            "patient_queries": attach_queries(request.user, patient, timeline),
            # Who retracted what, when and why: PHI (staff names, times, free text), so staff only.
            "retractions": patient_retractions(patient.pk) if phi else [],
        },
    )


# --- Audit trail ---------------------------------------------------------------------

HISTORY_KINDS = {
    "patient": (Patient, patients_visible_to, ()),
    "procedure": (Procedure, procedures_visible_to, ((Screw, "procedure"),)),
    "encounter": (Encounter, encounters_visible_to, ()),
    "secondary-procedure": (SecondaryProcedure, secondary_procedures_visible_to, ()),
    "complication": (Complication, complications_visible_to, ()),
    "visit-not-done": (VisitNotDone, visits_not_done_visible_to, ()),
}


HISTORY_NOT_FOR_ROLE = (
    "The audit trail is read-only, and it is not available to your role: it holds identified data "
    "(names of staff, dates and values as entered). Clinicians and registry admins read it."
)


@staff_view
def record_history(request, kind: str, pk: int):
    if not may_see_phi(request.user):  # the audit trail holds PHI: clinicians and admins only
        raise PermissionDenied(HISTORY_NOT_FOR_ROLE)
    if kind not in HISTORY_KINDS:
        raise Http404("No such kind of record.")
    model, visible_to, children = HISTORY_KINDS[kind]
    record = visible_to(request.user).filter(pk=pk).first()
    if record is None:  # retracted (its history is read from the audit events) or another site's (404)
        return retracted_record_history(request, model=model, children=children, pk=pk)
    patient = _patient_of(record)
    phi_access_record(request=request, action=PhiAccess.Action.VIEW_HISTORY, patient=patient)
    entries = selectors.record_history(record, children=children)
    return render(
        request,
        "quality/history.html",
        {"record": record, "kind": model._meta.verbose_name, "entries": entries, "patient": patient},
    )


def _patient_of(record) -> Patient:
    if isinstance(record, Patient):
        return record
    if isinstance(record, Procedure):
        return record.patient
    return record.procedure.patient
