"""One source for each vocabulary: the MSTS score in outcomes/msts.py; treatments, fracture statuses
(the strata) and the age rule in registry/vocabulary.py. Everything else imports them, and pages and
scripts read them from what the server renders.

The search below fails when a telltale copy of those definitions comes back in an app module, a
template or a script (tests, migrations and docs are not searched). Each pattern matches only a
definition or a formula, never a use of the names.
"""

import re
from pathlib import Path

import pytest
from psycopg import sql

from analysis import charts, dashboard, selectors, stats
from outcomes import msts
from registry import vocabulary
from registry.tests.test_vocabulary import AGE_EDGES

ROOT = Path(__file__).resolve().parent.parent
APPS = ("core", "registry", "outcomes", "analysis", "demo", "config")
HOMES = {Path("outcomes/msts.py"), Path("registry/vocabulary.py")}

TELLTALES = {
    "the MSTS domain keys listed in order": re.compile(
        r"""["']pain["'],\s*["']function["'],\s*["']emotional_acceptance"""
    ),
    "an MSTS domain label defined": re.compile(r"""["']emotional_acceptance["'],\s*["']Emotion"""),
    "the MSTS descriptors defined": re.compile(r"""["']msts_pain["']\s*:\s*\{\s*5\s*:"""),
    "the MSTS percent formula": re.compile(r"/\s*\(?\s*(?:30|MSTS_MAX)\s*\)?\s*\*\s*100"),
    "the MSTS maximum in the running total": re.compile(r"""["']\s*/ 30\b|\}\}\s*/ ?30\b"""),
    "a treatment code spelled out as its label in a page": re.compile(
        r"""==\s*["'](?:psfs|sacroplasty)["']\s*%\}\s*(?:PSFS|Sacroplasty)"""
    ),
    "the MSTS domain count in the running total": re.compile(r"\bof 6 domains\b"),
    "the MSTS maximum defined": re.compile(r"^\s*MSTS_MAX\s*=\s*\d", re.MULTILINE),
    "the treatments listed": re.compile(r"""\(\s*["']psfs["'],\s*["']sacroplasty["']\s*\)"""),
    "the strata listed": re.compile(r"""\(\s*["']pathological["'],\s*["']impending["']\s*\)"""),
    # A code beside its label: in a dict, a choice, or a chart style ({"label": ...}).
    "a treatment label defined": re.compile(
        r"""["'](?:psfs|sacroplasty)["']\s*[:,]\s*(?:\{\s*["']label["']\s*:\s*)?["'](?:PSFS|Sacroplasty)"""
    ),
    "a stratum label defined": re.compile(
        r"""["'](?:pathological|impending)["']\s*[:,]\s*["'](?:Pathological|Impending)"""
    ),
}


def searched_files() -> list[Path]:
    """The app modules, templates and scripts, tests, migrations and the two homes left out."""
    files = [path for app in APPS for path in (ROOT / app).rglob("*.py")]
    files += [path for app in APPS for path in (ROOT / app).rglob("*.html")]
    files += list((ROOT / "templates").rglob("*.html")) + list((ROOT / "static").rglob("*.js"))
    return sorted(
        path
        for path in files
        if not {"tests", "migrations"} & set(path.relative_to(ROOT).parts)
        and path.relative_to(ROOT) not in HOMES
        and path.name != "conftest.py"
    )


