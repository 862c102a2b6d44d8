"""Forms of encounters (with the MSTS score), secondary procedures and complications."""

from django import forms

from outcomes.models import MSTS_DESCRIPTORS, MSTS_DOMAINS, Complication, Encounter, SecondaryProcedure
from registry.forms import DateInput, ServiceForm

NOT_SCORED = ""


def msts_choices(field: str) -> list[tuple[str, str]]:
    """Scores 0-5 with the descriptors of the odd scores (and 0); 4 and 2 are the in-between values.

    A last choice leaves the domain unscored (the total is then undefined).
    """
    descriptors = MSTS_DESCRIPTORS[field]
    return [*[(str(score), descriptors.get(score, "in between")) for score in range(6)], (NOT_SCORED, "Not scored")]


class EncounterForm(ServiceForm):
    class Meta:
        model = Encounter
        fields = ["date", "kind", *[field for field, _, _ in MSTS_DOMAINS], "narcotic_change", "opioid_mme_per_day"]
        widgets = {
            "date": DateInput,
            "kind": forms.RadioSelect(attrs={"data-encounter-kind": ""}),
            "narcotic_change": forms.RadioSelect,
        }
        labels = {"opioid_mme_per_day": "Opioid dose (MME per day, optional)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field, _, label in MSTS_DOMAINS:
            self.fields[field] = forms.TypedChoiceField(
                label=label,
                choices=msts_choices(field),
                coerce=int,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect(attrs={"data-msts-domain": field}),
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
        return [self[field] for field, _, _ in MSTS_DOMAINS]

    def running_total(self) -> tuple[int | None, float | None, int]:
        """Total, percent and number of domains scored, from what the form holds (server-side first paint)."""
        scores = []
        for field, _, _ in MSTS_DOMAINS:
            value = self[field].value()
            if value not in (None, NOT_SCORED):
                try:
                    scores.append(int(value))
                except (TypeError, ValueError):
                    continue
        if len(scores) < len(MSTS_DOMAINS):
            return None, None, len(scores)
        total = sum(scores)
        return total, round(total / 30 * 100, 1), len(scores)


class SecondaryProcedureForm(ServiceForm):
    class Meta:
        model = SecondaryProcedure
        fields = ["date", "kind", "reason"]
        widgets = {"date": DateInput, "reason": forms.Textarea(attrs={"rows": 3})}
        labels = {"reason": "Clinical reason"}


class ComplicationForm(ServiceForm):
    class Meta:
        model = Complication
        fields = ["date", "kind", "description", "resolved"]
        widgets = {"date": DateInput, "description": forms.Textarea(attrs={"rows": 3})}
