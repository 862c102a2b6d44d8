"""Staff web pages: home, patients with their timeline, patient and procedure forms, audit trail.

Every read starts from the ``*_visible_to(user)`` selectors (another site's record is a 404)
and every write goes through the services. Investigators read de-identified pages only:
no form (403) and no audit trail, which holds PHI.
"""

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from outcomes import schedule
from outcomes.models import Complication, Encounter, EncounterKind, SecondaryProcedure
from registry import selectors, services
from registry.choices import FractureStatus, Role, Treatment
from registry.forms import PatientForm, ProcedureForm, screw_formset
from registry.models import Patient, Procedure, Screw
from registry.permissions import may_see_phi, user_role
from registry.writes import StaleEditError

PATIENTS_PER_PAGE = 25
STALE_MESSAGE = (
    "Not saved: someone else changed this record while you were editing it. "
    "Your entries are kept below, beside the current values that differ from them. "
    "Check them, then save again to replace the current values with yours."
)


def staff_view(view):
    """Signed-in users with a registry role; anyone else signed in gets 403."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if user_role(request.user) is None:
            raise PermissionDenied("Your account has no registry role.")
        return view(request, *args, **kwargs)

    return wrapper


def writer_view(view):
    """Clinicians and admins: the only roles that enter data. Investigators get 403."""

    @staff_view
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if user_role(request.user) not in (Role.CLINICIAN, Role.ADMIN):
            raise PermissionDenied("Your role may not change registry records.")
        return view(request, *args, **kwargs)

    return wrapper


def history_view_allowed(view):
    """The audit trail holds PHI: clinicians and admins only."""
    return writer_view(view)


@login_required
def home(request):
    role = user_role(request.user)
    if role == Role.CLINICIAN:
        return redirect("worklist")
    if role == Role.INVESTIGATOR:
        return redirect("/dashboard/")
    if role == Role.ADMIN:
        return redirect("patient_list")
    raise PermissionDenied("Your account has no registry role.")


# --- Saving through a service, with stale-edit handling --------------------------------


def display_value(model, name: str, value) -> str:
    """A field value as a reader sees it: choice labels, yes/no, '—' for nothing."""
    if value is None or value == "" or value == []:
        return "—"
    field = model._meta.get_field(name)
    if isinstance(value, bool):
        return "yes" if value else "no"
    choices = dict(getattr(field, "base_field", field).flatchoices)
    if isinstance(value, list | tuple):
        return ", ".join(str(choices.get(item, item)) for item in value)
    return str(choices.get(value, value))


def stale_differences(model, current, submitted: dict) -> list[tuple[str, str, str]]:
    """(label, current value, your entry) for each field where the record now differs from the entry."""
    rows = []
    for name, value in submitted.items():
        now = getattr(current, name)
        if isinstance(now, list) or isinstance(value, list | tuple):
            now, value = sorted(now or []), sorted(value or [])
        if now != value:
            label = model._meta.get_field(name).verbose_name
            rows.append(
                (label[:1].upper() + label[1:], display_value(model, name, now), display_value(model, name, value))
            )
    return rows


def call_service(form, call, *, model, extra_differences=()):
    """Runs ``call``; returns (saved object, stale context). Service errors land on ``form``.

    On a stale edit the form's hidden version moves to the current one, so that saving
    again, after reading the differences, is a deliberate choice.
    """
    try:
        return call(), None
    except ValidationError as error:
        form.add_service_errors(error)
        return None, None
    except StaleEditError as error:
        current = error.instance
        form.data = form.data.copy()
        form.data[form.add_prefix("version")] = str(current.version)
        differences = stale_differences(model, current, form.record_data()) + list(extra_differences)
        return None, {"message": STALE_MESSAGE, "differences": differences, "version": current.version}


def render_form(request, template: str, context: dict, stale=None):
    context = {**context, "stale": stale}
    return render(request, template, context, status=409 if stale else 200)


# --- Patients ------------------------------------------------------------------------


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@staff_view
def patient_list(request):
    user = request.user
    sites = list(selectors.sites_visible_to(user))
    filters = {
        "q": request.GET.get("q", "").strip(),
        "site": _int_or_none(request.GET.get("site")),
        "treatment": request.GET.get("treatment", "") if request.GET.get("treatment") in Treatment.values else "",
        "fracture_status": request.GET.get("fracture_status", "")
        if request.GET.get("fracture_status") in FractureStatus.values
        else "",
    }
    patients = selectors.patient_list_for(
        user,
        q=filters["q"],
        site_id=filters["site"],
        treatment=filters["treatment"],
        fracture_status=filters["fracture_status"],
    )
    page = Paginator(patients, PATIENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/patient_list.html",
        {
            "page": page,
            "filters": filters,
            "sites": sites,
            "treatments": Treatment.choices,
            "fracture_statuses": FractureStatus.choices,
            "phi": may_see_phi(user),
            "can_write": user_role(user) in (Role.CLINICIAN, Role.ADMIN),
        },
    )


def _timeline_items(procedure: Procedure, today, *, alive: bool) -> dict:
    followups = [e.date for e in procedure.encounters.all() if e.kind == EncounterKind.FOLLOWUP]
    items = []
    for encounter in procedure.encounters.all():
        timing = (
            schedule.followup_timing(procedure.date, encounter.date)
            if encounter.kind == EncounterKind.FOLLOWUP
            else "baseline"
        )
        items.append({"type": "encounter", "date": encounter.date, "obj": encounter, "timing": timing})
    items += [{"type": "secondary", "date": s.date, "obj": s} for s in procedure.secondary_procedures.all()]
    items += [{"type": "complication", "date": c.date, "obj": c} for c in procedure.complications.all()]
    items.sort(key=lambda item: (item["date"], item["type"] != "encounter"))
    next_visit = schedule.next_visit(procedure.date, followups, today) if alive else None
    return {"procedure": procedure, "items": items, "next_visit": next_visit}


@staff_view
def patient_detail(request, pk: int):
    patient = get_object_or_404(selectors.patients_visible_to(request.user).select_related("site"), pk=pk)
    procedures = selectors.patient_timeline(patient)
    today = timezone.localdate()
    # Only the last procedure's schedule is still followed once a later procedure exists.
    timeline = [_timeline_items(p, today, alive=patient.death_date is None and p is procedures[-1]) for p in procedures]
    phi = may_see_phi(request.user)
    return render(
        request,
        "registry/patient_detail.html",
        {
            "patient": patient,
            "timeline": timeline,
            "phi": phi,
            "can_write": phi,
            "index_date": procedures[0].date if procedures else None,
        },
    )


@writer_view
def patient_create(request):
    sites = selectors.sites_visible_to(request.user)
    form = PatientForm(request.POST or None, sites=sites)
    if request.method == "POST" and form.is_valid():
        patient, _ = call_service(
            form, lambda: services.patient_create(user=request.user, **form.record_data()), model=Patient
        )
        if patient:
            return redirect("patient_detail", pk=patient.pk)
    return render_form(request, "registry/patient_form.html", {"form": form, "title": "New patient"})


@writer_view
def patient_edit(request, pk: int):
    patient = get_object_or_404(selectors.patients_visible_to(request.user), pk=pk)
    form = PatientForm(
        request.POST or None, instance=patient, sites=selectors.sites_visible_to(request.user), editing=True
    )
    stale = None
    if request.method == "POST" and form.is_valid():
        saved, stale = call_service(
            form,
            lambda: services.patient_update(
                user=request.user,
                patient=patient,
                data=form.record_data(),
                expected_version=form.cleaned_data["version"],
                reason=form.cleaned_data["change_reason"],
            ),
            model=Patient,
        )
        if saved:
            return redirect("patient_detail", pk=patient.pk)
    context = {"form": form, "title": f"Edit patient {patient.study_id}", "patient": patient}
    return render_form(request, "registry/patient_form.html", context, stale)


# --- Procedures ----------------------------------------------------------------------


def _screw_summary(screws: list[dict]) -> str:
    if not screws:
        return "none"
    return "; ".join(
        f"{s['corridor']} {display_value(Screw, 'trajectory', s['trajectory'])} {s['side']} {s['diameter_mm']} mm"
        + ("" if s["fully_threaded"] else " (partly threaded)")
        for s in screws
    )


def _current_screws(procedure: Procedure) -> list[dict]:
    return [{name: getattr(s, name) for name in services.SCREW_FIELDS} for s in procedure.screws.order_by("id")]


def _procedure_form_page(request, *, patient: Patient, procedure: Procedure | None):
    editing = procedure is not None
    data = request.POST if request.method == "POST" else None
    form = ProcedureForm(data, instance=procedure or Procedure(patient=patient), editing=editing)
    formset = screw_formset(data, procedure=procedure)
    stale = None
    if request.method == "POST" and all([form.is_valid(), formset.is_valid()]):  # validate both, show all errors
        screws = formset.screw_dicts()
        if editing:
            before = _current_screws(procedure)
            changed_screws = None if screws == before else screws

            def call():
                return services.procedure_update(
                    user=request.user,
                    procedure=procedure,
                    data=form.record_data(),
                    screws=changed_screws,
                    expected_version=form.cleaned_data["version"],
                    reason=form.cleaned_data["change_reason"],
                )

            extra = [] if screws == before else [("Screws", _screw_summary(before), _screw_summary(screws))]
        else:

            def call():
                return services.procedure_create(
                    user=request.user, patient=patient, screws=screws, **form.record_data()
                )

            extra = []
        saved, stale = call_service(form, call, model=Procedure, extra_differences=extra)
        if saved:
            return redirect(f"{reverse('patient_detail', args=[patient.pk])}#procedure-{saved.pk}")
    title = f"Edit procedure of {patient.study_id}" if editing else f"New procedure for {patient.study_id}"
    context = {
        "form": form,
        "formset": formset,
        "screw_errors": form.screw_errors,
        "patient": patient,
        "procedure": procedure,
        "title": title,
    }
    return render_form(request, "registry/procedure_form.html", context, stale)


@writer_view
def procedure_create(request, patient_pk: int):
    patient = get_object_or_404(selectors.patients_visible_to(request.user), pk=patient_pk)
    return _procedure_form_page(request, patient=patient, procedure=None)


@writer_view
def procedure_edit(request, pk: int):
    procedure = get_object_or_404(selectors.procedures_visible_to(request.user).select_related("patient"), pk=pk)
    return _procedure_form_page(request, patient=procedure.patient, procedure=procedure)


# --- Audit trail ---------------------------------------------------------------------

HISTORY_KINDS = {
    "patient": (Patient, selectors.patients_visible_to, ()),
    "procedure": (Procedure, selectors.procedures_visible_to, ((Screw, "procedure"),)),
    "encounter": (Encounter, selectors.encounters_visible_to, ()),
    "secondary-procedure": (SecondaryProcedure, selectors.secondary_procedures_visible_to, ()),
    "complication": (Complication, selectors.complications_visible_to, ()),
}


@history_view_allowed
def record_history(request, kind: str, pk: int):
    if kind not in HISTORY_KINDS:
        raise Http404("No such kind of record.")
    model, visible_to, children = HISTORY_KINDS[kind]
    record = get_object_or_404(visible_to(request.user), pk=pk)
    patient = _patient_of(record)
    entries = selectors.record_history(record, children=children)
    return render(
        request,
        "registry/history.html",
        {"record": record, "kind": model._meta.verbose_name, "entries": entries, "patient": patient},
    )


def _patient_of(record) -> Patient:
    if isinstance(record, Patient):
        return record
    if isinstance(record, Procedure):
        return record.patient
    return record.procedure.patient
