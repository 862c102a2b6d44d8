import datetime

import pghistory
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from registry.choices import (
    Ablation,
    Approach,
    Corridor,
    FractureStatus,
    Indication,
    PatientStatus,
    PrimaryCancer,
    Role,
    Service,
    Sex,
    Side,
    Trajectory,
    Treatment,
)
from registry.mrn import normalise_mrn
from registry.plausibility import procedure_age_errors
from registry.vocabulary import age_years

# Plausibility limits (contract: "Plausibility limits"): hard ones, refused everywhere.
EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)
CEMENT_VOLUME_MAX_ML = 100

STUDY_ID_SEQUENCE = "registry_study_number_seq"
STUDY_ID_PREFIX = "SAC-"


def audited(model):
    """Records every insert, update and delete of ``model`` through PostgreSQL triggers.

    Triggers catch every path (services, admin, bulk updates, raw SQL); the event
    tables are append-only (PGHISTORY_APPEND_ONLY).
    """
    return pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())(model)


def validate_not_future(value: datetime.date) -> None:
    if value > timezone.localdate():
        raise ValidationError("Date cannot be in the future.", code="future_date")


class VersionedModel(models.Model):
    """Clinical records carry a version, raised by each update, so a stale edit can be refused."""

    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def normalise_site_code(code: str) -> str:
    """Site codes are stored upper-case without surrounding space, so a code matches in any case."""
    return code.strip().upper()


@audited
class Site(models.Model):
    code = models.CharField(
        max_length=16,
        unique=True,
        help_text="Short unique code, e.g. MCW.",
    )
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code

    def clean(self):
        # Before the uniqueness check (full_clean runs clean() first), so "sitea" is SITEA's duplicate.
        self.code = normalise_site_code(self.code or "")


