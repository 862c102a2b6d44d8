"""Pages that show a patient's records across apps (the timeline, the audit trail), the encounter,
secondary procedure and complication forms, and the follow-up worklist.

Investigators read de-identified pages only: no form (403) and no audit trail, which holds PHI.
"""

import datetime

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from core.svg import line_chart
from core.web import call_service, render_form
from outcomes import schedule, selectors, services
from outcomes.forms import ComplicationForm, EncounterForm, SecondaryProcedureForm
from outcomes.models import Complication, Encounter, EncounterKind, SecondaryProcedure
from outcomes.msts import MSTS_MAX
from outcomes.selectors import complications_visible_to, encounters_visible_to, secondary_procedures_visible_to
from registry.access_log import phi_access_record
from registry.choices import Role
from registry.models import Patient, PhiAccess, Procedure, Screw
from registry.permissions import may_see_phi, site_rights, staff_view, user_role, writer_view
from registry.selectors import patients_visible_to, procedures_visible_to, resolve_site, sites_visible_to
from registry.vocabulary import TREATMENT_SHORT_LABELS


def _timeline_url(procedure) -> str:
    return f"{reverse('patient_detail', args=[procedure.patient_id])}#procedure-{procedure.pk}"


def _visible_procedure(user, pk: int):
    return get_object_or_404(procedures_visible_to(user).select_related("patient"), pk=pk)


def _encounter_initial(request, procedure) -> dict:
    """Pre-fills kind and date from the query string (the worklist links), else today's follow-up."""
    kind = request.GET.get("kind")
    if kind not in EncounterKind.values:
        has_baseline = procedure.encounters.filter(kind=EncounterKind.BASELINE).exists()
        kind = EncounterKind.FOLLOWUP if has_baseline else EncounterKind.BASELINE
    try:
        day = datetime.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = timezone.localdate() if kind == EncounterKind.FOLLOWUP else procedure.date
    return {"kind": kind, "date": day}


def _encounter_page(request, *, procedure, encounter: Encounter | None):
    editing = encounter is not None
    data = request.POST if request.method == "POST" else None
    initial = None if editing else _encounter_initial(request, procedure)
    form = EncounterForm(data, instance=encounter or Encounter(procedure=procedure), initial=initial, editing=editing)
    stale = None
    if request.method == "POST" and form.is_valid():
        if editing:

            def call():
                return services.encounter_update(
                    user=request.user,
                    encounter=encounter,
                    data=form.record_data(),
                    expected_version=form.cleaned_data["version"],
                    reason=form.cleaned_data["change_reason"],
                )
        else:

            def call():
                return services.encounter_record(user=request.user, procedure=procedure, **form.record_data())

        saved, stale = call_service(form, call, model=Encounter)
        if saved:
            return redirect(_timeline_url(procedure))
    total, percent, scored = form.running_total()
    context = {
        "form": form,
        "procedure": procedure,
        "patient": procedure.patient,
        "encounter": encounter,
        "title": "Edit encounter" if editing else "New encounter",
        "msts_total": total,
        "msts_percent": percent,
        "msts_scored": scored,
    }
    return render_form(request, "outcomes/encounter_form.html", context, stale)


@writer_view
def encounter_create(request, procedure_pk: int):
    return _encounter_page(request, procedure=_visible_procedure(request.user, procedure_pk), encounter=None)


@writer_view
def encounter_edit(request, pk: int):
    encounter = get_object_or_404(encounters_visible_to(request.user).select_related("procedure__patient"), pk=pk)
    return _encounter_page(request, procedure=encounter.procedure, encounter=encounter)


# --- Secondary procedures and complications ---------------------------------------------

EVENT_KINDS = {
    "secondary-procedure": {
        "model": SecondaryProcedure,
        "form": SecondaryProcedureForm,
        "visible": secondary_procedures_visible_to,
        "create": services.secondary_procedure_create,
        "update": services.secondary_procedure_update,
        "argument": "secondary_procedure",
        "title": "secondary procedure",
    },
    "complication": {
        "model": Complication,
        "form": ComplicationForm,
        "visible": complications_visible_to,
        "create": services.complication_create,
        "update": services.complication_update,
        "argument": "complication",
        "title": "complication",
    },
}


