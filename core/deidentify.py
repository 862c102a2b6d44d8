"""The investigators' view of a record over REST (docs/contract.md, "De-identified view for investigators").

One place turns a record's representation into the de-identified one for users without PHI
rights (the viewsets put the decision, ``registry.permissions.may_see_phi``, in the context):

- every calendar date and timestamp is left out: any date or date-time field of the serializer
  (``date``, ``birth_date``, ``created_at``...), so that a date field added later is left out too;
- the identifiers and free-text fields each serializer names in ``withheld_fields`` are left out;
- a dated record carries ``days_from_index`` instead of its date: days from the patient's index
  procedure (the first by date, then id), negative for a baseline before it;
- a patient carries ``deceased`` and ``days_to_death`` (from the index procedure, or null).

Users with PHI rights get the record unchanged, without these three fields. The view is chosen
by ``phi`` in the serializer context and fails closed: without ``phi=True`` a serializer gives
the de-identified view. The index date comes from an ``index_date`` annotation of the queryset
(``registry.api.index_date_of``, a correlated subquery): no query per row.
"""

from rest_framework import serializers

ABSENT = "Absent for investigators"
INVESTIGATORS_ONLY = "Investigators only (the de-identified view); absent for users who see PHI"
INVESTIGATOR_FIELDS = ("days_from_index", "deceased", "days_to_death", "status_days_from_index")


def days_between(start, end) -> int | None:
    return None if start is None or end is None else (end - start).days


class DaysFromIndexField(serializers.IntegerField):
    """The record's date as days from the index procedure (its serializer's ``dated_field``)."""

    def __init__(self, **kwargs):
        # Not read-only so that the schema shows it optional; read serializers are never written.
        super().__init__(
            source="*",
            required=False,
            help_text=f"{INVESTIGATORS_ONLY}: days from the patient's index (first) procedure, day 0; "
            "negative before it (a baseline).",
            **kwargs,
        )

    def to_representation(self, record):
        return days_between(record.index_date, getattr(record, self.parent.dated_field))


class DeceasedField(serializers.BooleanField):
    def __init__(self):
        super().__init__(source="*", required=False, help_text=f"{INVESTIGATORS_ONLY}: a death is recorded.")

    def to_representation(self, patient):
        return patient.death_date is not None


class DaysToDeathField(serializers.IntegerField):
    def __init__(self):
        super().__init__(
            source="*",
            required=False,
            allow_null=True,
            help_text=f"{INVESTIGATORS_ONLY}: days from the index procedure to death; null when alive or "
            "without a procedure.",
        )

    def to_representation(self, patient):
        return days_between(patient.index_date, patient.death_date)


def date_field(**kwargs) -> serializers.DateField:
    return serializers.DateField(required=False, help_text=f"{ABSENT}: `days_from_index` instead.", **kwargs)


def timestamp_field() -> serializers.DateTimeField:
    return serializers.DateTimeField(required=False, help_text=f"{ABSENT}.")


def free_text_field(help_text: str = "Free text") -> serializers.CharField:
    return serializers.CharField(required=False, help_text=f"{help_text}. {ABSENT}.")


class DeidentifiedMixin:
    """For a read serializer: the de-identified representation unless the context grants PHI.

    ``dated_field`` is the date that ``days_from_index`` replaces (None for a record without one);
    ``withheld_fields`` the identifiers and free text left out besides every date field.
    """

    dated_field: str | None = "date"
    withheld_fields: tuple[str, ...] = ()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if self.context.get("phi") is True:
            for name in INVESTIGATOR_FIELDS:
                data.pop(name, None)
            return data
        for name, field in self.fields.items():
            if name in self.withheld_fields or isinstance(field, serializers.DateField | serializers.DateTimeField):
                data.pop(name, None)
        return data
