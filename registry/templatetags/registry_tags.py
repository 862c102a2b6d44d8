"""Template helpers of the staff pages: de-identified dates and ages, MSTS display, treatment names,
lockout minutes."""

import datetime

from django import template
from django.conf import settings
from django.utils import timezone

from registry.choices import Indication
from registry.vocabulary import TREATMENT_SHORT_LABELS, age_label

register = template.Library()


@register.simple_tag(takes_context=True)
def when(context, day: datetime.date | None) -> str:
    """A date for users who may see PHI; for investigators, days relative to the index procedure."""
    if day is None:
        return "—"
    if context.get("phi"):
        return day.isoformat()
    index = context.get("index_date")
    if index is None:
        return "date withheld"
    return f"day {(day - index).days:+d}"


@register.simple_tag
def deidentified_age(patient, index_date: datetime.date | None = None) -> str:
    """Age in full years at the index procedure (today when there is none), '90+' from 90 on."""
    return str(age_label(patient.birth_date, index_date or timezone.localdate()))


@register.filter
def treatment_short(code: str | None) -> str:
    """The short name of a treatment code ("PSFS", "Sacroplasty"), as the tables show it; "—" without one."""
    return TREATMENT_SHORT_LABELS.get(code or "", "—")


@register.filter
def indication_labels(procedure) -> str:
    """A procedure's indications as the form words them, in the form's order; "—" without any."""
    chosen = set(procedure.indications or [])
    return ", ".join(str(label) for value, label in Indication.choices if value in chosen) or "—"


@register.filter
def minutes(delta) -> int:
    """Whole minutes of a timedelta (the lockout cool-off)."""
    return int(delta.total_seconds() // 60) if delta else 0


@register.filter
def percent(value) -> str:
    return "—" if value is None else f"{value:.1f}%"


@register.simple_tag
def role_of(user) -> str:
    """The registry role of ``user`` ("clinician", "investigator", "admin") or ""."""
    from registry.permissions import user_role

    return user_role(user) or ""


@register.simple_tag
def idle_minutes() -> int:
    """Minutes without a person's action after which a session ends (SESSION_IDLE_SECONDS)."""
    return settings.SESSION_IDLE_SECONDS // 60


@register.simple_tag
def lockout_minutes() -> int:
    """Minutes a lockout after failed logins lasts (LOGIN_LOCKOUT_MINUTES)."""
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
