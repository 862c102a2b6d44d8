"""Times finding patients by part of an MRN or study id, and the "new patient" page's duplicate check.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_registry .venv/bin/python bench/patient_search.py

search: the patient list's queries for a registry admin (every site) searching ``term``: the count and
the first page of 25, newest first (registry.selectors.patient_list_for, ordered as the list page
orders by default); through the indexes of registry migration 0008, and with bitmap scans turned off
(GIN indexes are read only through bitmap scans, so this is the same query without them).

duplicates: registry.selectors.possible_duplicates for a new patient at the largest site.

Prints a Markdown table of medians (milliseconds) and the plan of one search. Reads only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, F  # noqa: E402

from registry import selectors  # noqa: E402
from registry.models import Patient  # noqa: E402

PAGE = 25


def median_ms(call, repeat: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def list_page(user, term: str):
    patients = selectors.patient_list_for(user, q=term)
    count = patients.count()
    rows = list(patients.order_by(F("created_at").desc(nulls_last=True), "study_id")[:PAGE])
    return count, rows


def without_bitmap_scans(call):
    def run():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            return call()

    return run


def plan(user, term: str) -> str:
    patients = selectors.patient_list_for(user, q=term).order_by(F("created_at").desc(nulls_last=True), "study_id")
    sql, params = patients[:PAGE].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    admin = User(username="bench", is_superuser=True, is_active=True)  # never saved: reads only
    sample = Patient.objects.order_by("pk")[Patient.objects.count() // 2]
    mrn, study_id = sample.mrn, sample.study_id
    terms = {
        "part of an MRN (7 characters)": mrn[-7:].lower(),
        "start of an MRN": mrn[:6].lower(),
        "part of a study id": study_id[-5:],
        "4 digits (many matches)": mrn[-4:],
        "2 characters": mrn[-2:],
        "no match": "qqq-zz",
    }
    print(f"{Patient.objects.count():,} patients; {selectors.sites_visible_to(admin).count()} sites\n")
    print("| search | matches | with the indexes (ms) | without (ms) |")
    print("|---|---:|---:|---:|")
    for label, term in terms.items():
        count, _rows = list_page(admin, term)
        indexed = median_ms(lambda term=term: list_page(admin, term), args.repeat)
        plain = median_ms(without_bitmap_scans(lambda term=term: list_page(admin, term)), args.repeat)
        print(f"| {label} (`{term}`) | {count:,} | {indexed:.1f} | {plain:.1f} |")

    largest = Patient.objects.values("site").annotate(n=Count("id")).order_by("-n").first()
    site = selectors.Site.objects.get(pk=largest["site"])
    other = Patient.objects.filter(site=site).order_by("pk").first()

    def duplicates():
        return selectors.possible_duplicates(
            site=site, mrn=other.mrn[:-1] + "x", birth_date=other.birth_date, sex=other.sex
        )

    found = duplicates()
    print(
        f"\nPossible duplicates at a site of {largest['n']:,} patients: {len(found)} found, "
        f"{median_ms(duplicates, args.repeat):.1f} ms (median)\n"
    )
    print("Plan of the search for part of an MRN (first page):\n")
    print("```")
    print(plan(admin, terms["part of an MRN (7 characters)"]))
    print("```")


if __name__ == "__main__":
    main()
