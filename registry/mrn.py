"""Medical record numbers, compared the way a person reads them (contract: "Plausibility limits").

``MRN-448812``, ``mrn-448812``, ``MRN\u2011448812`` (a non-breaking hyphen), ``ＭＲＮ-448812``
(fullwidth letters) and ``MRN-448812\u200b`` (a zero-width space) are one MRN. Each is stored in
its normalised form (Unicode NFKC, invisible characters and surrounding white space removed),
and the database refuses a second MRN at a site that equals one already there when case is
ignored (constraint ``patient_unique_site_mrn_ci``).
"""

import re
import unicodedata

# Hyphen-like characters NFKC leaves alone, written as the ASCII hyphen-minus people type.
_HYPHENS = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"), "-")


def normalise_mrn(value: str) -> str:
    """The MRN as stored: NFKC, hyphens unified, format characters (zero-width, BOM) and
    surrounding white space removed, internal runs of white space made one space."""
    text = unicodedata.normalize("NFKC", value or "").translate(_HYPHENS)
    text = "".join(char for char in text if unicodedata.category(char) not in {"Cf", "Cc"} or char in " \t")
    return " ".join(text.split())


def mrn_key(value: str) -> str:
    """What two MRNs are compared by: the normalised MRN, case-folded."""
    return normalise_mrn(value).casefold()


def mrn_skeleton(value: str) -> str:
    """The letters and digits of an MRN, upper-case: ``MRN-448812`` and ``mrn 448812`` share one."""
    return "".join(char for char in normalise_mrn(value).upper() if char.isalnum())


def one_edit_regex(value: str) -> str:
    """A regular expression (PostgreSQL's and Python's) matching the upper-cased MRNs one edit away
    from ``value``'s: one character changed, added or removed (the MRN itself matches too)."""
    text = normalise_mrn(value).upper()
    chars = [re.escape(char) for char in text]
    changed = ["".join(chars[:i]) + "." + "".join(chars[i + 1 :]) for i in range(len(text))]
    added = ["".join(chars[:i]) + "." + "".join(chars[i:]) for i in range(len(text) + 1)]
    removed = ["".join(chars[:i]) + "".join(chars[i + 1 :]) for i in range(len(text))]
    return "^(" + "|".join(dict.fromkeys(changed + added + removed)) + ")$"


def within_one_edit(first: str, second: str) -> bool:
    """Whether two MRNs, upper-cased, differ by at most one character changed, added or removed."""
    a, b = normalise_mrn(first).upper(), normalise_mrn(second).upper()
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    start = 0
    while start < len(a) and a[start] == b[start]:
        start += 1
    if len(a) == len(b):
        return a[start + 1 :] == b[start + 1 :]
    return a[start:] == b[start + 1 :]