@audited
class StaffProfile(models.Model):
    """A user's role in the registry and the sites whose patients they may see."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(max_length=16, choices=Role.choices)
    sites = models.ManyToManyField(Site, blank=True, related_name="staff")

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"


# Who may see which patients is audited like the patients themselves: a user's membership of a
# site (the rows of the sites relation) and the account flags and groups that give rights.
# Proxies, so the triggers of tables this app does not own are installed by its migrations.


class StaffSiteMembership(StaffProfile.sites.through):
    class Meta:
        proxy = True


class AuditedUser(User):
    class Meta:
        proxy = True


class AuditedUserGroup(User.groups.through):
    class Meta:
        proxy = True


pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent(), model_name="StaffSiteMembershipEvent")(
    StaffSiteMembership
)
pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),  # only when one of the fields below changes, not at each login
    pghistory.DeleteEvent(),
    fields=["username", "is_active", "is_staff", "is_superuser"],
    model_name="UserAccountEvent",
)(AuditedUser)
pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent(), model_name="UserGroupEvent")(AuditedUserGroup)


@audited
class Patient(VersionedModel):
    study_id = models.CharField(max_length=16, unique=True, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=32)
    birth_date = models.DateField(
        validators=[
            validate_not_future,
            MinValueValidator(EARLIEST_BIRTH_DATE, message="Date of birth cannot be before 1900-01-01."),
        ]
    )
    sex = models.CharField(max_length=8, choices=Sex.choices)
    primary_cancer = models.CharField(max_length=24, choices=PrimaryCancer.choices)
    primary_cancer_detail = models.CharField(max_length=200, blank=True)
    death_date = models.DateField(null=True, blank=True, validators=[validate_not_future])
    status = models.CharField(
        "follow-up status", max_length=24, choices=PatientStatus.choices, default=PatientStatus.ACTIVE
    )
    status_date = models.DateField(
        "status since",
        null=True,
        blank=True,
        validators=[validate_not_future],
        help_text="When the patient withdrew or was lost to follow-up.",
    )
    is_demo = models.BooleanField(
        default=False,
        editable=False,
        help_text="Synthetic demo patient loaded by seed_demo; never a real person.",
    )

    class Meta:
        ordering = ["study_id"]
        constraints = [
            # MRNs are stored normalised (registry.mrn.normalise_mrn); case does not make a new one.
            models.UniqueConstraint(Lower("mrn"), "site", name="patient_unique_site_mrn_ci"),
            models.CheckConstraint(
                condition=(Q(status=PatientStatus.ACTIVE) & Q(status_date__isnull=True))
                | (~Q(status=PatientStatus.ACTIVE) & Q(status_date__isnull=False)),
                name="patient_status_date_with_status",
            ),
            models.CheckConstraint(condition=Q(birth_date__gte=EARLIEST_BIRTH_DATE), name="patient_birth_from_1900"),
            models.CheckConstraint(
                condition=Q(death_date__isnull=True) | Q(death_date__gte=models.F("birth_date")),
                name="patient_death_not_before_birth",
            ),
            models.CheckConstraint(
                condition=~Q(primary_cancer=PrimaryCancer.OTHER) | ~Q(primary_cancer_detail=""),
                name="patient_other_cancer_has_detail",
            ),
        ]

    def __str__(self):
        return self.study_id

    def clean(self):
        errors = {}
        typed, self.mrn = self.mrn, normalise_mrn(self.mrn)
        if typed and not self.mrn:
            errors["mrn"] = "This field cannot be blank."
        if self.status != PatientStatus.ACTIVE and not self.status_date:
            errors["status_date"] = "Give the date the patient withdrew or was lost to follow-up."
        elif self.status == PatientStatus.ACTIVE and self.status_date:
            errors["status_date"] = "An active patient has no status date; leave it empty."
        if self.status_date and self.birth_date and self.status_date < self.birth_date:
            errors["status_date"] = "The status date cannot be before the date of birth."
        if self.primary_cancer == PrimaryCancer.OTHER and not self.primary_cancer_detail.strip():
            errors["primary_cancer_detail"] = "Describe the primary cancer when it is 'other'."
        if self.death_date and self.birth_date and self.death_date < self.birth_date:
            errors["death_date"] = "Date of death cannot be before the date of birth."
        if errors:
            raise ValidationError(errors)

    def age_on(self, day: datetime.date) -> int:
        """Full years of age on ``day``."""
        return age_years(self.birth_date, day)


@audited
class Procedure(VersionedModel):
    """A sacral treatment; the patient's first one by date is the index procedure."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="procedures")
    date = models.DateField(validators=[validate_not_future])
    treatment = models.CharField(max_length=16, choices=Treatment.choices)
    fracture_status = models.CharField(max_length=16, choices=FractureStatus.choices)
    ablation = models.CharField(max_length=16, choices=Ablation.choices, default=Ablation.NONE)
    prior_local_radiation = models.BooleanField(
        default=False, help_text="Local radiotherapy to the sacrum before this procedure."
    )
    service = models.CharField(max_length=32, choices=Service.choices)
    cement_volume_ml = models.DecimalField(
        "cement volume (ml)",
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[
            MinValueValidator(0),
            MaxValueValidator(CEMENT_VOLUME_MAX_ML, message="Cement volume cannot be more than 100 ml."),
        ],
    )
    approach = models.CharField(max_length=16, choices=Approach.choices, null=True, blank=True)
    indications = ArrayField(
        models.CharField(max_length=32, choices=Indication.choices),
        default=list,
        blank=True,
    )
    # Record sign-off (a registry admin declares the index procedure and its follow-ups complete);
    # a signed-off procedure and every record hanging on it are locked until unlocked with a reason.
    signed_off_at = models.DateTimeField(null=True, blank=True, editable=False)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="+"
    )

    class Meta:
        ordering = ["date", "id"]
        indexes = [
            # Finding each patient's index (first) procedure for the analysis and timeline.
            models.Index(fields=["patient", "date", "id"], name="procedure_patient_date"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(cement_volume_ml__isnull=True) | Q(cement_volume_ml__gte=0),
                name="procedure_cement_volume_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(cement_volume_ml__isnull=True) | Q(cement_volume_ml__lte=CEMENT_VOLUME_MAX_ML),
                name="procedure_cement_volume_at_most_100",
            ),
            models.CheckConstraint(
                condition=Q(indications__contained_by=Indication.values),
                name="procedure_indications_known",
            ),
        ]

    def __str__(self):
        return f"{self.patient} {self.get_treatment_display()} {self.date}"

    def clean(self):
        repeated = sorted({code for code in self.indications or [] if self.indications.count(code) > 1})
        if repeated:
            raise ValidationError({"indications": f"Each indication is given once; repeated: {', '.join(repeated)}."})
        if self.date and self.patient_id and self.patient.birth_date and self.date < self.patient.birth_date:
            raise ValidationError({"date": "Procedure date cannot be before the patient's date of birth."})
        if self.date and self.patient_id and self.patient.death_date and self.date > self.patient.death_date:
            raise ValidationError({"date": "Procedure date cannot be after the patient's date of death."})
        if self.patient_id and self.date and self.date <= timezone.localdate():  # a future date is its own error
            # Contract "Plausibility limits": 0-110 years old at any procedure.
            errors = procedure_age_errors(self.patient.birth_date, self.date)
            if errors:
                raise ValidationError(errors)


