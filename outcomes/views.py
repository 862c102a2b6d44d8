"""The encounter, secondary procedure and complication forms (the timeline, the audit trail and
the worklist, which also show data queries, are in ``quality``).

Investigators read de-identified pages only: no form (403).
"""

import datetime
import re

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone

from core.web import call_service, confirmation_given, render_form
from core.writes import NeedsConfirmation
from outcomes import services
from outcomes.forms import ComplicationForm, EncounterForm, SecondaryProcedureForm, VisitNotDoneForm
from outcomes.models import Complication, Encounter, EncounterKind, ScheduledVisit, SecondaryProcedure, VisitNotDone
from outcomes.selectors import (
    complications_visible_to,
    encounters_visible_to,
    secondary_procedures_visible_to,
    visits_not_done_visible_to,
)
from registry.permissions import writer_view
from registry.selectors import procedures_visible_to


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
                    confirm=confirmation_given(request),
                )
        else:

            def call():
                return services.encounter_record(
                    user=request.user, procedure=procedure, confirm=confirmation_given(request), **form.record_data()
                )

        if not confirmation_given(request):
            call = _asking_about_msts(call, form.incomplete_msts_warnings())
        saved, stale = call_service(form, call, model=Encounter, request=request)
        if saved:
            messages.success(request, "Follow-up saved." if saved.kind == EncounterKind.FOLLOWUP else "Baseline saved.")
            return redirect(_timeline_url(procedure))
    total, percent, scored = form.running_total()
    context = {
        "form": form,
        "procedure": procedure,
        "patient": procedure.patient,
        "encounter": encounter,
        "title": f"Edit encounter of {procedure.patient.study_id}"
        if editing
        else f"New encounter for {procedure.patient.study_id}",
        "msts_total": total,
        "msts_percent": percent,
        "msts_scored": scored,
    }
    return render_form(request, "outcomes/encounter_form.html", context, stale)


def _asking_about_msts(call, warnings: list[str]):
    """``call``, made to ask "are you sure?" about a partly scored MSTS (``warnings``) as well.

    A question of the pages only: the API accepts a partial score (the quality rule msts_incomplete
    then opens a data query). The service runs in a savepoint that is rolled back, so that its own
    questions are listed with this one and one tick of the box confirms them all.
    """
    if not warnings:
        return call

    def asking():
        try:
            with transaction.atomic():
                call()
                raise _MstsQuestion
        except _MstsQuestion:
            raise NeedsConfirmation(warnings) from None
        except NeedsConfirmation as error:
            raise NeedsConfirmation([*error.warnings, *warnings]) from None

    return asking


class _MstsQuestion(Exception):
    """Undoes the save of an entry whose partial MSTS is yet to be confirmed."""


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

        saved, stale = call_service(form, call, model=spec["model"], request=request)
        if saved:
            messages.success(request, f"{spec['title'].capitalize()} saved.")
            return redirect(_timeline_url(procedure))
    context = {
        "form": form,
        "procedure": procedure,
        "patient": procedure.patient,
        "event": event,
        "history_kind": kind,
        "title": f"Edit {spec['title']} of {procedure.patient.study_id}"
        if editing
        else f"New {spec['title']} for {procedure.patient.study_id}",
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


# --- Visits not done ---------------------------------------------------------------------


def _visit_not_done_page(request, *, procedure, record: VisitNotDone | None):
    editing = record is not None
    data = request.POST if request.method == "POST" else None
    visit = request.GET.get("visit")  # the worklist's "Mark not done" names the visit
    initial = None if editing else {"visit": visit if visit in ScheduledVisit.values else None}
    form = VisitNotDoneForm(
        data, instance=record or VisitNotDone(procedure=procedure), initial=initial, editing=editing
    )
    stale = None
    if request.method == "POST" and form.is_valid():
        if editing:

            def call():
                return services.visit_not_done_update(
                    user=request.user,
                    visit_not_done=record,
                    data=form.record_data(),
                    expected_version=form.cleaned_data["version"],
                    reason=form.cleaned_data["change_reason"],
                )
        else:

            def call():
                return services.visit_not_done_create(user=request.user, procedure=procedure, **form.record_data())

        saved, stale = call_service(form, call, model=VisitNotDone, request=request)
        if saved:
            return redirect(_back_to_worklist(request.POST.get("next", "")) or _timeline_url(procedure))
    context = {
        "form": form,
        "procedure": procedure,
        "patient": procedure.patient,
        "event": record,
        "history_kind": "visit-not-done",
        "next": _back_to_worklist(request.POST.get("next") or request.GET.get("next") or ""),
        "title": f"Edit visit not done of {procedure.patient.study_id}"
        if editing
        else f"Visit not done for {procedure.patient.study_id}",
    }
    return render_form(request, "outcomes/visit_not_done_form.html", context, stale)


def _back_to_worklist(url: str) -> str:
    """``url`` when it is the worklist (with its site filter), else "": the page goes back only
    there, never to a URL a link could plant."""
    path, _, query = url.partition("?")
    return url if path == reverse("worklist") and re.fullmatch(r"(site=[\w-]*)?", query) else ""


@writer_view
def visit_not_done_create(request, procedure_pk: int):
    return _visit_not_done_page(request, procedure=_visible_procedure(request.user, procedure_pk), record=None)


@writer_view
def visit_not_done_edit(request, pk: int):
    visible = visits_not_done_visible_to(request.user).select_related("procedure__patient")
    record = get_object_or_404(visible, pk=pk)
    return _visit_not_done_page(request, procedure=record.procedure, record=record)
