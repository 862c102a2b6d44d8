"""Times the statistics refresh next to its floor, measured in the same run on the same database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_registry .venv/bin/python bench/refresh.py --repeat 5

refresh: ``analysis.services.stats_refresh()`` as the Celery task runs it: one fetch, the
stats document of the registry and of every site, fingerprints, storing the snapshots.

floor: what any implementation must pay: the same columns fetched by one raw SQL
query (the selector's query, streamed by COPY), the same OLS fits on numpy arrays
(statsmodels, 7 measures x 2 strata, for the registry and for every site) and the same
mixed-model fits of the MSTS trajectory (statsmodels MixedLM on arrays, REML, for each
stratum of each scope small enough for the refresh to fit it), nothing else.

Both are reported as wall-clock time and as CPU time (this process plus its PostgreSQL
backend, read from /proc): on a shared machine the CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import statsmodels.api as sm  # noqa: E402
from django.db import connection  # noqa: E402
from statsmodels.regression.mixed_linear_model import MixedLM  # noqa: E402

from analysis import selectors, services  # noqa: E402
from analysis.cohort_extras import MIXED_MODEL_MAX_PATIENTS, visit_matrix  # noqa: E402
from analysis.stats import MEASURES, STRATA  # noqa: E402
from analysis.trajectory import DAYS_PER_MONTH  # noqa: E402
from registry.models import Site  # noqa: E402

FIT_COLUMNS = ["site_id", "treatment", "fracture_status"] + [f"{w}_{m}" for w in ("pre", "post") for m in MEASURES]
VISIT_COLUMNS = list(selectors.VISIT_COLUMNS)


def mixed_fit(rows, psfs, pre, visits) -> int:
    """The trajectory's mixed model on the visits of ``rows``, as analysis.trajectory fits it; 1 if fitted."""
    days, totals = visits
    usable = rows[:, None] & ~np.isnan(totals) & ~np.isnan(pre)[:, None]
    patient, _ = np.nonzero(usable)
    if np.unique(patient).size > MIXED_MODEL_MAX_PATIENTS:
        return 0
    design = np.column_stack([np.ones(patient.size), psfs[patient], pre[patient], days[usable] / DAYS_PER_MONTH])
    fit = MixedLM(totals[usable], design, groups=patient).fit(reml=True)
    fit.conf_int(alpha=0.05), fit.pvalues  # noqa: B018 the same results the refresh reads
    return 1


def floor_once(site_ids: list[int]) -> dict[str, float]:
    cpu_before = time.process_time() + backend_cpu_seconds()
    started = time.perf_counter()
    data = selectors.cohort_csv()
    fetched = time.perf_counter()
    frame = pd.read_csv(
        io.BytesIO(data),
        usecols=[*FIT_COLUMNS, *VISIT_COLUMNS, selectors.VISITS_READ],
        dtype=dict.fromkeys(VISIT_COLUMNS, str),
    )
    # As the refresh: a registry too large for the visits to be read fits no mixed model.
    visits_read = bool(frame[selectors.VISITS_READ].all())
    site = frame["site_id"].to_numpy()
    psfs = (frame["treatment"] == "psfs").to_numpy()
    stratum = frame["fracture_status"].to_numpy()
    scores = {name: frame[name].to_numpy(dtype=float) for name in FIT_COLUMNS[3:]}
    has_visits = frame["visit_totals"].notna().to_numpy() & ~np.isnan(scores["pre_total"])
    visits = None
    parsed = time.perf_counter()
    fits = mixed_fits = 0
    for scope in [None, *site_ids]:
        in_scope = np.ones(len(frame), bool) if scope is None else site == scope
        for name in STRATA:
            rows = in_scope & (stratum == name)
            for measure in MEASURES:
                pre, post = scores[f"pre_{measure}"], scores[f"post_{measure}"]
                keep = rows & ~np.isnan(pre) & ~np.isnan(post)
                design = np.empty((int(keep.sum()), 3), order="F")  # as analysis.stats.ancova builds it
                design[:, 0], design[:, 1], design[:, 2] = 1.0, psfs[keep], pre[keep]
                fit = sm.OLS(post[keep], design, hasconst=True).fit()
                fit.conf_int(alpha=0.05), fit.pvalues  # noqa: B018 the same results the refresh reads
                fits += 1
            # The visits are parsed only once a stratum is small enough for a mixed model.
            if visits_read and np.count_nonzero(rows & has_visits) <= MIXED_MODEL_MAX_PATIENTS:
                if visits is None:
                    visits = tuple(visit_matrix(frame[name].fillna("").to_numpy(object)) for name in VISIT_COLUMNS)
                mixed_fits += mixed_fit(rows, psfs, scores["pre_total"], visits)
    done = time.perf_counter()
    return {
        "total": done - started,
        "cpu": time.process_time() + backend_cpu_seconds() - cpu_before,
        "fetch": fetched - started,
        "parse": parsed - fetched,
        "fits": done - parsed,
        "n_fits": fits,
        "n_mixed_fits": mixed_fits,
        "bytes": len(data),
    }


def backend_cpu_seconds() -> float:
    """CPU time used so far by this connection's PostgreSQL backend (server on this machine, Linux)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def refresh_once() -> tuple[float, float]:
    """Wall-clock seconds of one refresh, and the CPU seconds it used (this process + its PostgreSQL backend).

    The CPU figure hardly depends on how busy the machine is: on an idle machine the
    wall-clock time of this sequential work is about its CPU time.
    """
    cpu_before = time.process_time() + backend_cpu_seconds()
    started = time.perf_counter()
    services.stats_refresh()
    wall = time.perf_counter() - started
    return wall, time.process_time() + backend_cpu_seconds() - cpu_before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    site_ids = list(Site.objects.order_by("code").values_list("id", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM registry_patient")
        (patients,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM outcomes_encounter")
        (encounters,) = cursor.fetchone()
    # Warm-up: imports, connection, PostgreSQL buffers.
    floor_once(site_ids)
    refresh_once()
    floors, refreshes = [], []
    for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits both alike
        floors.append(floor_once(site_ids))
        refreshes.append(refresh_once())
    floor = statistics.median(f["total"] for f in floors)
    floor_cpu = statistics.median(f["cpu"] for f in floors)
    refresh = statistics.median(wall for wall, _ in refreshes)
    refresh_cpu = statistics.median(cpu for _, cpu in refreshes)
    load = os.getloadavg()[0]
    print(
        f"patients {patients}, encounters {encounters}, sites {len(site_ids)}, cores {os.cpu_count()}, load {load:.1f}"
    )
    print(
        f"floor    median {floor:.3f} s (fetch {statistics.median(f['fetch'] for f in floors):.3f}, "
        f"parse {statistics.median(f['parse'] for f in floors):.3f}, "
        f"{floors[0]['n_fits']} OLS + {floors[0]['n_mixed_fits']} mixed fits "
        f"{statistics.median(f['fits'] for f in floors):.3f}), "
        f"min {min(f['total'] for f in floors):.3f} s, CPU {floor_cpu:.3f} s"
    )
    print(f"refresh  median {refresh:.3f} s, min {min(wall for wall, _ in refreshes):.3f} s, CPU {refresh_cpu:.3f} s")
    print(f"ratio    {refresh / floor:.2f} x floor (median / median), CPU {refresh_cpu / floor_cpu:.2f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
