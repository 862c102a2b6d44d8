"""Codes of the REST contract (docs/contract.md), with their labels.

The values are fixed by the REST contract: other systems store them.
"""

from django.db import models


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


class Treatment(models.TextChoices):
    PSFS = "psfs", "PSFS (screw fixation with sacroplasty)"
    SACROPLASTY = "sacroplasty", "Sacroplasty alone"


class FractureStatus(models.TextChoices):
    PATHOLOGICAL = "pathological", "Pathological fracture"
    IMPENDING = "impending", "Impending fracture"


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
    TRANSSACRAL = "transsacral", "Trans-sacral"


class Side(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"


class Role(models.TextChoices):
    CLINICIAN = "clinician", "Clinician"
    INVESTIGATOR = "investigator", "Investigator"
    ADMIN = "admin", "Registry admin"