@audited
class Screw(models.Model):
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="screws")
    corridor = models.CharField(max_length=2, choices=Corridor.choices)
    trajectory = models.CharField(max_length=16, choices=Trajectory.choices)
    side = models.CharField(
        max_length=8,
        choices=Side.choices,
        help_text="The side of entry; a transiliac-transsacral screw records the side it enters from.",
    )
    diameter_mm = models.DecimalField("diameter (mm)", max_digits=3, decimal_places=1)
    length_mm = models.DecimalField("length (mm)", max_digits=4, decimal_places=1, null=True, blank=True)
    fully_threaded = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(diameter_mm__gt=0) & Q(diameter_mm__lte=12),
                name="screw_diameter_range",
            ),
            models.CheckConstraint(
                condition=Q(length_mm__isnull=True) | (Q(length_mm__gt=0) & Q(length_mm__lte=250)),
                name="screw_length_range",
            ),
        ]

    def __str__(self):
        return f"{self.corridor} {self.get_trajectory_display()} {self.side} {self.diameter_mm} mm"

    def clean(self):
        if self.diameter_mm is not None and not (0 < self.diameter_mm <= 12):
            raise ValidationError({"diameter_mm": "Screw diameter must be more than 0 and at most 12 mm."})
        if self.length_mm is not None and not (0 < self.length_mm <= 250):
            raise ValidationError({"length_mm": "Screw length must be more than 0 and at most 250 mm."})


class PhiAccess(models.Model):
    """Who read or exported identified patient data, when, and from where (HIPAA, Part 11).

    Append-only: the application's database role may insert and read rows, never change or remove
    them (grant_app_role). The user and the patient are kept by id with a copy of their name, so a
    row outlives a deleted account or patient. Written by ``registry.access_log.phi_access_record``.
    """

    class Action(models.TextChoices):
        VIEW_PATIENT = "view_patient", "Patient page viewed"
        VIEW_HISTORY = "view_history", "Audit history viewed"
        EXPORT_IDENTIFIED = "export_identified", "Identified export"
        API_READ = "api_read", "API read of identified patients"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    username = models.CharField(max_length=150)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=24, choices=Action.choices)
    patient_id = models.IntegerField(null=True, blank=True, db_index=True)
    study_id = models.CharField(max_length=16, blank=True)
    what = models.CharField(max_length=300, blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)

    append_only = True  # grant_app_role: the app role may insert and read, never change or remove

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "PHI access"
        verbose_name_plural = "PHI accesses"

    def __str__(self):
        return f"{self.username} {self.action} {self.study_id or self.what} {self.at:%Y-%m-%d %H:%M}"


# API tokens live in their own module (hashed, expiring, revocable: registry/tokens.py).
from registry.tokens import ApiToken  # noqa: E402, F401
