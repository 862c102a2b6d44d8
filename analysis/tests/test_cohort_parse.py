"""The cohort query's CSV read with its code columns as categories gives the str arrays and the row
hashes (so the fingerprints) that reading them as strings gave: an empty registry, a patient
without a procedure (every code missing) and patients with codes."""

import datetime
import io

import numpy as np
import pandas as pd
import pytest

from analysis import selectors
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db


def as_strings(data: bytes) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The code columns and row hashes as cohort_from_csv read them before (codes as strings)."""
    frame = pd.read_csv(
        io.BytesIO(data),
        dtype=dict.fromkeys(selectors.CODE_COLUMNS + selectors.VISIT_COLUMNS, str),
        keep_default_na=False,
        na_values=[""],
    )
    codes = {name: frame[name].fillna("").to_numpy(dtype=str) for name in selectors.CODE_COLUMNS}
    return codes, pd.util.hash_pandas_object(frame, index=False).to_numpy()


def assert_read_as_strings() -> None:
    data = selectors.cohort_csv(today=datetime.date(2024, 6, 1))
    cohort = selectors.cohort_from_csv(data)
    codes, hashes = as_strings(data)
    for name, values in codes.items():
        assert cohort[name].tolist() == values.tolist(), name
        assert cohort[name].dtype.kind == "U", name
    assert np.array_equal(cohort[selectors.ROW_HASH], hashes)


def test_an_empty_registry():
    assert_read_as_strings()
    assert len(selectors.cohort_fetch()) == 0


def test_patients_with_and_without_codes(site_a):
    PatientFactory(site=site_a)  # no procedure: every code of the row is missing
    procedure = ProcedureFactory(patient=PatientFactory(site=site_a, sex="male"), treatment="sacroplasty")
    EncounterFactory(procedure=procedure, kind="baseline")
    EncounterFactory(procedure=procedure, narcotic_change="decreased")
    ProcedureFactory(patient=PatientFactory(site=site_a, primary_cancer="renal"), ablation="rfa")

    assert_read_as_strings()
    cohort = selectors.cohort_fetch()
    assert sorted(cohort["treatment"].tolist()) == ["", "psfs", "sacroplasty"]
    assert sorted(cohort["narcotic_change"].tolist()) == ["", "", "decreased"]