@pytest.mark.parametrize(
    ("what", "old_copy"),
    [
        ("the MSTS domain keys listed in order", 'DOMAINS = ("pain", "function", "emotional_acceptance", "supports")'),
        ("an MSTS domain label defined", '    ("emotional_acceptance", "Emotion"),'),
        ("the MSTS descriptors defined", '    "msts_pain": {5: "None", 3: "Modest"},'),
        ("the MSTS percent formula", "round(total / 30 * 100, 1)"),
        ("the MSTS percent formula", "(post - pre) / MSTS_MAX * 100"),
        ("the MSTS percent formula", "var percent = (Math.round((total / 30) * 1000) / 10).toFixed(1);"),
        ("the MSTS maximum in the running total", 'output.textContent = "Total: " + total + " / 30 (" + percent'),
        ("the MSTS maximum in the running total", "Total: {{ msts_total }} / 30 ({{ msts_percent|percent }})"),
        ("the MSTS maximum in the running total", "{{ obj.msts_total }}/30 ({{ obj.msts_percent|percent }})"),
        (
            "a treatment code spelled out as its label in a page",
            '{% if row.procedure.treatment == "psfs" %}PSFS{% else %}Sacroplasty{% endif %}',
        ),
        ("the MSTS domain count in the running total", "({{ msts_scored }} of 6 domains scored)"),
        ("the MSTS maximum defined", "MSTS_MAX = 30"),
        ("the treatments listed", 'TREATMENTS = ("psfs", "sacroplasty")'),
        ("the strata listed", 'STRATA = ("pathological", "impending")'),
        ("a treatment label defined", 'TREATMENT_LABELS = {"psfs": "PSFS", "sacroplasty": "Sacroplasty"}'),
        ("a treatment label defined", '    "psfs": {"label": "PSFS", "colour": "#1b5e9f"},'),
        ("a treatment label defined", '    PSFS = "psfs", "PSFS (screw fixation with sacroplasty)"'),
        ("a stratum label defined", 'STRATUM_LABELS = {"pathological": "Pathological fractures"}'),
        ("a stratum label defined", '    IMPENDING = "impending", "Impending fracture"'),
    ],
)
def test_each_pattern_finds_the_copies_it_was_written_for(what, old_copy):
    assert TELLTALES[what].search(old_copy)


@pytest.mark.parametrize(
    "use",
    [
        'is_psfs = cohort["treatment"] == PSFS',
        "step = max(30, round(t_max / 6 / 30) * 30)",
        "return None if rate is None else rate * 100",
        'ENCOUNTER_EXAMPLE = {"msts_pain": 4, "msts_function": 3}',
        '"date": date(2018, 1, 8), "treatment": "sacroplasty", "fracture_status": "pathological",',
        "<td>{{ obj.msts_total }}/{{ msts_max }} ({{ obj.msts_percent|percent }})</td>",
        "Score each domain 0-{{ form.msts_domain_max }}. A total needs all six domains.",
    ],
)
def test_no_pattern_finds_a_use(use):
    assert [what for what, pattern in TELLTALES.items() if pattern.search(use)] == []


def test_no_copy_of_a_vocabulary_outside_its_home():
    files = searched_files()
    assert len(files) > 50
    found = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}: {what}"
        for path in files
        for text in [path.read_text()]
        for what, pattern in TELLTALES.items()
        for match in pattern.finditer(text)
    ]
    assert found == [], "Copies of a vocabulary defined in outcomes/msts.py or registry/vocabulary.py:\n" + "\n".join(
        found
    )


def test_the_analysis_uses_the_shared_definitions():
    assert stats.TREATMENTS is vocabulary.TREATMENTS
    assert stats.STRATA is vocabulary.STRATA
    assert stats.DOMAINS is msts.DOMAIN_KEYS
    assert dashboard.TREATMENTS is vocabulary.TREATMENTS and dashboard.STRATA is vocabulary.STRATA
    assert dashboard.TREATMENT_LABELS is vocabulary.TREATMENT_SHORT_LABELS
    assert dashboard.STRATUM_LABELS is vocabulary.STRATUM_LABELS
    assert {code: style["label"] for code, style in charts.TREATMENT_STYLE.items()} == vocabulary.TREATMENT_SHORT_LABELS


@pytest.mark.django_db
def test_the_age_computed_in_the_database_agrees_with_age_years():
    """The cohort query computes ages in SQL (no birth date leaves the database): it must count
    full years as registry.vocabulary.age_years does, birthdays and 29 February included."""
    from django.db import connection

    rows = sql.SQL(", ").join(sql.SQL("({}::date, {}::date)").format(birth, day) for birth, day, _ in AGE_EDGES)
    query = sql.SQL("SELECT {} FROM (VALUES {}) AS edge (birth, day)").format(
        selectors.age_years_sql(sql.Identifier("day"), sql.Identifier("birth")), rows
    )
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection))
        computed = [age for (age,) in cursor.fetchall()]

    assert computed == [vocabulary.age_years(birth, day) for birth, day, _ in AGE_EDGES]
    assert computed == [years for _, _, years in AGE_EDGES]
