"""Bulk-loads a synthetic registry of N patients for the refresh benchmark (never for a real database).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_registry .venv/bin/python bench/generate.py 100000

Writes straight to the tables with COPY (no services, no audit triggers: the session runs
with session_replication_role=replica), after emptying the clinical tables, then has the
database recompute the follow-up windows (analysis.models.FollowupWindows), whose triggers
did not fire either. About four encounters per patient: a baseline and follow-ups at 2
weeks, 1 month, 3 months and sometimes later; 5% of patients have a second procedure.
Refuses a database whose name does not contain "bench".
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import psycopg

EPOCH = np.datetime64("2015-01-01")
INDEX_SPAN_DAYS = 3_400  # index procedures 2015-01-01 .. mid 2024, so every follow-up is in the past
DOMAINS = ("pain", "function", "emotional_acceptance", "supports", "walking", "gait")
CANCERS = ["multiple_myeloma", "renal", "liver", "breast", "lung", "prostate", "lymphoma", "pancreatic", "other"]
CANCER_P = [0.43, 0.1, 0.1, 0.12, 0.09, 0.07, 0.04, 0.02, 0.03]
ABLATIONS = ["none", "rfa", "cryo", "microwave"]
ABLATION_P = [0.67, 0.23, 0.07, 0.03]
NARCOTICS = ["decreased", "stable", "increased"]
TABLES = (
    "outcomes_complication",
    "outcomes_secondaryprocedure",
    "outcomes_encounter",
    "registry_screw",
    "registry_procedure",
    "registry_patient",
    "registry_site",
    "analysis_snapshot",
    "analysis_refreshstate",
    "analysis_followupwindows",
)
# Mean pre-operative domain score and gain at the final follow-up, by (treatment, fracture).
SCORE_MODEL = {
    ("psfs", "pathological"): (1.2, 2.5),
    ("sacroplasty", "pathological"): (1.8, 1.2),
    ("psfs", "impending"): (2.0, 1.9),
    ("sacroplasty", "impending"): (3.0, 1.6),
}


def dates(offsets: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(EPOCH + offsets.astype("timedelta64[D]"), unit="D")


def scores(rng, mean: np.ndarray, missing: float) -> dict[str, pd.Series]:
    """Six domain scores 0-5 around ``mean``; a fraction ``missing`` of them unscored."""
    out = {}
    for domain in DOMAINS:
        values = np.clip(np.rint(mean + rng.normal(0, 1.1, size=mean.size)), 0, 5)
        series = pd.Series(values, dtype="Int64")
        series[rng.random(mean.size) < missing] = pd.NA
        out[f"msts_{domain}"] = series
    return out


def build(n: int, n_sites: int, seed: int) -> dict[str, pd.DataFrame]:
    """Every table's rows as DataFrames (columns named as the table's)."""
    rng = np.random.default_rng(seed)
    now = pd.Timestamp.now(tz="UTC").isoformat()
    stamp = {"version": 1, "created_at": now, "updated_at": now}

    sites = pd.DataFrame(
        {
            "id": np.arange(1, n_sites + 1),
            "code": [f"BENCH{i}" for i in range(1, n_sites + 1)],
            "name": [f"Synthetic bench site {i}" for i in range(1, n_sites + 1)],
        }
    )

    pid = np.arange(1, n + 1)
    index_day = rng.integers(0, INDEX_SPAN_DAYS, size=n)
    age_days = rng.integers(35 * 365, 90 * 365, size=n)
    patients = pd.DataFrame(
        {
            "id": pid,
            **stamp,
            "study_id": [f"BEN-{i:07d}" for i in pid],
            "mrn": [f"B{i:09d}" for i in pid],
            "birth_date": dates(index_day - age_days),
            "sex": rng.choice(["male", "female"], size=n),
            "primary_cancer": rng.choice(CANCERS, size=n, p=CANCER_P),
            "death_date": None,
            "status": "active",
            "is_demo": False,
            "site_id": rng.integers(1, n_sites + 1, size=n),
        }
    )
    patients["primary_cancer_detail"] = np.where(patients["primary_cancer"] == "other", "synthetic", "")

    # The index procedure of every patient, then a later one for 5% of them.
    second = pid[rng.random(n) < 0.05]
    proc_patient = np.concatenate([pid, second])
    proc_day = np.concatenate([index_day, index_day[second - 1] + rng.integers(100, 400, size=second.size)])
    m = proc_patient.size
    treatment = rng.choice(["psfs", "sacroplasty"], size=m, p=[0.37, 0.63])
    fracture = rng.choice(["pathological", "impending"], size=m, p=[0.7, 0.3])
    procedures = pd.DataFrame(
        {
            "id": np.arange(1, m + 1),
            **stamp,
            "date": dates(proc_day),
            "treatment": treatment,
            "fracture_status": fracture,
            "ablation": rng.choice(ABLATIONS, size=m, p=ABLATION_P),
            "prior_local_radiation": rng.random(m) < 0.43,
            "service": np.where(treatment == "psfs", "orthopaedics", "interventional_radiology"),
            "cement_volume_ml": np.round(rng.uniform(3, 15, size=m), 1),
            "approach": rng.choice(["posterior", "transiliac", "combined"], size=m),
            "indications": np.where(treatment == "psfs", "{mechanical_pain}", "{}"),
            "patient_id": proc_patient,
        }
    )
    is_index = np.arange(m) < n

    psfs_ids = procedures["id"].to_numpy()[treatment == "psfs"]
    n_screws = rng.integers(1, 3, size=psfs_ids.size)
    screw_proc = np.repeat(psfs_ids, n_screws)
    screws = pd.DataFrame(
        {
            "id": np.arange(1, screw_proc.size + 1),
            "corridor": rng.choice(["S1", "S2"], size=screw_proc.size),
            "trajectory": rng.choice(["iliosacral", "transsacral"], size=screw_proc.size),
            "side": rng.choice(["left", "right"], size=screw_proc.size),
            "diameter_mm": rng.choice([6.5, 7.3, 8.0], size=screw_proc.size),
            "fully_threaded": True,
            "procedure_id": screw_proc,
        }
    )

    base = np.zeros(m)
    gain = np.zeros(m)
    for (t, f), (pre_mean, gain_mean) in SCORE_MODEL.items():
        base[(treatment == t) & (fracture == f)] = pre_mean
        gain[(treatment == t) & (fracture == f)] = gain_mean
    # Visit slots: (kind, first day, last day, probability, share of the final gain); later procedures get two.
    slots = [
        ("baseline", -7, 0, 0.95, 0.0),
        ("followup", 10, 15, 0.95, 0.5),
        ("followup", 28, 35, 0.92, 0.8),
        ("followup", 85, 100, 0.88, 1.0),
        ("followup", 120, 1000, 0.3, 1.0),
    ]
    frames = []
    for number, (kind, low, high, p, share) in enumerate(slots):
        present = rng.random(m) < p
        if number > 1:
            present &= is_index
        ids = procedures["id"].to_numpy()[present]
        frame = pd.DataFrame(
            {
                **stamp,
                "date": dates(proc_day[present] + rng.integers(low, high + 1, size=ids.size)),
                "kind": kind,
                **scores(rng, base[present] + share * gain[present], missing=0.03),
                "narcotic_change": rng.choice(NARCOTICS, size=ids.size, p=[0.5, 0.4, 0.1])
                if kind == "followup"
                else None,
                "opioid_mme_per_day": np.round(rng.uniform(0, 120, size=ids.size), 1),
                "procedure_id": ids,
            }
        )
        frames.append(frame)
    encounters = pd.concat(frames, ignore_index=True)
    encounters.insert(0, "id", np.arange(1, len(encounters) + 1))

    def events(p_psfs: float, p_sacro: float, kinds: list[str], text_column: str) -> pd.DataFrame:
        chance = np.where(treatment == "psfs", p_psfs, p_sacro)
        chosen = (rng.random(m) < chance) & is_index
        count = int(chosen.sum())
        frame = pd.DataFrame(
            {
                "id": np.arange(1, count + 1),
                **stamp,
                "date": dates(proc_day[chosen] + rng.integers(14, 731, size=count)),
                "kind": rng.choice(kinds, size=count),
                text_column: "",
                "procedure_id": procedures["id"].to_numpy()[chosen],
            }
        )
        return frame

    secondary = events(0.03, 0.2, ["si_joint_injection", "radiation", "neurolysis", "repeat_sacroplasty"], "reason")
    complications = events(0.04, 0.02, ["screw_backout", "cement_extravasation", "radiculopathy"], "description")
    complications["resolved"] = True
    return {
        "registry_site": sites,
        "registry_patient": patients,
        "registry_procedure": procedures,
        "registry_screw": screws,
        "outcomes_encounter": encounters,
        "outcomes_secondaryprocedure": secondary,
        "outcomes_complication": complications,
    }


def copy_frame(cursor, table: str, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    columns = ", ".join(frame.columns)
    # Unquoted empty fields are NULL in CSV; free-text columns that are '' must stay ''.
    not_null = [c for c in ("primary_cancer_detail", "reason", "description") if c in frame.columns]
    options = f", FORCE_NOT_NULL ({', '.join(not_null)})" if not_null else ""
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv{options})") as copy:
        copy.write(buffer.getvalue())


def load(url: str, tables: dict[str, pd.DataFrame]) -> None:
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        # Synthetic bulk data: skip the audit triggers (and FK triggers; the rows are consistent).
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        for table, frame in tables.items():
            copy_frame(cursor, table, frame)
        for table, frame in tables.items():
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {max(len(frame), 1)})")
        cursor.execute(f"SELECT setval('registry_study_number_seq', {len(tables['registry_patient']) + 1})")
        # The follow-up windows' triggers did not fire (replica): the database recomputes them all.
        cursor.execute("SELECT analysis_followup_windows_rebuild()")
        conn.commit()
        conn.autocommit = True
        cursor.execute("VACUUM ANALYZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("patients", type=int, help="number of patients, e.g. 1000, 10000 or 100000")
    parser.add_argument("--sites", type=int, default=8)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if "bench" not in urlparse(url).path:
        print("DATABASE_URL must name a benchmark database (its name must contain 'bench').", file=sys.stderr)
        return 2
    started = time.perf_counter()
    tables = build(args.patients, args.sites, args.seed)
    built = time.perf_counter()
    load(url, tables)
    done = time.perf_counter()
    rows = ", ".join(f"{table.split('_', 1)[1]} {len(frame)}" for table, frame in tables.items())
    print(f"Loaded {rows}; generated in {built - started:.1f} s, loaded in {done - built:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
