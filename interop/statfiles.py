"""The encounter exports as Stata (``.dta``, format of Stata 15 and later) and SPSS (``.sav``) files,
with a variable label on every column and value labels on every coded one (``interop.codebook``).

pyreadstat writes a whole pandas DataFrame to a file, so the rows cannot be streamed as the CSV's
are. Memory stays bounded as follows: the rows are read once from the database with a server-side
cursor (``outcomes.exports.iter_rows``, one chunk at a time) into one typed array per column (numbers,
codes and dates as 8-byte doubles in ``array.array``, texts as lists of strings), never a list of row
dicts; the DataFrame is built from these arrays, written to a temporary file, then dropped, and the
file is streamed back and deleted when the response is closed. At the peak the process holds the
column arrays and one DataFrame copy of them (about 2 x 8 bytes per numeric cell: some 300 MB for
100,000 patients with five encounters each), never the rows twice as Python objects.

Values, against the CSV of the same data:

- a coded column is its code's number (``interop.codebook``: 1..n in the order of the choices),
  labelled with the code's label; booleans are 0/1 labelled no/yes;
- ``age_at_index`` is the age in years, 90 (labelled "90 or older") for "90+";
- dates (identified file only) are Stata dates (``%td``) or SPSS dates (``DATE11``);
- decimals are doubles; an empty cell is a missing value (``.`` in Stata, sysmis in SPSS), except in
  text variables, where it is an empty text;
- ``indications`` is the CSV's text of codes separated by ";", and ``screws`` the CSV's text of screws
  (``S1/transsacral/left/7.3/true;...``).
"""

import os
import tempfile
from array import array
from collections.abc import Iterable
from datetime import date
from math import nan

import numpy as np
import pandas as pd
import pyreadstat

from interop.codebook import BOOLEAN, CODE_LIST, CODED, DATE, DECIMAL, INTEGER, STRING, Variable

STATA = "dta"
SPSS = "sav"
MEDIA_TYPES = {STATA: "application/x-stata-dta", SPSS: "application/x-spss-sav"}

# Stata counts days from 1960-01-01; SPSS counts seconds from 1582-10-14.
_STATA_EPOCH = date(1960, 1, 1)
_SPSS_EPOCH = date(1582, 10, 14)
_DATE_FORMATS = {STATA: "%td", SPSS: "DATE11"}
_NUMERIC = (INTEGER, DECIMAL, CODED, BOOLEAN, DATE)


def _converter(variable: Variable, file_format: str):
    """The function that turns one exported value into what the file stores."""
    if variable.type == STRING:
        return lambda value: "" if value is None else str(value)
    if variable.type == CODE_LIST:
        return lambda value: ";".join(value or ())
    if variable.type == DATE:
        epoch, scale = (_STATA_EPOCH, 1) if file_format == STATA else (_SPSS_EPOCH, 86400)
        return lambda value: nan if value is None else float((value - epoch).days * scale)
    if variable.type == BOOLEAN:
        return lambda value: nan if value is None else float(bool(value))
    if variable.type == CODED:
        numbers = variable.numbers
        return lambda value: nan if value is None else float(numbers[value])
    if variable.codes:  # an integer with labelled special values: "90+" is 90
        numbers = variable.numbers
        return lambda value: nan if value is None else float(numbers.get(value, value))
    return lambda value: nan if value is None else float(value)


def read_columns(rows: Iterable[dict], variables: list[Variable], file_format: str) -> dict[str, array | list]:
    """The rows as one typed array per variable (doubles, NaN for missing) or list of texts."""
    columns = {v.name: array("d") if v.type in _NUMERIC else [] for v in variables}
    converters = [(columns[v.name].append, v.name, _converter(v, file_format)) for v in variables]
    for row in rows:
        for append, name, convert in converters:
            append(convert(row[name]))
    return columns


def _series(variable: Variable, values: array | list):
    if variable.type not in _NUMERIC:
        return pd.Series(values, dtype=object)
    doubles = np.frombuffer(values, dtype=np.float64) if len(values) else np.empty(0, dtype=np.float64)
    if variable.type in (DECIMAL, DATE):
        return doubles
    missing = np.isnan(doubles)
    return pd.arrays.IntegerArray(np.where(missing, 0, doubles).astype(np.int32), missing)


def write_file(rows: Iterable[dict], variables: list[Variable], file_format: str, path: str) -> None:
    """Writes the rows to ``path`` as a Stata 15 or SPSS file with variable and value labels."""
    columns = read_columns(rows, variables, file_format)
    frame = pd.DataFrame({v.name: _series(v, columns.pop(v.name)) for v in variables})
    options = {
        "column_labels": {v.name: v.label for v in variables},
        "variable_value_labels": {v.name: v.value_labels for v in variables if v.value_labels},
        "variable_format": {v.name: _DATE_FORMATS[file_format] for v in variables if v.type == DATE},
    }
    if file_format == STATA:
        pyreadstat.write_dta(frame, path, version=15, **options)
    else:
        pyreadstat.write_sav(frame, path, **options)


def temporary_file(rows: Iterable[dict], variables: list[Variable], file_format: str):
    """The file, open for reading; its name is already removed, so closing it frees the disk space."""
    handle, path = tempfile.mkstemp(suffix=f".{file_format}")
    os.close(handle)
    try:
        write_file(rows, variables, file_format, path)
        return open(path, "rb")  # noqa: SIM115 (the response closes it)
    finally:
        os.unlink(path)
