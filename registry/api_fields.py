"""Fields of the patient resource's serializers (registry/api.py): the investigators' age and
follow-up status day count, and a site named by its code."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.deidentify import INVESTIGATORS_ONLY, days_between
from core.rest import Text
from registry.models import Site
from registry.vocabulary import AGE_CAP, age_label

STATUS_DATE_HELP = (
    "When the patient withdrew or was lost to follow-up: required unless `status` is `active`, empty when it is; "
    "not in the future, not before birth nor after death. Absent for investigators: `status_days_from_index` instead."
)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 0, "maximum": AGE_CAP - 1},
            {"type": "string", "enum": ["90+"]},
        ],
        "nullable": True,
        "readOnly": True,
        "description": 'Age in full years at the index (first) procedure; "90+" from 90 on (HIPAA Safe Harbor); '
        "null before any procedure.",
    }
)
class AgeField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(read_only=True, source="*", **kwargs)

    def to_representation(self, patient):
        return age_label(patient.birth_date, getattr(patient, "index_date", None))


class StatusDaysFromIndexField(serializers.IntegerField):
    """The follow-up status date as days from the index procedure (investigators' view)."""

    def __init__(self):
        super().__init__(
            source="*",
            required=False,
            allow_null=True,
            help_text=f"{INVESTIGATORS_ONLY}: days from the index procedure to `status_date` (withdrawal or "
            "loss to follow-up); null while active or without a procedure.",
        )

    def to_representation(self, patient):
        return days_between(patient.index_date, patient.status_date)


class SiteCodeField(serializers.SlugRelatedField):
    """A site by its code, in any case (``mcw`` is MCW); the code is checked as text before it
    reaches the database."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", queryset=Site.objects.all(), help_text="Site code.", **kwargs)

    def to_internal_value(self, data):
        code = Text(max_length=16).run_validation(data)
        site = self.get_queryset().filter(code__iexact=code).first()
        if site is None:
            self.fail("does_not_exist", slug_name=self.slug_field, value=code)
        return site


class SignedOffField(serializers.BooleanField):
    """Whether a registry admin signed the procedure off as complete (``registry.sign_off``)."""

    def __init__(self):
        super().__init__(
            source="*",
            read_only=True,
            help_text="Signed off as complete by a registry admin: the procedure and every record of it refuse "
            "changes (400) until unlocked. Every role sees it.",
        )

    def to_representation(self, procedure):
        return procedure.signed_off_at is not None


def signed_off_at_field() -> serializers.DateTimeField:
    return serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When it was signed off; null when not. Absent for investigators."
    )
