from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, F, Q, When

from outcomes import msts
from outcomes.schedule import SCHEDULE
from registry.models import Procedure, VersionedModel, audited, validate_not_future

# The MSTS vocabulary is defined in outcomes.msts; these names stay importable from here:
# the field names, and (field name, stats-document key, label) of each domain in order.
MSTS_FIELDS = msts.MSTS_FIELDS
MSTS_DOMAINS = [(domain.field, domain.key, domain.label) for domain in msts.DOMAINS]
_MSTS_LABELS = {domain.field: domain.label for domain in msts.DOMAINS}


def _msts_field(field: str):
    return models.PositiveSmallIntegerField(
        _MSTS_LABELS[field],
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(msts.DOMAIN_MAX)],
    )


# Plausibility limit (contract: "Plausibility limits"): a hard one, refused everywhere.
MME_MAX = 5000


class EncounterKind(models.TextChoices):
    BASELINE = "baseline", "Baseline (pre-operative)"
    FOLLOWUP = "followup", "Follow-up"


class NarcoticChange(models.TextChoices):
    DECREASED = "decreased", "Decreased"
    STABLE = "stable", "Stable"
    INCREASED = "increased", "Increased"


class SecondaryProcedureKind(models.TextChoices):
    SI_JOINT_INJECTION = "si_joint_injection", "Sacroiliac joint steroid injection"
    RADIATION = "radiation", "Radiotherapy"
    NEUROLYSIS = "neurolysis", "Neurolysis"
    REPEAT_SACROPLASTY = "repeat_sacroplasty", "Repeat sacroplasty"
    HARDWARE_REMOVAL = "hardware_removal", "Hardware removal"
    REVISION_FIXATION = "revision_fixation", "Revision fixation"
    OTHER = "other", "Other"


class ComplicationKind(models.TextChoices):
    SCREW_BACKOUT = "screw_backout", "Screw back-out"
    CEMENT_EXTRAVASATION = "cement_extravasation", "Cement extravasation"
    RADICULOPATHY = "radiculopathy", "Radiculopathy"
    INFECTION = "infection", "Infection"
    OTHER = "other", "Other"


# The windows of outcomes.schedule.SCHEDULE (keys and labels), for records naming one: read from
# the schedule, the one place they are defined.
ScheduledVisit = models.TextChoices(
    "ScheduledVisit", [(visit.key.upper(), (visit.key, visit.label)) for visit in SCHEDULE]
)


class NotDoneReason(models.TextChoices):
    DECLINED = "declined", "Declined"
    TOO_ILL = "too_ill", "Too ill"
    DECEASED = "deceased", "Deceased"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", "Lost to follow-up"
    WITHDRAWN = "withdrawn", "Withdrawn"
    OTHER = "other", "Other"


_ALL_SCORED = Q(**{f"{field}__isnull": False for field in MSTS_FIELDS})


def _count(number: int, noun: str, plural: str = "") -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def _after_death(records, death_date, noun: str) -> list[str]:
    """The sentence refusing a death before the latest of ``records`` dated after it (registry.consistency)."""
    last = records.filter(date__gt=death_date).order_by("-date").values_list("date", flat=True).first()
    return [f"Date of death cannot be before {noun} of this patient ({last:%Y-%m-%d})."] if last else []


