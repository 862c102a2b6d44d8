"""The pages that sign off a patient's index procedure as complete and unlock it again
(``registry.sign_off``): registry admins only; the timeline holds their forms, these pages take
the posts and show what went wrong."""

from django import forms
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from core.writes import REASON_MAX_LENGTH
from registry import sign_off
from registry.permissions import is_admin, staff_view
from registry.selectors import procedures_visible_to


class _ServiceErrorsForm(forms.Form):
    def add_service_errors(self, error: ValidationError) -> None:
        for field, errors in error.message_dict.items():
            self.add_error(field if field in self.fields and field != NON_FIELD_ERRORS else None, errors)


class SignOffForm(_ServiceErrorsForm):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Re-entered to confirm that you sign off this record yourself.",
    )


class UnlockForm(_ServiceErrorsForm):
    change_reason = forms.CharField(
        label="Reason to unlock",
        max_length=REASON_MAX_LENGTH,
        help_text="Why the record must change again (kept in the audit trail).",
    )


def _admin_page(view):
    @staff_view
    def wrapper(request, pk: int):
        if not is_admin(request.user):
            raise PermissionDenied(sign_off.ADMINS_ONLY)
        procedure = get_object_or_404(procedures_visible_to(request.user).select_related("patient"), pk=pk)
        return view(request, procedure)

    return wrapper


def _page(request, procedure, form, *, call, title: str, explanation: str, button: str, done: str):
    if request.method == "POST" and form.is_valid():
        try:
            call(form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, done)
            return redirect(f"{reverse('patient_detail', args=[procedure.patient_id])}#procedure-{procedure.pk}")
    context = {
        "form": form,
        "procedure": procedure,
        "patient": procedure.patient,
        "title": title,
        "explanation": explanation,
        "button": button,
    }
    return render(request, "registry/sign_off_form.html", context, status=400 if form.errors else 200)


@_admin_page
def procedure_sign_off(request, procedure):
    return _page(
        request,
        procedure,
        SignOffForm(request.POST or None),
        call=lambda data: sign_off.procedure_sign_off(
            user=request.user, procedure=procedure, password=data["password"]
        ),
        title=f"Sign off {procedure.patient.study_id}",
        explanation="Signing off declares the patient's index procedure and its follow-ups complete: "
        "they are locked against every change until a registry admin unlocks them with a reason.",
        button="Sign off",
        done="Signed off as complete.",
    )


@_admin_page
def procedure_unlock(request, procedure):
    return _page(
        request,
        procedure,
        UnlockForm(request.POST or None),
        call=lambda data: sign_off.procedure_unlock(
            user=request.user, procedure=procedure, reason=data["change_reason"]
        ),
        title=f"Unlock {procedure.patient.study_id}",
        explanation="Unlocking lets the index procedure and its follow-ups be changed again; "
        "the reason is kept in the audit trail.",
        button="Unlock",
        done="Unlocked: the record can be changed again.",
    )
