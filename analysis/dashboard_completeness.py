"""The dashboard's follow-up completeness from one stats document (``completeness`` and
``followup_flow``, analysis.completeness): the flow diagram and the table that says the same in
words and numbers (the diagram's text alternative and its CSV); and the table of every site's
completeness and sign-off, built from the sites' own snapshots (no database, no request).
"""

from analysis.flow_chart import flow_chart, reasons_text
from analysis.tables import Table, fmt
from analysis.tables import lookup as _get
from outcomes.schedule import SCHEDULE

COUNTS = ("expected", "done", "not_done", "missed", "pending")
LEFT = ("died", "withdrawn", "lost")
COUNT_LABELS = {
    "expected": "Expected",
    "done": "Done",
    "not_done": "Not done",
    "missed": "Missed",
    "pending": "Pending",
    "died": "Died before",
    "withdrawn": "Withdrew before",
    "lost": "Lost before",
}


def completeness_table(document: dict) -> Table | None:
    """One row per window: index procedures, not yet open, left before it, and expected, done, not
    done, missed, pending; None when the document has no ``completeness`` yet."""
    completeness = document.get("completeness")
    if not isinstance(completeness, dict):
        return None
    flow = document.get("followup_flow") or {}
    header = ["Visit", "Index procedures", "Not yet open", *(COUNT_LABELS[k] for k in (*LEFT, *COUNTS))]
    table = Table("completeness", "Follow-up completeness by visit window", header)
    table.csv_header = ["visit", "index_procedures", "not_yet_open", *LEFT, *COUNTS]
    for visit in SCHEDULE:
        counts = completeness.get(visit.key) or {}
        extras = _get(flow, "visits", visit.key, default={}) or {}
        values = [
            flow.get("index_procedures"),
            extras.get("not_yet_open"),
            *(extras.get(k) for k in LEFT),
            *(counts.get(k) for k in COUNTS),
        ]
        table.rows.append([f"{visit.label} (days {visit.first_day}-{visit.last_day})", *(fmt(v) for v in values)])
        table.csv_rows.append([visit.key, *values])
        reasons = reasons_text(extras.get("not_done_reasons"))
        if reasons:
            table.notes.append(f"{visit.label}, not done: {reasons}.")
    table.notes.append(
        "Expected: the window has opened and the patient had not died, withdrawn or been lost by its last day "
        "(by today while it is open), or a follow-up falls in it. Done + not done + missed + pending = expected."
    )
    return table


def completeness_view_model(document: dict, tables: dict[str, Table]) -> dict:
    """The completeness section of the page: the flow diagram and its table (None: not computed yet)."""
    table = tables.get("completeness")
    if table is None:
        return {"table": None, "chart": None, "signed_off": None, "index_procedures": None}
    flow = document.get("followup_flow") or {}
    return {
        "table": table,
        "chart": flow_chart(document["completeness"], flow, title="Follow-up flow"),
        "signed_off": flow.get("signed_off"),
        "index_procedures": flow.get("index_procedures"),
    }


def sites_table(rows: list[dict], *, with_completeness: bool) -> Table:
    """Per site (``rows``: ``code``, ``name``, and the site snapshot's ``completeness`` and
    ``followup_flow``): index procedures and those signed off, and with ``with_completeness`` (for
    registry admins) each window's expected, done, not done, missed and pending."""
    header = ["Site", "Index procedures", "Signed off"]
    csv_header = ["site", "index_procedures", "signed_off"]
    if with_completeness:
        header += [f"{visit.label}: {COUNT_LABELS[k].lower()}" for visit in SCHEDULE for k in COUNTS]
        csv_header += [f"{visit.key}_{k}" for visit in SCHEDULE for k in COUNTS]
    title = "Follow-up completeness and sign-off by site" if with_completeness else "Patients signed off by site"
    table = Table("sites-completeness" if with_completeness else "sites-signed-off", title, header)
    table.csv_header = csv_header
    for row in rows:
        flow = row.get("followup_flow") or {}
        values = [flow.get("index_procedures"), flow.get("signed_off")]
        if with_completeness:
            values += [_get(row.get("completeness"), visit.key, k) for visit in SCHEDULE for k in COUNTS]
        table.rows.append([f"{row['code']} · {row['name']}", *(fmt(v) for v in values)])
        table.csv_rows.append([row["code"], *values])
    return table
