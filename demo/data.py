"""SYNTHETIC demo cohort for the sacral-metastasis registry.

These 30 records are invented: they describe no real patient and hold no data taken
from one. They were built so that the registry analysis reproduces the published
results of Cox EP, Tutton S, Scheidt M, et al., "Sacroplasty with or without screw
fixation for sacral metastatic tumors", Front. Oncol. 2025;15:1494377, Tables 1-3:
group sizes, demographics, mean pre/post MSTS totals and domains, improvement
mean and SD, narcotic use, secondary procedures and the ANCOVA conclusions.

MSTS tuples are (pain, function, emotional_acceptance, supports, walking, gait), each 0-5.
"days" are relative to the index procedure date. The baseline is the pre-operative
assessment; the last follow-up is the final post-operative encounter.
"""

from datetime import date

# fmt: off
PATIENTS = [
    {
        "key": 1, "sex": "female", "birth_date": date(1965, 9, 4), "death_date": None,
        "primary_cancer": "breast", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2018, 1, 8), "treatment": "sacroplasty", "fracture_status": "pathological",
            "ablation": "none", "prior_local_radiation": True, "service": "interventional_radiology",
            "cement_volume_ml": "7.5", "approach": "posterior", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -9, "msts": (1, 2, 1, 3, 3, 4), "mme": "40"},
        "followups": [
            {"days": 13, "msts": (1, 3, 1, 3, 3, 4), "narcotic_change": "stable", "mme": "40"},
            {"days": 30, "msts": (1, 4, 2, 3, 4, 4), "narcotic_change": "increased", "mme": "50"},
            {"days": 96, "msts": (1, 4, 2, 3, 4, 4), "narcotic_change": "increased", "mme": "50"},
            {"days": 150, "msts": (1, 4, 2, 3, 4, 4), "narcotic_change": "increased", "mme": "60"},
        ],
        "secondary_procedures": [
            {
                "days": 100, "kind": "repeat_sacroplasty",
                "reason": "Unresolved pain with residual unfilled lytic cavity; repeat sacroplasty",
            },
        ],
        "complications": [],
    },
    {
        "key": 2, "sex": "female", "birth_date": date(1943, 9, 8), "death_date": None,
        "primary_cancer": "multiple_myeloma", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2018, 4, 7), "treatment": "sacroplasty", "fracture_status": "impending",
            "ablation": "none", "prior_local_radiation": True, "service": "interventional_radiology",
            "cement_volume_ml": "12.0", "approach": "posterior", "indications": [],
            "screws": [],
        },
        "baseline": {"days": 0, "msts": (0, 2, 1, 3, 3, 2), "mme": "60"},
        "followups": [
            {"days": 7, "msts": (2, 2, 3, 3, 3, 2), "narcotic_change": "stable", "mme": "60"},
            {"days": 30, "msts": (3, 2, 3, 4, 3, 2), "narcotic_change": "decreased", "mme": "45"},
            {"days": 100, "msts": (4, 2, 4, 4, 3, 2), "narcotic_change": "decreased", "mme": "35"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 3, "sex": "male", "birth_date": date(1960, 7, 7), "death_date": None,
        "primary_cancer": "liver", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2018, 6, 23), "treatment": "psfs", "fracture_status": "pathological",
            "ablation": "none", "prior_local_radiation": False, "service": "orthopaedics",
            "cement_volume_ml": "8.0", "approach": "combined", "indications": ["destructive_lesion", "mechanical_pain"],
            "screws": [
                {
                    "corridor": "S1", "trajectory": "iliosacral", "side": "left", "diameter_mm": "7.3",
                    "fully_threaded": True,
                },
                {
                    "corridor": "S1", "trajectory": "iliosacral", "side": "right", "diameter_mm": "7.3",
                    "fully_threaded": True,
                },
            ],
        },
        "baseline": {"days": -9, "msts": (0, 3, 0, 2, 3, 4), "mme": "30"},
        "followups": [
            {"days": 9, "msts": (2, 3, 2, 2, 3, 4), "narcotic_change": "stable", "mme": "30"},
            {"days": 33, "msts": (4, 3, 4, 3, 3, 4), "narcotic_change": "stable", "mme": "30"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 4, "sex": "male", "birth_date": date(1946, 2, 6), "death_date": date(2019, 5, 17),
        "primary_cancer": "multiple_myeloma", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2018, 9, 8), "treatment": "sacroplasty", "fracture_status": "pathological",
            "ablation": "none", "prior_local_radiation": True, "service": "interventional_radiology",
            "cement_volume_ml": "5.0", "approach": "posterior", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -8, "msts": (2, 1, 0, 1, 2, 3), "mme": "120"},
        "followups": [
            {"days": 7, "msts": (2, 1, 2, 1, 2, 3), "narcotic_change": "stable", "mme": "120"},
            {"days": 34, "msts": (3, 2, 2, 1, 2, 3), "narcotic_change": "stable", "mme": "120"},
            {"days": 91, "msts": (3, 2, 3, 1, 2, 3), "narcotic_change": "stable", "mme": "120"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 5, "sex": "male", "birth_date": date(1951, 9, 2), "death_date": date(2019, 6, 28),
        "primary_cancer": "lung", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2018, 12, 9), "treatment": "sacroplasty", "fracture_status": "pathological",
            "ablation": "rfa", "prior_local_radiation": False, "service": "interventional_radiology",
            "cement_volume_ml": "5.5", "approach": "posterior", "indications": [],
            "screws": [],
        },
        "baseline": {"days": 0, "msts": (2, 0, 2, 0, 0, 1), "mme": "75"},
        "followups": [
            {"days": 8, "msts": (2, 2, 4, 1, 2, 2), "narcotic_change": "stable", "mme": "75"},
            {"days": 27, "msts": (3, 2, 4, 2, 2, 3), "narcotic_change": "decreased", "mme": "55"},
            {"days": 92, "msts": (3, 3, 5, 2, 3, 3), "narcotic_change": "decreased", "mme": "55"},
            {"days": 126, "msts": (3, 3, 5, 2, 3, 3), "narcotic_change": "decreased", "mme": "37.5"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 6, "sex": "male", "birth_date": date(1956, 2, 28), "death_date": None,
        "primary_cancer": "other", "primary_cancer_detail": "colorectal",
        "procedure": {
            "date": date(2019, 2, 18), "treatment": "sacroplasty", "fracture_status": "pathological",
            "ablation": "rfa", "prior_local_radiation": False, "service": "interventional_radiology",
            "cement_volume_ml": "8.0", "approach": "posterior", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -8, "msts": (2, 2, 2, 1, 2, 3), "mme": "30"},
        "followups": [
            {"days": 7, "msts": (4, 2, 2, 1, 2, 3), "narcotic_change": "stable", "mme": "30"},
            {"days": 29, "msts": (4, 3, 3, 2, 3, 4), "narcotic_change": "stable", "mme": "30"},
            {"days": 93, "msts": (5, 3, 3, 2, 3, 4), "narcotic_change": "stable", "mme": "30"},
        ],
        "secondary_procedures": [],
        "complications": [
            {
                "days": 1, "kind": "cement_extravasation",
                "description": "Asymptomatic presacral cement leak on post-procedure CT; neural foramina spared.",
                "resolved": True,
            },
        ],
    },
    {
        "key": 7, "sex": "male", "birth_date": date(1954, 12, 29), "death_date": None,
        "primary_cancer": "liver", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2019, 5, 21), "treatment": "psfs", "fracture_status": "impending",
            "ablation": "microwave", "prior_local_radiation": False, "service": "orthopaedics",
            "cement_volume_ml": "6.5", "approach": "transiliac",
            "indications": ["destructive_lesion", "mechanical_pain"],
            "screws": [
                {
                    "corridor": "S1", "trajectory": "iliosacral", "side": "right", "diameter_mm": "7.3",
                    "fully_threaded": True,
                },
            ],
        },
        "baseline": {"days": -4, "msts": (1, 2, 1, 4, 3, 4), "mme": "45"},
        "followups": [
            {"days": 7, "msts": (1, 3, 1, 4, 4, 4), "narcotic_change": "stable", "mme": "45"},
            {"days": 31, "msts": (2, 4, 2, 5, 5, 5), "narcotic_change": "increased", "mme": "55"},
            {"days": 92, "msts": (2, 4, 2, 5, 5, 5), "narcotic_change": "increased", "mme": "67.5"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 8, "sex": "female", "birth_date": date(1956, 8, 24), "death_date": None,
        "primary_cancer": "multiple_myeloma", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2019, 8, 6), "treatment": "psfs", "fracture_status": "pathological",
            "ablation": "none", "prior_local_radiation": True, "service": "orthopaedics",
            "cement_volume_ml": "8.5", "approach": "combined",
            "indications": ["destructive_lesion", "pain_despite_radiation"],
            "screws": [
                {
                    "corridor": "S1", "trajectory": "transsacral", "side": "left", "diameter_mm": "7.3",
                    "fully_threaded": True,
                },
                {
                    "corridor": "S2", "trajectory": "iliosacral", "side": "left", "diameter_mm": "6.5",
                    "fully_threaded": True,
                },
            ],
        },
        "baseline": {"days": -9, "msts": (0, 0, 2, 0, 0, 1), "mme": "30"},
        "followups": [
            {"days": 13, "msts": (2, 1, 3, 1, 2, 3), "narcotic_change": "decreased", "mme": "22.5"},
            {"days": 30, "msts": (3, 2, 4, 2, 2, 3), "narcotic_change": "decreased", "mme": "22.5"},
            {"days": 90, "msts": (4, 2, 4, 2, 3, 4), "narcotic_change": "decreased", "mme": "22.5"},
            {"days": 180, "msts": (4, 2, 4, 2, 3, 4), "narcotic_change": "decreased", "mme": "10"},
        ],
        "secondary_procedures": [],
        "complications": [
            {
                "days": 150, "kind": "screw_backout",
                "description": "S1 trans-sacral screw backed out at 5 months; the screw was removed.", "resolved": True,
            },
        ],
    },
    {
        "key": 9, "sex": "male", "birth_date": date(1948, 12, 2), "death_date": None,
        "primary_cancer": "multiple_myeloma", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2019, 10, 20), "treatment": "sacroplasty", "fracture_status": "impending",
            "ablation": "none", "prior_local_radiation": False, "service": "interventional_radiology",
            "cement_volume_ml": "6.5", "approach": "transiliac", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -9, "msts": (2, 3, 0, 5, 4, 4), "mme": None},
        "followups": [
            {"days": 12, "msts": (4, 4, 2, 5, 4, 4), "narcotic_change": "decreased", "mme": None},
            {"days": 30, "msts": (4, 5, 4, 5, 5, 5), "narcotic_change": "decreased", "mme": None},
            {"days": 98, "msts": (5, 5, 5, 5, 5, 5), "narcotic_change": "decreased", "mme": None},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 10, "sex": "female", "birth_date": date(1948, 3, 8), "death_date": date(2020, 11, 12),
        "primary_cancer": "lung", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2020, 1, 9), "treatment": "sacroplasty", "fracture_status": "impending",
            "ablation": "rfa", "prior_local_radiation": False, "service": "interventional_radiology",
            "cement_volume_ml": "5.0", "approach": "posterior", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -3, "msts": (2, 4, 4, 5, 4, 5), "mme": "180"},
        "followups": [
            {"days": 8, "msts": (4, 4, 4, 5, 4, 5), "narcotic_change": "stable", "mme": "180"},
            {"days": 33, "msts": (4, 5, 5, 5, 4, 5), "narcotic_change": "stable", "mme": "180"},
            {"days": 98, "msts": (5, 5, 5, 5, 4, 5), "narcotic_change": "stable", "mme": "180"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 11, "sex": "female", "birth_date": date(1952, 7, 28), "death_date": None,
        "primary_cancer": "breast", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2020, 4, 1), "treatment": "psfs", "fracture_status": "pathological",
            "ablation": "none", "prior_local_radiation": True, "service": "orthopaedics",
            "cement_volume_ml": "10.0", "approach": "combined",
            "indications": ["destructive_lesion", "pain_despite_radiation", "mechanical_pain"],
            "screws": [
                {
                    "corridor": "S2", "trajectory": "transsacral", "side": "left", "diameter_mm": "7.3",
                    "fully_threaded": True,
                },
            ],
        },
        "baseline": {"days": -10, "msts": (0, 1, 1, 1, 1, 3), "mme": "75"},
        "followups": [
            {"days": 13, "msts": (2, 2, 2, 3, 3, 4), "narcotic_change": "decreased", "mme": "55"},
            {"days": 34, "msts": (2, 3, 3, 3, 3, 5), "narcotic_change": "decreased", "mme": "55"},
            {"days": 98, "msts": (3, 3, 3, 4, 4, 5), "narcotic_change": "decreased", "mme": "30"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 12, "sex": "male", "birth_date": date(1956, 7, 19), "death_date": None,
        "primary_cancer": "liver", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2020, 6, 20), "treatment": "sacroplasty", "fracture_status": "pathological",
            "ablation": "rfa", "prior_local_radiation": False, "service": "orthopaedics",
            "cement_volume_ml": "6.5", "approach": "posterior", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -5, "msts": (0, 1, 1, 1, 1, 2), "mme": "90"},
        "followups": [
            {"days": 9, "msts": (2, 2, 1, 1, 2, 2), "narcotic_change": "stable", "mme": "90"},
            {"days": 35, "msts": (2, 3, 2, 2, 3, 3), "narcotic_change": "decreased", "mme": "67.5"},
            {"days": 95, "msts": (3, 3, 2, 2, 3, 3), "narcotic_change": "decreased", "mme": "30"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 13, "sex": "female", "birth_date": date(1961, 11, 12), "death_date": None,
        "primary_cancer": "renal", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2020, 9, 18), "treatment": "sacroplasty", "fracture_status": "pathological",
            "ablation": "cryo", "prior_local_radiation": False, "service": "interventional_radiology",
            "cement_volume_ml": "9.0", "approach": "posterior", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -9, "msts": (1, 4, 2, 3, 4, 4), "mme": "90"},
        "followups": [
            {"days": 14, "msts": (3, 4, 2, 3, 4, 4), "narcotic_change": "increased", "mme": "112.5"},
            {"days": 26, "msts": (3, 4, 3, 3, 4, 5), "narcotic_change": "stable", "mme": "90"},
            {"days": 89, "msts": (4, 4, 3, 3, 4, 5), "narcotic_change": "stable", "mme": "90"},
        ],
        "secondary_procedures": [
            {"days": 80, "kind": "neurolysis", "reason": "Persistent neuropathic sacral pain; neurolysis"},
        ],
        "complications": [],
    },
    {
        "key": 14, "sex": "female", "birth_date": date(1943, 9, 19), "death_date": None,
        "primary_cancer": "multiple_myeloma", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2020, 11, 27), "treatment": "sacroplasty", "fracture_status": "pathological",
            "ablation": "none", "prior_local_radiation": False, "service": "interventional_radiology",
            "cement_volume_ml": "4.5", "approach": "posterior", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -2, "msts": (0, 0, 2, 0, 1, 2), "mme": "90"},
        "followups": [
            {"days": 9, "msts": (1, 0, 2, 0, 1, 2), "narcotic_change": "stable", "mme": "90"},
            {"days": 31, "msts": (2, 1, 2, 0, 1, 2), "narcotic_change": "increased", "mme": "112.5"},
            {"days": 94, "msts": (2, 1, 2, 0, 1, 2), "narcotic_change": "increased", "mme": "135"},
        ],
        "secondary_procedures": [
            {
                "days": 14, "kind": "radiation",
                "reason": "Persistent sacral pain after sacroplasty; palliative external-beam radiotherapy",
            },
        ],
        "complications": [],
    },
    {
        "key": 15, "sex": "male", "birth_date": date(1952, 5, 31), "death_date": None,
        "primary_cancer": "multiple_myeloma", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2021, 2, 26), "treatment": "sacroplasty", "fracture_status": "pathological",
            "ablation": "none", "prior_local_radiation": False, "service": "interventional_radiology",
            "cement_volume_ml": "10.5", "approach": "transiliac", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -3, "msts": (1, 1, 0, 2, 2, 3), "mme": "90"},
        "followups": [
            {"days": 12, "msts": (1, 3, 2, 2, 2, 3), "narcotic_change": "decreased", "mme": "67.5"},
            {"days": 31, "msts": (2, 3, 2, 3, 3, 4), "narcotic_change": "decreased", "mme": "67.5"},
            {"days": 88, "msts": (2, 4, 3, 3, 3, 4), "narcotic_change": "decreased", "mme": "67.5"},
            {"days": 365, "msts": (2, 4, 3, 3, 3, 4), "narcotic_change": "decreased", "mme": "67.5"},
            {"days": 1111, "msts": (2, 4, 3, 3, 3, 4), "narcotic_change": "decreased", "mme": "35"},
        ],
        "secondary_procedures": [
            {"days": 730, "kind": "radiation", "reason": "Recurrent sacral pain from local progression; radiotherapy"},
        ],
        "complications": [],
    },
    {
        "key": 16, "sex": "female", "birth_date": date(1959, 6, 17), "death_date": None,
        "primary_cancer": "multiple_myeloma", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2021, 5, 13), "treatment": "sacroplasty", "fracture_status": "pathological",
            "ablation": "none", "prior_local_radiation": True, "service": "interventional_radiology",
            "cement_volume_ml": "12.0", "approach": "transiliac", "indications": [],
            "screws": [],
        },
        "baseline": {"days": 0, "msts": (1, 3, 0, 3, 3, 4), "mme": "135"},
        "followups": [
            {"days": 12, "msts": (3, 3, 1, 3, 3, 4), "narcotic_change": "stable", "mme": "135"},
            {"days": 28, "msts": (4, 4, 2, 3, 3, 4), "narcotic_change": "stable", "mme": "135"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 17, "sex": "female", "birth_date": date(1966, 4, 30), "death_date": None,
        "primary_cancer": "renal", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2021, 8, 3), "treatment": "psfs", "fracture_status": "pathological",
            "ablation": "rfa", "prior_local_radiation": False, "service": "orthopaedics",
            "cement_volume_ml": "9.0", "approach": "combined", "indications": ["destructive_lesion", "mechanical_pain"],
            "screws": [
                {
                    "corridor": "S1", "trajectory": "transsacral", "side": "left", "diameter_mm": "7.3",
                    "fully_threaded": True,
                },
                {
                    "corridor": "S2", "trajectory": "transsacral", "side": "left", "diameter_mm": "7.3",
                    "fully_threaded": True,
                },
            ],
        },
        "baseline": {"days": -13, "msts": (0, 0, 0, 0, 1, 2), "mme": "37.5"},
        "followups": [
            {"days": 10, "msts": (2, 2, 2, 2, 3, 4), "narcotic_change": "stable", "mme": "37.5"},
            {"days": 29, "msts": (4, 4, 3, 3, 4, 4), "narcotic_change": "decreased", "mme": "27.5"},
            {"days": 93, "msts": (5, 5, 4, 4, 5, 5), "narcotic_change": "decreased", "mme": "27.5"},
            {"days": 165, "msts": (5, 5, 4, 4, 5, 5), "narcotic_change": "decreased", "mme": "20"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 18, "sex": "female", "birth_date": date(1966, 5, 28), "death_date": None,
        "primary_cancer": "other", "primary_cancer_detail": "thyroid",
        "procedure": {
            "date": date(2021, 10, 21), "treatment": "sacroplasty", "fracture_status": "impending",
            "ablation": "rfa", "prior_local_radiation": False, "service": "orthopaedics",
            "cement_volume_ml": "8.0", "approach": "posterior", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -6, "msts": (2, 3, 2, 4, 4, 5), "mme": "150"},
        "followups": [
            {"days": 13, "msts": (4, 4, 4, 4, 4, 5), "narcotic_change": "decreased", "mme": "112.5"},
            {"days": 33, "msts": (4, 5, 4, 5, 5, 5), "narcotic_change": "decreased", "mme": "112.5"},
            {"days": 97, "msts": (5, 5, 5, 5, 5, 5), "narcotic_change": "decreased", "mme": "90"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 19, "sex": "female", "birth_date": date(1962, 8, 5), "death_date": None,
        "primary_cancer": "multiple_myeloma", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2022, 1, 16), "treatment": "sacroplasty", "fracture_status": "impending",
            "ablation": "none", "prior_local_radiation": False, "service": "interventional_radiology",
            "cement_volume_ml": "3.5", "approach": "posterior", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -11, "msts": (2, 4, 0, 5, 4, 5), "mme": "120"},
        "followups": [
            {"days": 14, "msts": (4, 4, 2, 5, 4, 5), "narcotic_change": "decreased", "mme": "90"},
            {"days": 35, "msts": (5, 4, 5, 5, 5, 5), "narcotic_change": "decreased", "mme": "47.5"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 20, "sex": "male", "birth_date": date(1950, 5, 28), "death_date": None,
        "primary_cancer": "multiple_myeloma", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2022, 3, 28), "treatment": "psfs", "fracture_status": "pathological",
            "ablation": "none", "prior_local_radiation": False, "service": "orthopaedics",
            "cement_volume_ml": "9.5", "approach": "combined", "indications": ["destructive_lesion", "mechanical_pain"],
            "screws": [
                {
                    "corridor": "S1", "trajectory": "transsacral", "side": "right", "diameter_mm": "7.3",
                    "fully_threaded": True,
                },
                {
                    "corridor": "S2", "trajectory": "transsacral", "side": "right", "diameter_mm": "6.5",
                    "fully_threaded": True,
                },
            ],
        },
        "baseline": {"days": -14, "msts": (1, 2, 1, 1, 2, 3), "mme": None},
        "followups": [
            {"days": 8, "msts": (3, 2, 3, 1, 2, 3), "narcotic_change": "stable", "mme": None},
            {"days": 32, "msts": (3, 3, 4, 2, 3, 4), "narcotic_change": "stable", "mme": None},
            {"days": 87, "msts": (4, 3, 5, 2, 3, 4), "narcotic_change": "stable", "mme": None},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 21, "sex": "female", "birth_date": date(1961, 10, 21), "death_date": None,
        "primary_cancer": "breast", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2022, 6, 20), "treatment": "sacroplasty", "fracture_status": "impending",
            "ablation": "none", "prior_local_radiation": True, "service": "interventional_radiology",
            "cement_volume_ml": "10.5", "approach": "posterior", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -10, "msts": (2, 2, 0, 4, 3, 3), "mme": "60"},
        "followups": [
            {"days": 12, "msts": (4, 4, 2, 4, 4, 4), "narcotic_change": "decreased", "mme": "45"},
            {"days": 31, "msts": (4, 4, 4, 5, 5, 5), "narcotic_change": "decreased", "mme": "45"},
            {"days": 90, "msts": (5, 5, 5, 5, 5, 5), "narcotic_change": "decreased", "mme": "45"},
            {"days": 140, "msts": (5, 5, 5, 5, 5, 5), "narcotic_change": "decreased", "mme": "30"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 22, "sex": "male", "birth_date": date(1958, 9, 29), "death_date": date(2023, 4, 22),
        "primary_cancer": "lung", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2022, 9, 18), "treatment": "psfs", "fracture_status": "pathological",
            "ablation": "none", "prior_local_radiation": True, "service": "orthopaedics",
            "cement_volume_ml": "6.5", "approach": "transiliac",
            "indications": ["destructive_lesion", "pain_despite_radiation", "mechanical_pain"],
            "screws": [
                {
                    "corridor": "S1", "trajectory": "transsacral", "side": "left", "diameter_mm": "7.3",
                    "fully_threaded": True,
                },
            ],
        },
        "baseline": {"days": -6, "msts": (0, 3, 0, 2, 3, 4), "mme": "30"},
        "followups": [
            {"days": 14, "msts": (2, 3, 2, 2, 3, 4), "narcotic_change": "stable", "mme": "30"},
            {"days": 35, "msts": (3, 3, 4, 2, 3, 4), "narcotic_change": "stable", "mme": "30"},
            {"days": 96, "msts": (4, 3, 5, 2, 3, 4), "narcotic_change": "stable", "mme": "30"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 23, "sex": "male", "birth_date": date(1956, 4, 5), "death_date": None,
        "primary_cancer": "multiple_myeloma", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2022, 11, 26), "treatment": "sacroplasty", "fracture_status": "pathological",
            "ablation": "none", "prior_local_radiation": True, "service": "interventional_radiology",
            "cement_volume_ml": "14.0", "approach": "combined", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -14, "msts": (0, 2, 0, 1, 2, 2), "mme": None},
        "followups": [
            {"days": 12, "msts": (1, 3, 2, 2, 3, 3), "narcotic_change": "decreased", "mme": None},
            {"days": 33, "msts": (2, 4, 3, 3, 4, 4), "narcotic_change": "decreased", "mme": None},
            {"days": 93, "msts": (2, 4, 4, 3, 4, 4), "narcotic_change": "decreased", "mme": None},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 24, "sex": "male", "birth_date": date(1956, 8, 7), "death_date": None,
        "primary_cancer": "multiple_myeloma", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2023, 2, 15), "treatment": "psfs", "fracture_status": "pathological",
            "ablation": "none", "prior_local_radiation": True, "service": "orthopaedics",
            "cement_volume_ml": "7.5", "approach": "combined",
            "indications": ["destructive_lesion", "pain_despite_radiation"],
            "screws": [
                {
                    "corridor": "S1", "trajectory": "transsacral", "side": "right", "diameter_mm": "8.0",
                    "fully_threaded": True,
                },
            ],
        },
        "baseline": {"days": -9, "msts": (0, 0, 0, 0, 1, 2), "mme": "60"},
        "followups": [
            {"days": 11, "msts": (2, 2, 2, 2, 3, 4), "narcotic_change": "decreased", "mme": "45"},
            {"days": 30, "msts": (2, 4, 4, 3, 3, 4), "narcotic_change": "decreased", "mme": "45"},
            {"days": 88, "msts": (3, 5, 5, 4, 4, 5), "narcotic_change": "decreased", "mme": "45"},
            {"days": 118, "msts": (3, 5, 5, 4, 4, 5), "narcotic_change": "decreased", "mme": "20"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 25, "sex": "female", "birth_date": date(1965, 6, 11), "death_date": None,
        "primary_cancer": "lymphoma", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2023, 5, 7), "treatment": "sacroplasty", "fracture_status": "pathological",
            "ablation": "none", "prior_local_radiation": True, "service": "interventional_radiology",
            "cement_volume_ml": "6.0", "approach": "transiliac", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -5, "msts": (1, 4, 0, 3, 3, 4), "mme": "45"},
        "followups": [
            {"days": 7, "msts": (1, 4, 0, 3, 3, 4), "narcotic_change": "stable", "mme": "45"},
            {"days": 34, "msts": (1, 4, 1, 3, 4, 5), "narcotic_change": "increased", "mme": "55"},
            {"days": 93, "msts": (1, 4, 1, 3, 4, 5), "narcotic_change": "increased", "mme": "67.5"},
        ],
        "secondary_procedures": [
            {
                "days": 48, "kind": "si_joint_injection",
                "reason": "Residual sacroiliac joint pain; SI-joint steroid injection",
            },
        ],
        "complications": [],
    },
    {
        "key": 26, "sex": "male", "birth_date": date(1962, 4, 2), "death_date": None,
        "primary_cancer": "renal", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2023, 7, 29), "treatment": "psfs", "fracture_status": "pathological",
            "ablation": "cryo", "prior_local_radiation": False, "service": "orthopaedics",
            "cement_volume_ml": "11.0", "approach": "transiliac",
            "indications": ["destructive_lesion", "mechanical_pain"],
            "screws": [
                {
                    "corridor": "S1", "trajectory": "iliosacral", "side": "left", "diameter_mm": "6.5",
                    "fully_threaded": True,
                },
                {
                    "corridor": "S1", "trajectory": "iliosacral", "side": "right", "diameter_mm": "6.5",
                    "fully_threaded": True,
                },
                {
                    "corridor": "S2", "trajectory": "iliosacral", "side": "right", "diameter_mm": "6.5",
                    "fully_threaded": True,
                },
            ],
        },
        "baseline": {"days": -8, "msts": (0, 1, 0, 0, 0, 2), "mme": "45"},
        "followups": [
            {"days": 14, "msts": (2, 2, 2, 1, 2, 3), "narcotic_change": "decreased", "mme": "35"},
            {"days": 27, "msts": (3, 3, 3, 2, 2, 4), "narcotic_change": "decreased", "mme": "35"},
            {"days": 86, "msts": (4, 3, 4, 2, 3, 4), "narcotic_change": "decreased", "mme": "27.5"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 27, "sex": "male", "birth_date": date(1953, 12, 7), "death_date": None,
        "primary_cancer": "multiple_myeloma", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2023, 10, 22), "treatment": "psfs", "fracture_status": "impending",
            "ablation": "none", "prior_local_radiation": False, "service": "orthopaedics",
            "cement_volume_ml": "8.0", "approach": "combined", "indications": ["destructive_lesion", "mechanical_pain"],
            "screws": [
                {
                    "corridor": "S1", "trajectory": "transsacral", "side": "left", "diameter_mm": "8.0",
                    "fully_threaded": True,
                },
            ],
        },
        "baseline": {"days": 0, "msts": (0, 0, 0, 4, 3, 2), "mme": "60"},
        "followups": [
            {"days": 11, "msts": (2, 2, 2, 4, 3, 2), "narcotic_change": "decreased", "mme": "45"},
            {"days": 35, "msts": (3, 2, 4, 5, 4, 3), "narcotic_change": "decreased", "mme": "45"},
            {"days": 88, "msts": (4, 3, 5, 5, 4, 3), "narcotic_change": "decreased", "mme": "25"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 28, "sex": "female", "birth_date": date(1959, 6, 23), "death_date": date(2024, 3, 13),
        "primary_cancer": "pancreatic", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2024, 1, 7), "treatment": "sacroplasty", "fracture_status": "pathological",
            "ablation": "rfa", "prior_local_radiation": False, "service": "interventional_radiology",
            "cement_volume_ml": "3.5", "approach": "posterior", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -10, "msts": (0, 2, 2, 3, 3, 4), "mme": "22.5"},
        "followups": [
            {"days": 14, "msts": (3, 4, 4, 3, 3, 4), "narcotic_change": "stable", "mme": "22.5"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
    {
        "key": 29, "sex": "male", "birth_date": date(1944, 12, 28), "death_date": None,
        "primary_cancer": "prostate", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2024, 3, 26), "treatment": "sacroplasty", "fracture_status": "impending",
            "ablation": "none", "prior_local_radiation": True, "service": "interventional_radiology",
            "cement_volume_ml": "9.0", "approach": "transiliac", "indications": [],
            "screws": [],
        },
        "baseline": {"days": -7, "msts": (2, 3, 3, 5, 4, 5), "mme": "60"},
        "followups": [
            {"days": 10, "msts": (4, 3, 4, 5, 4, 5), "narcotic_change": "stable", "mme": "60"},
            {"days": 29, "msts": (4, 4, 5, 5, 5, 5), "narcotic_change": "stable", "mme": "60"},
            {"days": 91, "msts": (5, 4, 5, 5, 5, 5), "narcotic_change": "stable", "mme": "60"},
            {"days": 240, "msts": (5, 4, 5, 5, 5, 5), "narcotic_change": "stable", "mme": "60"},
        ],
        "secondary_procedures": [
            {
                "days": 210, "kind": "si_joint_injection",
                "reason": "Sacroiliac joint pain at 7 months; SI-joint steroid injection",
            },
        ],
        "complications": [],
    },
    {
        "key": 30, "sex": "male", "birth_date": date(1965, 12, 23), "death_date": None,
        "primary_cancer": "multiple_myeloma", "primary_cancer_detail": "",
        "procedure": {
            "date": date(2024, 6, 18), "treatment": "psfs", "fracture_status": "pathological",
            "ablation": "none", "prior_local_radiation": True, "service": "interventional_radiology",
            "cement_volume_ml": "7.0", "approach": "transiliac",
            "indications": ["destructive_lesion", "pain_despite_radiation"],
            "screws": [
                {
                    "corridor": "S1", "trajectory": "iliosacral", "side": "right", "diameter_mm": "8.0",
                    "fully_threaded": True,
                },
            ],
        },
        "baseline": {"days": -1, "msts": (1, 2, 0, 2, 3, 4), "mme": "60"},
        "followups": [
            {"days": 8, "msts": (2, 4, 2, 3, 3, 4), "narcotic_change": "stable", "mme": "60"},
            {"days": 33, "msts": (3, 4, 3, 4, 4, 5), "narcotic_change": "decreased", "mme": "45"},
            {"days": 92, "msts": (3, 5, 4, 4, 4, 5), "narcotic_change": "decreased", "mme": "35"},
        ],
        "secondary_procedures": [],
        "complications": [],
    },
]
# fmt: on
