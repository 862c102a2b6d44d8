"""Staff accounts in the admin: one screen creates a login with its role and sites, the list shows
each account's role, sites and whether failed logins have locked it, and one action unlocks it.

Accounts are created through ``registry.services.staff_user_create`` (audited like every write).
"""

from axes.models import AccessAttempt
from axes.utils import reset as reset_failed_logins
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from registry import services
from registry.choices import Role
from registry.models import Site

User = get_user_model()
SITES_REQUIRED = "A clinician belongs to at least one site."


class StaffUserCreationForm(AdminUserCreationForm):
    """Username, password, role and sites on one screen."""

    role = forms.ChoiceField(choices=Role.choices, help_text="What the account may do in the registry.")
    sites = forms.ModelMultipleChoiceField(
        queryset=Site.objects.order_by("code"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The sites whose patients a clinician sees and records (investigators and admins: all).",
    )

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Every registry account signs in with a password.
        self.fields.pop("usable_password", None)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("role") == Role.CLINICIAN and not cleaned.get("sites"):
            self.add_error("sites", SITES_REQUIRED)
        return cleaned


class LockedFilter(admin.SimpleListFilter):
    title = "locked by failed logins"
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return [("yes", "Locked"), ("no", "Not locked")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(locked=self.value() == "yes")
        return queryset


# Replaces django.contrib.auth's registration (its app is loaded before this one).
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    add_form = StaffUserCreationForm
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "password1", "password2")}),
        ("Registry", {"fields": ("role", "sites")}),
    )
    list_display = ["username", "role", "site_codes", "is_active", "locked", "last_login"]
    list_filter = ["staff__role", "staff__sites", "is_active", LockedFilter]
    search_fields = ["username"]
    ordering = ["username"]
    actions = ["unlock_accounts"]

    readonly_fields = ["registry_access"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return ((None, {"fields": ("registry_access",)}), *fieldsets)

    @admin.display(description="registry role and sites")
    def registry_access(self, user):
        staff = getattr(user, "staff", None)
        if staff is None:
            return "No registry role."
        url = reverse("admin:registry_staffprofile_change", args=[staff.pk])
        return format_html(
            '{} at {} (<a href="{}">change the role or sites</a>)', self.role(user), self.site_codes(user), url
        )

    def get_queryset(self, request):
        cutoff = timezone.now() - settings.AXES_COOLOFF_TIME
        locked = AccessAttempt.objects.filter(
            username=OuterRef("username"),
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
            attempt_time__gte=cutoff,
        )
        return (
            super()
            .get_queryset(request)
            .select_related("staff")
            .prefetch_related("staff__sites")
            .annotate(locked=Exists(locked))
        )

    @admin.display(description="role", ordering="staff__role")
    def role(self, user):
        staff = getattr(user, "staff", None)
        return staff.get_role_display() if staff else "—"

    @admin.display(description="sites")
    def site_codes(self, user):
        staff = getattr(user, "staff", None)
        codes = sorted(site.code for site in staff.sites.all()) if staff else []
        return ", ".join(codes) or "—"

    @admin.display(description="locked", boolean=True, ordering="locked")
    def locked(self, user):
        return user.locked

    @admin.action(description="Unlock the selected accounts (clear their failed logins)")
    def unlock_accounts(self, request, queryset):
        unlocked = []
        for user in queryset:
            if reset_failed_logins(username=user.username):
                unlocked.append(user.username)
                self.log_change(request, user, "Unlocked: failed-login lockout cleared.")
        if unlocked:
            self.message_user(request, f"Unlocked: {', '.join(unlocked)}.", messages.SUCCESS)
        else:
            self.message_user(request, "None of the selected accounts was locked.", messages.INFO)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        saved = services.staff_user_create(
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password1"],
            role=form.cleaned_data["role"],
            sites=list(form.cleaned_data.get("sites") or []),
        )
        obj.pk = saved.pk
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)
