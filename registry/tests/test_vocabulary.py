"""The shared vocabulary of registry.vocabulary: treatments and fracture statuses (codes fixed by the
REST contract, in the study's order, with their labels), the choices built from them, and the age rule."""

from datetime import date

import pytest

from registry import vocabulary
from registry.choices import FractureStatus, Treatment
from registry.templatetags.registry_tags import treatment_short
from registry.vocabulary import AGE_CAP, age_label, age_years


def test_treatments_in_order_with_their_labels():
    assert vocabulary.TREATMENTS == ("psfs", "sacroplasty")
    assert vocabulary.TREATMENT_LABELS == {
        "psfs": "PSFS (screw fixation with sacroplasty)",
        "sacroplasty": "Sacroplasty alone",
    }
    assert vocabulary.TREATMENT_SHORT_LABELS == {"psfs": "PSFS", "sacroplasty": "Sacroplasty"}
    assert (vocabulary.PSFS, vocabulary.SACROPLASTY) == vocabulary.TREATMENTS


def test_strata_in_order_with_their_labels():
    assert vocabulary.STRATA == ("pathological", "impending")
    assert vocabulary.FRACTURE_STATUS_LABELS == {
        "pathological": "Pathological fracture",
        "impending": "Impending fracture",
    }
    assert vocabulary.STRATUM_LABELS == {
        "pathological": "Pathological fractures",
        "impending": "Impending fractures",
    }
    assert (vocabulary.PATHOLOGICAL, vocabulary.IMPENDING) == vocabulary.STRATA


def test_the_choices_are_the_vocabulary():
    assert Treatment.choices == [(code, vocabulary.TREATMENT_LABELS[code]) for code in vocabulary.TREATMENTS]
    assert FractureStatus.choices == [(code, vocabulary.FRACTURE_STATUS_LABELS[code]) for code in vocabulary.STRATA]
    assert Treatment.PSFS == "psfs" and Treatment.PSFS.label == "PSFS (screw fixation with sacroplasty)"
    assert FractureStatus.IMPENDING == "impending" and FractureStatus.IMPENDING.label == "Impending fracture"


def test_the_short_treatment_name_of_the_pages():
    assert [treatment_short(code) for code in ("psfs", "sacroplasty", "", None)] == ["PSFS", "Sacroplasty", "—", "—"]


# (birth date, day, full years): the day before a birthday, the birthday, and 29 February births
# (whose birthday in a common year comes on 1 March).
AGE_EDGES = [
    (date(1960, 5, 17), date(2024, 5, 16), 63),
    (date(1960, 5, 17), date(2024, 5, 17), 64),
    (date(1960, 5, 17), date(2024, 5, 18), 64),
    (date(1960, 12, 31), date(2024, 1, 1), 63),
    (date(2000, 2, 29), date(2023, 2, 28), 22),
    (date(2000, 2, 29), date(2023, 3, 1), 23),
    (date(2000, 2, 29), date(2024, 2, 28), 23),
    (date(2000, 2, 29), date(2024, 2, 29), 24),
    (date(1999, 3, 1), date(2024, 2, 29), 24),
    (date(1999, 3, 1), date(2024, 3, 1), 25),
    (date(2024, 1, 10), date(2024, 1, 10), 0),
]


@pytest.mark.parametrize(("birth", "day", "years"), AGE_EDGES)
def test_age_in_full_years_on_the_edge_dates(birth, day, years):
    assert age_years(birth, day) == years


def test_the_age_label_caps_at_90():
    assert AGE_CAP == 90
    assert age_label(date(1934, 5, 17), date(2024, 5, 16)) == 89
    assert age_label(date(1934, 5, 17), date(2024, 5, 17)) == "90+"
    assert age_label(None, date(2024, 5, 17)) is None
    assert age_label(date(1934, 5, 17), None) is None
