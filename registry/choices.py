"""Codes of the REST contract (docs/contract.md), with their labels.

The values are fixed by the REST contract: other systems store them.
"""

from django.db import models

from registry import vocabulary


class Sex(models.TextChoices):
    MALE = "male", "Male"
    FEMALE = "female", "Female"


class PrimaryCancer(models.TextChoices):
    MULTIPLE_MYELOMA = "multiple_myeloma", "Multiple myeloma"
    RENAL = "renal", "Renal"
    LIVER = "liver", "Liver"
    BREAST = "breast", "Breast"
    LUNG = "lung", "Lung"
    PROSTATE = "prostate", "Prostate"
    LYMPHOMA = "lymphoma", "Lymphoma"
    PANCREATIC = "pancreatic", "Pancreatic"
    OTHER = "other", "Other"


# Treatments and fracture statuses are shared with the pure statistics: their codes and labels are
# defined in registry.vocabulary (tests pin that these choices list them all, in its order).
class Treatment(models.TextChoices):
    PSFS = vocabulary.PSFS, vocabulary.TREATMENT_LABELS[vocabulary.PSFS]
    SACROPLASTY = vocabulary.SACROPLASTY, vocabulary.TREATMENT_LABELS[vocabulary.SACROPLASTY]


class FractureStatus(models.TextChoices):
    PATHOLOGICAL = vocabulary.PATHOLOGICAL, vocabulary.FRACTURE_STATUS_LABELS[vocabulary.PATHOLOGICAL]
    IMPENDING = vocabulary.IMPENDING, vocabulary.FRACTURE_STATUS_LABELS[vocabulary.IMPENDING]


class Ablation(models.TextChoices):
    NONE = "none", "None"
    RFA = "rfa", "Radiofrequency (RFA)"
    CRYO = "cryo", "Cryoablation"
    MICROWAVE = "microwave", "Microwave (MWA)"


class Service(models.TextChoices):
    ORTHOPAEDICS = "orthopaedics", "Orthopaedics"
    INTERVENTIONAL_RADIOLOGY = "interventional_radiology", "Interventional radiology"


class Approach(models.TextChoices):
    POSTERIOR = "posterior", "Posterior-to-anterior"
    TRANSILIAC = "transiliac", "Trans-sacroiliac"
    COMBINED = "combined", "Combined"


class Indication(models.TextChoices):
    DESTRUCTIVE_LESION = "destructive_lesion", "Large destructive lesion"
    PAIN_DESPITE_RADIATION = "pain_despite_radiation", "Persistent pain despite radiotherapy"
    MECHANICAL_PAIN = "mechanical_pain", "Mechanical pain limiting ambulation"


class Corridor(models.TextChoices):
    S1 = "S1", "S1"
    S2 = "S2", "S2"


class Trajectory(models.TextChoices):
    ILIOSACRAL = "iliosacral", "Ilio-sacral"
    TRANSSACRAL = "transsacral", "Transiliac-transsacral"


class Side(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"


class Role(models.TextChoices):
    CLINICIAN = "clinician", "Clinician"
    INVESTIGATOR = "investigator", "Investigator"
    ADMIN = "admin", "Registry admin"


class PatientStatus(models.TextChoices):
    """Follow-up status (contract: "Patient follow-up status")."""

    ACTIVE = "active", "Active"
    WITHDRAWN = "withdrawn", "Withdrawn"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", "Lost to follow-up"