@audited
class Encounter(VersionedModel):
    """One visit: the baseline assessment before the procedure or a follow-up after it."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="encounters")
    date = models.DateField(validators=[validate_not_future])
    kind = models.CharField(max_length=8, choices=EncounterKind.choices)
    msts_pain = _msts_field("msts_pain")
    msts_function = _msts_field("msts_function")
    msts_emotional_acceptance = _msts_field("msts_emotional_acceptance")
    msts_supports = _msts_field("msts_supports")
    msts_walking = _msts_field("msts_walking")
    msts_gait = _msts_field("msts_gait")
    # The database computes the total, so no path can store one that disagrees with its domains.
    msts_total = models.GeneratedField(
        expression=Case(
            When(_ALL_SCORED, then=sum((F(field) for field in MSTS_FIELDS[1:]), F(MSTS_FIELDS[0]))),
            default=None,
            output_field=models.PositiveSmallIntegerField(),
        ),
        output_field=models.PositiveSmallIntegerField(null=True),
        db_persist=True,
    )
    narcotic_change = models.CharField(
        max_length=16,
        choices=NarcoticChange.choices,
        null=True,
        blank=True,
        help_text="Follow-ups only: narcotic use compared with before the procedure.",
    )
    opioid_mme_per_day = models.DecimalField(
        "opioid dose (MME/day)",
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[
            MinValueValidator(0),
            MaxValueValidator(MME_MAX, message="Opioid dose cannot be more than 5,000 MME/day."),
        ],
        help_text="Oral morphine milligram equivalents per day.",
    )

    class Meta:
        ordering = ["date", "id"]
        indexes = [
            # The analysis selector and the timeline read encounters per procedure by date.
            models.Index(fields=["procedure", "date"], name="encounter_procedure_date"),
        ]
        constraints = [
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{field}__isnull": True})
                    | Q(**{f"{field}__gte": 0, f"{field}__lte": msts.DOMAIN_MAX}),
                    name=f"encounter_{field}_0_5",
                )
                for field in MSTS_FIELDS
            ],
            models.CheckConstraint(
                condition=Q(opioid_mme_per_day__isnull=True) | Q(opioid_mme_per_day__gte=0),
                name="encounter_mme_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(opioid_mme_per_day__isnull=True) | Q(opioid_mme_per_day__lte=MME_MAX),
                name="encounter_mme_at_most_5000",
            ),
            models.CheckConstraint(
                condition=Q(kind=EncounterKind.FOLLOWUP) | Q(narcotic_change__isnull=True),
                name="encounter_narcotic_change_followup_only",
            ),
            models.UniqueConstraint(
                fields=["procedure"],
                condition=Q(kind=EncounterKind.BASELINE),
                name="encounter_one_baseline_per_procedure",
                violation_error_message="This procedure already has a baseline encounter.",
            ),
        ]

    def __str__(self):
        return f"{self.procedure.patient} {self.get_kind_display()} {self.date}"

    # For the pages: "18/30 (60.0%)" reads the maximum from here, not from a second copy.
    msts_max = msts.MSTS_MAX

    @property
    def msts_percent(self) -> float | None:
        return msts.msts_percent(self.computed_msts_total)

    @property
    def computed_msts_total(self) -> int | None:
        """The total of the six domains (before the row is saved too); None unless all are scored."""
        scores = [getattr(self, field) for field in MSTS_FIELDS]
        return None if any(score is None for score in scores) else sum(scores)

    def clean(self):
        errors = {}
        procedure_date = self.procedure.date if self.procedure_id else None
        if self.date and procedure_date:
            if self.kind == EncounterKind.BASELINE and self.date > procedure_date:
                errors["date"] = "A baseline encounter must be on or before the procedure date."
            if self.kind == EncounterKind.FOLLOWUP and self.date <= procedure_date:
                errors["date"] = "A follow-up encounter must be after the procedure date."
        if self.kind == EncounterKind.BASELINE and self.narcotic_change:
            errors["narcotic_change"] = "Narcotic change is recorded at follow-ups only."
        if errors:
            raise ValidationError(errors)

    @classmethod
    def procedure_date_errors(cls, procedure) -> list[str]:
        """Why ``procedure``'s (new) date no longer fits its encounters: the registry asks every
        record that hangs on a procedure before it saves a moved one."""
        encounters = cls.objects.filter(procedure=procedure)
        if encounters.filter(kind=EncounterKind.BASELINE, date__gt=procedure.date).exists():
            return ["The baseline encounter of this procedure would fall after it."]
        if encounters.filter(kind=EncounterKind.FOLLOWUP, date__lte=procedure.date).exists():
            return ["A follow-up encounter of this procedure would fall on or before it."]
        return []

    @classmethod
    def death_date_errors(cls, patient, death_date) -> list[str]:
        """Why the patient cannot have died on ``death_date``: a visit after it (registry asks)."""
        encounters = cls.objects.filter(procedure__patient=patient)
        return [
            *_after_death(encounters.filter(kind=EncounterKind.BASELINE), death_date, "a baseline encounter"),
            *_after_death(encounters.filter(kind=EncounterKind.FOLLOWUP), death_date, "a follow-up"),
        ]

    @classmethod
    def analysis_counts(cls, procedure) -> list[str]:
        """The visits of ``procedure`` the analysis reads while it is the index procedure (registry asks)."""
        counts = dict(
            cls.objects.filter(procedure=procedure).values_list("kind").annotate(n=models.Count("id")).order_by()
        )
        return [
            _count(counts[kind], noun)
            for kind, noun in ((EncounterKind.FOLLOWUP, "follow-up"), (EncounterKind.BASELINE, "baseline"))
            if counts.get(kind)
        ]


class _AfterIndexEvent(VersionedModel):
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="+")
    date = models.DateField(validators=[validate_not_future])

    noun = "event"  # how the messages name one of these records

    class Meta:
        abstract = True
        ordering = ["date", "id"]

    def clean(self):
        if self.date and self.procedure_id and self.date <= self.procedure.date:
            raise ValidationError({"date": "The date must be after the procedure date."})

    @classmethod
    def procedure_date_errors(cls, procedure) -> list[str]:
        """Why ``procedure``'s (new) date no longer fits these events (see Encounter's)."""
        if cls.objects.filter(procedure=procedure, date__lte=procedure.date).exists():
            return ["A secondary procedure or complication of this procedure would fall on or before it."]
        return []

    @classmethod
    def death_date_errors(cls, patient, death_date) -> list[str]:
        """Why the patient cannot have died on ``death_date``: one of these after it (registry asks)."""
        return _after_death(cls.objects.filter(procedure__patient=patient), death_date, f"a {cls.noun}")

    @classmethod
    def analysis_counts(cls, procedure) -> list[str]:
        """These records of ``procedure``, which the analysis reads while it is the index procedure."""
        number = cls.objects.filter(procedure=procedure).count()
        return [_count(number, cls.noun)] if number else []


@audited
class SecondaryProcedure(_AfterIndexEvent):
    """A later procedure for unresolved pain or hardware problems after the index procedure."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="secondary_procedures")
    kind = models.CharField(max_length=24, choices=SecondaryProcedureKind.choices)
    reason = models.TextField(blank=True)

    noun = "secondary procedure"

    class Meta(_AfterIndexEvent.Meta):
        pass

    def __str__(self):
        return f"{self.get_kind_display()} {self.date}"


