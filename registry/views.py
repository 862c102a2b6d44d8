"""Staff web pages of the registry: home, the patient list, patient and procedure forms.

Every read starts from the ``*_visible_to(user)`` selectors (another site's record is a 404) and
every write goes through the services. Investigators get no form (403). The patient's timeline and
the audit trail show outcomes' records too, so they are pages of the outcomes app.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import DurationField, ExpressionWrapper, F, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from core.free_text import UNSEARCHABLE_MESSAGE, has_control_characters, without_control_characters
from core.merge import MergeValue
from core.web import call_service, confirmation_given, display_value, render_form
from registry import selectors, services
from registry.choices import FractureStatus, Role, Treatment
from registry.forms import PatientForm, ProcedureForm, screw_formset
from registry.models import Patient, Procedure, Screw
from registry.permissions import may_see_phi, site_rights, staff_view, user_role, writer_view
from registry.procedure_versions import screws_at_version

PATIENTS_PER_PAGE = 25

# The patient list's columns that sort (?sort=<key>, ?sort=-<key> for descending), each with the
# ordering it stands for; the newest patient comes first by default. Ties fall back on the study id.
PATIENT_SORTS = {
    "study_id": ("study_id",),
    "site": ("site__code", "study_id"),
    "birth_date": ("birth_date", "study_id"),
    "age": ("age_days", "study_id"),
    "index_date": ("index_date", "study_id"),
    "created": ("created_at", "study_id"),
}
DEFAULT_PATIENT_SORT = "-created"


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


# --- Patients ------------------------------------------------------------------------


@staff_view
def patient_list(request):
    user = request.user
    sites = list(selectors.sites_visible_to(user))
    q = request.GET.get("q", "").strip()
    if has_control_characters(q):  # a NUL or another control character: said, not searched
        messages.warning(request, UNSEARCHABLE_MESSAGE)
    filters = {
        "q": q,
        # ?site=<code>, any case; empty is "All sites"; an unknown or unseen code is a 404
        "site": selectors.resolve_site(user, request.GET.get("site", "").strip() or None),
        "treatment": request.GET.get("treatment", "") if request.GET.get("treatment") in Treatment.values else "",
        "fracture_status": request.GET.get("fracture_status", "")
        if request.GET.get("fracture_status") in FractureStatus.values
        else "",
    }
    patients = selectors.patient_list_for(
        user,
        q=filters["q"],
        site=filters["site"],
        treatment=filters["treatment"],
        fracture_status=filters["fracture_status"],
    )
    sort = _patient_sort(request.GET.get("sort", ""), phi=may_see_phi(user))
    patients = _sorted_patients(patients, sort)
    page = Paginator(patients, PATIENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/patient_list.html",
        {
            "page": page,
            "filters": {**filters, "q": without_control_characters(q)},  # shown again in the search box
            "sites": sites,
            "treatments": Treatment.choices,
            "fracture_statuses": FractureStatus.choices,
            "phi": may_see_phi(user),
            "can_write": site_rights(user, None).write,
            "sort": sort,
        },
    )


def _patient_sort(asked: str, *, phi: bool) -> str:
    """The list's order: ``asked`` when it names a column the user sees, else newest first."""
    key = asked.removeprefix("-")
    shown = {"birth_date", "index_date"} if phi else {"age"}
    if key in PATIENT_SORTS and (key in shown or key in {"study_id", "site", "created"}):
        return asked
    return DEFAULT_PATIENT_SORT


def _sorted_patients(patients, sort: str):
    descending = sort.startswith("-")
    names = PATIENT_SORTS[sort.removeprefix("-")]
    if "age_days" in names:  # age at the index procedure (today without one), as the column shows it
        patients = patients.annotate(
            age_days=ExpressionWrapper(
                Coalesce(F("index_date"), Value(timezone.localdate())) - F("birth_date"),
                output_field=DurationField(),
            )
        )
    first = F(names[0]).desc(nulls_last=True) if descending else F(names[0]).asc(nulls_last=True)
    return patients.order_by(first, *names[1:])


@writer_view
def patient_create(request):
    sites = selectors.sites_visible_to(request.user)
    form = PatientForm(request.POST or None, sites=sites)
    duplicates = []
    if request.method == "POST" and form.is_valid():
        patient, _ = call_service(
            form,
            lambda: services.patient_create(
                user=request.user,
                **form.record_data(),
                check_duplicates=True,
                confirm=confirmation_given(request),
            ),
            model=Patient,
        )
        if patient:
            messages.success(request, f"Patient {patient.study_id} saved.")
            return redirect("patient_detail", pk=patient.pk)
        if getattr(form, "confirmation_warnings", None):
            # The warning names them; the page links them, to compare before confirming.
            data = form.record_data()
            duplicates = [
                other
                for other, _why in selectors.possible_duplicates(
                    site=data["site"], mrn=data["mrn"], birth_date=data["birth_date"], sex=data["sex"]
                )
            ]
    context = {"form": form, "title": "New patient", "possible_duplicates": duplicates}
    return render_form(request, "registry/patient_form.html", context)


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
                confirm=confirmation_given(request),
            ),
            model=Patient,
            request=request,
        )
        if saved:
            messages.success(request, f"Patient {patient.study_id} saved.")
            return redirect("patient_detail", pk=patient.pk)
    context = {"form": form, "title": f"Edit patient {patient.study_id}", "patient": patient}
    return render_form(request, "registry/patient_form.html", context, stale)


# --- Procedures ----------------------------------------------------------------------


def _screw_summary(screws: list[dict]) -> str:
    if not screws:
        return "none"
    return "; ".join(
        f"{s['corridor']} {display_value(Screw, 'trajectory', s['trajectory'])} {s['side']} {s['diameter_mm']} mm"
        + ("" if s.get("length_mm") is None else f" x {s['length_mm']} mm")
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
            # The screws merge like a field after a stale edit (core.merge): their entry may change.
            extras = {
                "screws": MergeValue(
                    label="Screws",
                    mine=screws,
                    at_version=lambda version: screws_at_version(procedure.pk, version),
                    current=lambda: _current_screws(procedure),
                    display=_screw_summary,
                )
            }

            def call():
                mine = extras["screws"].mine
                return services.procedure_update(
                    user=request.user,
                    procedure=procedure,
                    data=form.record_data(),
                    screws=None if mine == before else mine,
                    expected_version=form.cleaned_data["version"],
                    reason=form.cleaned_data["change_reason"],
                    confirm=confirmation_given(request),
                )
        else:

            def call():
                return services.procedure_create(
                    user=request.user,
                    patient=patient,
                    screws=screws,
                    confirm=confirmation_given(request),
                    **form.record_data(),
                )

            extras = {}
        saved, stale = call_service(form, call, model=Procedure, extras=extras, request=request)
        if saved:
            messages.success(request, "Procedure saved.")
            return redirect(f"{reverse('patient_detail', args=[patient.pk])}#procedure-{saved.pk}")
        if editing and extras["screws"].mine != screws:
            formset = screw_formset(procedure=procedure)  # the merge kept the other user's screws: show them
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
