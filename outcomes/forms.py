"""Forms of encounters (with the MSTS score), secondary procedures, complications and visits not done."""

from django import forms

from outcomes.models import Complication, Encounter, SecondaryProcedure, VisitNotDone
from outcomes.msts import DOMAIN_COUNT, DOMAIN_MAX, DOMAINS, MSTS_FIELDS, MSTS_MAX, incomplete_warnings, msts_percent
from registry.forms import DateInput, ServiceForm

NOT_SCORED = ""


def msts_choices(descriptors: dict[int, str]) -> list[tuple[str, str]]:
    """Scores 0-5 with the descriptors of the odd scores (and 0); 4 and 2 are the in-between values.

    A last choice leaves the domain unscored (the total is then undefined).
    """
    return [
        *[(str(score), descriptors.get(score, "in between")) for score in range(DOMAIN_MAX + 1)],
        (NOT_SCORED, "Not scored"),
    ]


class EncounterForm(ServiceForm):
    # For the page: the scale of a domain, the total's maximum and the domain count (the running
    # total's script reads the last two from the page).
    msts_domain_max = DOMAIN_MAX
    msts_max = MSTS_MAX
    msts_domain_count = DOMAIN_COUNT

    class Meta:
        model = Encounter
        fields = ["date", "kind", *MSTS_FIELDS, "narcotic_change", "opioid_mme_per_day"]
        widgets = {
            "date": DateInput,
            "kind": forms.RadioSelect(attrs={"data-encounter-kind": ""}),
            "narcotic_change": forms.RadioSelect,
        }
        labels = {"opioid_mme_per_day": "Opioid dose (MME per day, optional)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for domain in DOMAINS:
            self.fields[domain.field] = forms.TypedChoiceField(
                label=domain.label,
                choices=msts_choices(domain.descriptors),
                coerce=int,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect(attrs={"data-msts-domain": domain.field}),
            )
        self.fields["kind"].choices = [c for c in self.fields["kind"].choices if c[0]]
        self.fields["narcotic_change"].choices = [("", "Not recorded"), *self.fields["narcotic_change"].choices[1:]]
        self.fields["narcotic_change"].label = "Narcotic use compared with before the procedure"
        self.fields["narcotic_change"].required = False

    def record_data(self) -> dict:
        data = super().record_data()
        data["narcotic_change"] = data.get("narcotic_change") or None
        return data

    def msts_fields(self):
        return [self[field] for field in MSTS_FIELDS]

    def incomplete_msts_warnings(self) -> list[str]:
        """The page's question about a partly scored MSTS (outcomes.msts.incomplete_warnings), asked of
        a new encounter, or of an edit that changes a score."""
        if self.editing and not set(self.changed_data) & set(MSTS_FIELDS):
            return []
        return incomplete_warnings({field: self.cleaned_data.get(field) for field in MSTS_FIELDS})

    def running_total(self) -> tuple[int | None, float | None, int]:
        """Total, percent and number of domains scored, from what the form holds (server-side first paint)."""
        scores = []
        for field in MSTS_FIELDS:
            value = self[field].value()
            if value not in (None, NOT_SCORED):
                try:
                    scores.append(int(value))
                except (TypeError, ValueError):
                    continue
        if len(scores) < DOMAIN_COUNT:
            return None, None, len(scores)
        total = sum(scores)
        return total, msts_percent(total), len(scores)


class SecondaryProcedureForm(ServiceForm):
    class Meta:
        model = SecondaryProcedure
        fields = ["date", "kind", "reason"]
        widgets = {"date": DateInput, "reason": forms.Textarea(attrs={"rows": 3})}
        labels = {"reason": "Clinical reason"}

    free_text_fields = ("reason",)


class ComplicationForm(ServiceForm):
    class Meta:
        model = Complication
        fields = ["date", "kind", "description", "resolved"]
        widgets = {"date": DateInput, "description": forms.Textarea(attrs={"rows": 3})}

    free_text_fields = ("description",)


class VisitNotDoneForm(ServiceForm):
    class Meta:
        model = VisitNotDone
        fields = ["visit", "reason", "note"]
        widgets = {"reason": forms.RadioSelect, "note": forms.Textarea(attrs={"rows": 3})}
        labels = {"visit": "Scheduled visit", "reason": "Why it was not done"}

    free_text_fields = ("note",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [c for c in self.fields["reason"].choices if c[0]]
