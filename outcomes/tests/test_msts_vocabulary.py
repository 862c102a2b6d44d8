"""The MSTS vocabulary is defined once (outcomes.msts) and every user reads that definition: the model,
the form and its page (the running total's script reads the page), the API, the exports, the
statistics and the dashboard."""

import datetime
import re

import pytest
from django.urls import reverse

from analysis import dashboard, selectors, stats
from outcomes import msts
from outcomes.api import EncounterSerializer, EncounterWriteSerializer
from outcomes.exports import DEIDENTIFIED_COLUMNS, IDENTIFIED_COLUMNS
from outcomes.forms import EncounterForm
from outcomes.models import MSTS_FIELDS, Encounter
from registry.tests.factories import PatientFactory, ProcedureFactory

# The score as published (Enneking 1993) and as docs/reference.md, "MSTS score", orders it.
DOMAINS = [
    ("msts_pain", "pain", "Pain", "Pain"),
    ("msts_function", "function", "Function", "Function"),
    ("msts_emotional_acceptance", "emotional_acceptance", "Emotional acceptance", "Emotion"),
    ("msts_supports", "supports", "Use of supports", "Supports"),
    ("msts_walking", "walking", "Walking ability", "Walking"),
    ("msts_gait", "gait", "Gait", "Gait"),
]


def test_the_domains_their_order_and_labels():
    assert [(d.field, d.key, d.label, d.short_label) for d in msts.DOMAINS] == DOMAINS
    assert tuple(field for field, *_ in DOMAINS) == msts.MSTS_FIELDS
    assert tuple(key for _, key, *_ in DOMAINS) == msts.DOMAIN_KEYS
    assert msts.DOMAIN_COUNT == 6
    assert msts.DOMAINS[0].descriptors == {
        5: "None",
        3: "Modest, non-disabling",
        1: "Moderate, disabling",
        0: "Severe, disabling",
    }
    assert all(set(d.descriptors) == {0, 1, 3, 5} for d in msts.DOMAINS)


def test_the_maximum_and_the_percent_formula():
    assert (msts.DOMAIN_MAX, msts.MSTS_MAX) == (5, 30)
    assert msts.TOTAL_LABEL == "Total (0-30)"
    assert [msts.msts_percent(total) for total in (0, 1, 10, 15, 20, 29, 30)] == [
        0.0,
        3.3,
        33.3,
        50.0,
        66.7,
        96.7,
        100.0,
    ]
    assert msts.msts_percent(None) is None
    assert msts.msts_percent_exact(10) == 10 / 30 * 100


def test_the_model_the_api_and_the_exports_read_it():
    assert MSTS_FIELDS == msts.MSTS_FIELDS
    for domain in msts.DOMAINS:
        field = Encounter._meta.get_field(domain.field)
        assert field.verbose_name == domain.label
        assert [v.limit_value for v in field.validators if v.code in ("min_value", "max_value")] == [0, 5]
    scores = dict(zip(msts.MSTS_FIELDS, (5, 4, 3, 2, 1, 0), strict=True))
    assert Encounter(**scores).msts_percent == msts.msts_percent(15) == 50.0
    assert Encounter.msts_max == msts.MSTS_MAX

    assert [name for name in EncounterSerializer.Meta.fields if name in msts.MSTS_FIELDS] == list(msts.MSTS_FIELDS)
    write = EncounterWriteSerializer().fields
    assert write["msts_emotional_acceptance"].help_text == "MSTS emotional acceptance, 0-5."
    assert write["msts_gait"].max_value == 5
    assert EncounterSerializer().fields["msts_percent"].help_text == "msts_total / 30 * 100, one decimal."
    for columns in (IDENTIFIED_COLUMNS, DEIDENTIFIED_COLUMNS):
        start = columns.index("msts_pain")
        assert columns[start : start + 8] == [*msts.MSTS_FIELDS, "msts_total", "msts_percent"]


def test_the_statistics_and_the_dashboard_read_it():
    assert stats.DOMAINS == msts.DOMAIN_KEYS
    assert ("total", *msts.DOMAIN_KEYS) == stats.MEASURES
    assert {"total": "msts_total", **dict(zip(msts.DOMAIN_KEYS, msts.MSTS_FIELDS))} == selectors.MEASURE_COLUMNS
    assert [("total", "Total (0-30)"), *((key, label) for _, key, label, _ in DOMAINS)] == dashboard.MEASURES
    assert [(key, short) for _, key, _, short in DOMAINS] == dashboard.SHORT_DOMAIN_LABELS


def test_the_form_scores_each_domain_on_its_scale():
    form = EncounterForm()
    assert [bound.name for bound in form.msts_fields()] == list(msts.MSTS_FIELDS)
    pain = form.fields["msts_pain"]
    assert pain.label == "Pain"
    assert [value for value, _ in pain.choices] == ["0", "1", "2", "3", "4", "5", ""]
    assert dict(pain.choices)["4"] == "in between"
    filled = EncounterForm(data=dict.fromkeys(msts.MSTS_FIELDS, "5") | {"msts_gait": "0"})
    assert filled.running_total() == (25, 83.3, 6)
    assert EncounterForm(data={"msts_pain": "3"}).running_total() == (None, None, 1)


@pytest.mark.django_db
def test_the_page_gives_its_script_the_maximum_and_the_domain_count(client, personas, site_a):
    procedure = ProcedureFactory(patient=PatientFactory(site=site_a), date=datetime.date(2024, 1, 10))
    client.force_login(personas["alice"])

    page = client.get(reverse("encounter_create", args=[procedure.pk])).content.decode()

    output = re.search(r"<p class=\"msts-total\"[^>]*>", page).group(0)
    assert f'data-msts-max="{msts.MSTS_MAX}"' in output
    assert f'data-msts-domains="{msts.DOMAIN_COUNT}"' in output
    assert "Total: not defined (0 of 6 domains scored)" in page
    assert "Score each domain 0-5." in page
    assert page.count('type="radio" name="msts_pain"') == msts.DOMAIN_MAX + 2  # 0-5 and "not scored"