def _event_page(request, kind: str, *, procedure, event):
    spec = EVENT_KINDS[kind]
    editing = event is not None
    data = request.POST if request.method == "POST" else None
    initial = None if editing else {"date": timezone.localdate()}
    form = spec["form"](data, instance=event or spec["model"](procedure=procedure), initial=initial, editing=editing)
    stale = None
    if request.method == "POST" and form.is_valid():
        if editing:

            def call():
                return spec["update"](
                    user=request.user,
                    data=form.record_data(),
                    expected_version=form.cleaned_data["version"],
                    reason=form.cleaned_data["change_reason"],
                    **{spec["argument"]: event},
                )
        else:

            def call():
                return spec["create"](user=request.user, procedure=procedure, **form.record_data())

        saved, stale = call_service(form, call, model=spec["model"])
        if saved:
            return redirect(_timeline_url(procedure))
    context = {
        "form": form,
        "procedure": procedure,
        "patient": procedure.patient,
        "event": event,
        "history_kind": kind,
        "title": f"{'Edit' if editing else 'New'} {spec['title']}",
    }
    return render_form(request, "outcomes/event_form.html", context, stale)


@writer_view
def event_create(request, kind: str, procedure_pk: int):
    return _event_page(request, kind, procedure=_visible_procedure(request.user, procedure_pk), event=None)


@writer_view
def event_edit(request, kind: str, pk: int):
    visible = EVENT_KINDS[kind]["visible"](request.user).select_related("procedure__patient")
    event = get_object_or_404(visible, pk=pk)
    return _event_page(request, kind, procedure=event.procedure, event=event)


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
    return render(
        request,
        "outcomes/worklist.html",
        {
            "rows": rows,
            "sites": sites,
            "chosen_site": site,
            "today": today,
            "phi": may_see_phi(request.user),
            "schedule": schedule.SCHEDULE,
            "overdue": schedule.OVERDUE,
        },
    )


# --- A patient's timeline -------------------------------------------------------------


def _timeline_items(entry: selectors.TimelineProcedure, today, *, alive: bool) -> dict:
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
    items.sort(key=lambda item: (item["date"], item["type"] != "encounter"))
    next_visit = schedule.next_visit(procedure.date, followups, today) if alive else None
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
    timeline = [_timeline_items(e, today, alive=patient.death_date is None and e is entries[-1]) for e in entries]
    phi = may_see_phi(request.user)
    if phi:
        phi_access_record(request=request, action=PhiAccess.Action.VIEW_PATIENT, patient=patient)
    return render(
        request,
        "outcomes/patient_detail.html",
        {
            "patient": patient,
            "timeline": timeline,
            "phi": phi,
            "can_write": site_rights(request.user, patient.site).write,
            "index_date": entries[0].procedure.date if entries else None,
            "msts_chart": _msts_chart(entries),
        },
    )


# --- Audit trail ---------------------------------------------------------------------

HISTORY_KINDS = {
    "patient": (Patient, patients_visible_to, ()),
    "procedure": (Procedure, procedures_visible_to, ((Screw, "procedure"),)),
    "encounter": (Encounter, encounters_visible_to, ()),
    "secondary-procedure": (SecondaryProcedure, secondary_procedures_visible_to, ()),
    "complication": (Complication, complications_visible_to, ()),
}


@writer_view  # the audit trail holds PHI: clinicians and admins only
def record_history(request, kind: str, pk: int):
    if kind not in HISTORY_KINDS:
        raise Http404("No such kind of record.")
    model, visible_to, children = HISTORY_KINDS[kind]
    record = get_object_or_404(visible_to(request.user), pk=pk)
    patient = _patient_of(record)
    phi_access_record(request=request, action=PhiAccess.Action.VIEW_HISTORY, patient=patient)
    entries = selectors.record_history(record, children=children)
    return render(
        request,
        "outcomes/history.html",
        {"record": record, "kind": model._meta.verbose_name, "entries": entries, "patient": patient},
    )


def _patient_of(record) -> Patient:
    if isinstance(record, Patient):
        return record
    if isinstance(record, Procedure):
        return record.patient
    return record.procedure.patient
