"""The retraction pages: "Retract (entered in error)" for every record a clinician edits, and the
list of retracted patients of the user's sites (their timeline is gone with them).

Clinicians and admins only (investigators 403); a record of a site the user cannot see is a 404.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from core.free_text import FreeTextFormMixin
from core.web import display_value
from outcomes.selectors import record_history as record_history_entries
from quality import retract as retraction
from quality.selectors_retracted import owner_of
from quality.selectors_retracted import retracted_patients as retracted_patients_of
from registry.access_log import phi_access_record
from registry.models import Patient, PhiAccess, Site
from registry.permissions import readable_site_ids, writer_view

REASON_HELP = "Why this record was entered in error; kept in the audit trail with the retraction."
RETRACTED_PATIENTS_PER_PAGE = 50
# Bookkeeping the retraction page does not show about the record.
_UNSHOWN = {"id", "version", "created_at", "updated_at", "is_demo", "msts_total", "signed_off_by", "signed_off_at"}


class RetractForm(FreeTextFormMixin, forms.Form):
    change_reason = forms.CharField(
        label="Reason for retraction", max_length=500, help_text=REASON_HELP, widget=forms.TextInput
    )

    def __init__(self, *args, dependent_count: int = 0, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if dependent_count:
            noun = "record" if dependent_count == 1 else f"{dependent_count} records"
            self.fields["confirm_dependents"] = forms.BooleanField(
                label=f"I understand that the {noun} listed above {'is' if dependent_count == 1 else 'are'} "
                "retracted with it.",
                error_messages={"required": "Confirm that the records listed above are retracted with it."},
            )
        self.mark_free_text(["change_reason"], ())


@writer_view
def record_retract(request, kind: str, pk: int):
    spec = retraction.KINDS.get(kind)
    if spec is None:
        raise Http404("No such kind of record.")
    record = get_object_or_404(spec.visible(request.user), pk=pk)
    patient = retraction.patient_of(record)
    groups = retraction.dependents(record)
    form = RetractForm(request.POST or None, dependent_count=sum(g.count for g in groups))
    if request.method == "POST" and form.is_valid():
        message = retraction.retracted_message(record)  # before the record is gone
        try:
            retraction.retract(user=request.user, kind=kind, record=record, reason=form.cleaned_data["change_reason"])
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, message)
            return redirect(_after_retraction(record, patient))
    context = {
        "form": form,
        "kind": kind,
        "record": record,
        "record_label": record._meta.verbose_name,
        "summary": _summary(record),
        "patient": patient,
        "groups": groups,
    }
    return render(request, "quality/retract.html", context)


def _after_retraction(record, patient) -> str:
    if isinstance(record, Patient):
        return reverse("patient_list")
    return f"{reverse('patient_detail', args=[patient.pk])}#retracted"


def _summary(record) -> list[tuple[str, str]]:
    """(label, value) of the record's own fields, as the edit page names them."""
    rows = []
    for field in record._meta.concrete_fields:
        if field.name in _UNSHOWN or (field.is_relation and field.related_model is not Site):
            continue
        value = getattr(record, field.name)
        text = str(value) if isinstance(value, Site) else display_value(type(record), field.name, value)
        rows.append((field.verbose_name[:1].upper() + field.verbose_name[1:], text))
    if hasattr(record, "procedure"):
        procedure = record.procedure
        rows.insert(0, ("Procedure", f"{procedure.date:%Y-%m-%d} · {procedure.get_treatment_display()}"))
    return rows


@writer_view
def retracted_patients(request):
    """Patients retracted from the user's sites, newest first, each with a link to its history."""
    rows = retracted_patients_of(readable_site_ids(request.user))
    sites = Site.objects.in_bulk({row.site_id for row in rows})
    entries = [(row, sites.get(row.site_id)) for row in rows]
    page = Paginator(entries, RETRACTED_PATIENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "quality/retracted_patients.html", {"page": page})


def retracted_record_history(request, *, model, children, pk: int):
    """The history page of a retracted record, from the audit events: readable by those who could read
    the record (its patient's site as of the patient's last event among the user's sites), else 404.

    ``record_history`` calls it (after its own gate) when the record is not among those the user
    sees; a record that still exists is then another site's (404).
    """
    if model.objects.filter(pk=pk).exists():
        raise Http404("No such record among those you may see.")
    owner = owner_of(model, pk)
    visible = readable_site_ids(request.user)
    if owner is None or (visible is not None and owner.site_id not in visible):
        raise Http404("No such record among those you may see.")
    patient = Patient(pk=owner.patient_id, study_id=owner.study_id, site_id=owner.site_id)
    phi_access_record(request=request, action=PhiAccess.Action.VIEW_HISTORY, patient=patient)
    entries = record_history_entries(model(pk=pk), children=children)
    context = {
        "record": f"{pk} (retracted)",
        "record_pk": pk,
        "kind": model._meta.verbose_name,
        "entries": entries,
        "patient": patient,
        "patient_retracted": not Patient.objects.filter(pk=owner.patient_id).exists(),
        "retracted": True,
    }
    return render(request, "quality/history.html", context)