@audited
class Complication(_AfterIndexEvent):
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="complications")
    kind = models.CharField(max_length=24, choices=ComplicationKind.choices)
    description = models.TextField(blank=True)
    resolved = models.BooleanField(default=False)

    noun = "complication"

    class Meta(_AfterIndexEvent.Meta):
        pass

    def __str__(self):
        return f"{self.get_kind_display()} {self.date}"

    def clean(self):
        errors = {}
        try:
            super().clean()
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if self.kind == ComplicationKind.OTHER and not (self.description or "").strip():
            errors["description"] = ["Describe the complication when its kind is 'other'."]
        if errors:
            raise ValidationError(errors)


@audited
class VisitNotDone(VersionedModel):
    """A scheduled follow-up visit that will not take place, and why (contract: "Visit not done")."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="visits_not_done")
    visit = models.CharField(max_length=8, choices=ScheduledVisit.choices)
    reason = models.CharField(max_length=24, choices=NotDoneReason.choices)
    note = models.TextField(blank=True, help_text="Required when the reason is 'other'.")

    class Meta:
        ordering = ["procedure", "visit"]
        verbose_name = "visit not done"
        verbose_name_plural = "visits not done"
        constraints = [
            models.UniqueConstraint(
                fields=["procedure", "visit"],
                name="visit_not_done_one_per_visit",
                violation_error_message="This visit is already recorded as not done.",
            ),
            models.CheckConstraint(
                condition=~Q(reason=NotDoneReason.OTHER) | ~Q(note=""),
                name="visit_not_done_other_has_note",
            ),
        ]

    def __str__(self):
        return f"{self.procedure.patient} {self.get_visit_display()} not done"

    def clean(self):
        if self.reason == NotDoneReason.OTHER and not (self.note or "").strip():
            raise ValidationError({"note": "Say why the visit was not done when the reason is 'other'."})

    @classmethod
    def procedure_date_errors(cls, procedure) -> list[str]:
        """A visit not done names its window, not a date: a moved procedure moves it along."""
        return []

    @classmethod
    def analysis_counts(cls, procedure) -> list[str]:
        """The visits of ``procedure`` recorded as not done, which the completeness statistic reads."""
        number = cls.objects.filter(procedure=procedure).count()
        return [_count(number, "visit not done", "visits not done")] if number else []
