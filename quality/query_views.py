"""Pages of data queries: the data manager's list (filters, counts per site and rule, bulk close,
CSV for clinic days), one query with its answer and close forms, and the queries the patient's
timeline shows beside each record.

Clinicians see the queries of their sites and answer them; registry admins (the data managers) see
every site's and close them; investigators see none (403). Every write is a ``quality.services`` call.
"""

import functools

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from core.csv_safe import SafeWriter
from core.web import call_service
from outcomes.selectors import patient_timeline
from quality import selectors, services
from quality.forms import BulkCloseForm, QueryAnswerForm, QueryCloseForm, QueryFilterForm, QueryRaiseForm
from quality.models import DataQuery, QueryKind, QueryStatus, Resolution
from registry.access_log import phi_access_record
from registry.models import PhiAccess
from registry.permissions import is_admin, site_rights, staff_view
from registry.selectors import patients_visible_to, resolve_site, sites_visible_to

QUERIES_PER_PAGE = 50

# The edit form of each kind of record: the "Fix" link of a query.
_EDIT_URLS = {
    QueryKind.PATIENT: ("patient_edit", ()),
    QueryKind.PROCEDURE: ("procedure_edit", ()),
    QueryKind.ENCOUNTER: ("encounter_edit", ()),
    QueryKind.SECONDARY_PROCEDURE: ("event_edit", ("secondary-procedure",)),
    QueryKind.COMPLICATION: ("event_edit", ("complication",)),
}
# The rules whose fix is a visit to record on the procedure, and its kind (rule codes of quality.rules).
_RECORD_A_VISIT = {"baseline_missing": "baseline", "visit_missed": "followup"}
# The timeline's item types and the query kinds of their records.
_TIMELINE_KINDS = {
    "encounter": QueryKind.ENCOUNTER,
    "secondary": QueryKind.SECONDARY_PROCEDURE,
    "complication": QueryKind.COMPLICATION,
}


def query_view(view):
    """Clinicians and admins; investigators (and any role that may not read PHI) get 403."""

    @staff_view
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not site_rights(request.user, None).phi:
            raise PermissionDenied(services.INVESTIGATORS_SEE_NONE)
        return view(request, *args, **kwargs)

    return wrapper


def fix_url(query: DataQuery) -> str:
    """Where the query is fixed: a missing visit is recorded on its procedure (a baseline, a
    follow-up); any other query is fixed in the edit form of its record, at the field in question."""
    if query.kind == QueryKind.PROCEDURE and query.rule in _RECORD_A_VISIT:
        return f"{reverse('encounter_create', args=[query.record])}?kind={_RECORD_A_VISIT[query.rule]}"
    name, args = _EDIT_URLS[query.kind]
    url = reverse(name, args=[*args, query.record])
    return f"{url}#field-{query.field}" if query.field else url


def not_done_url(query: DataQuery) -> str:
    """For a missed visit, the form that marks it not done (with a reason); else empty."""
    if query.kind == QueryKind.PROCEDURE and query.rule == "visit_missed" and query.field:
        return f"{reverse('visit_not_done_create', args=[query.record])}?{urlencode({'visit': query.field})}"
    return ""


def _with_links(query: DataQuery) -> DataQuery:
    query.fix_url = fix_url(query)
    query.not_done_url = not_done_url(query)
    query.patient_url = f"{reverse('patient_detail', args=[query.patient_id])}#query-{query.pk}"
    return query


def _next_url(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


# --- The timeline: each record's queries beside it ---------------------------------------


def attach_queries(user, patient, timeline: list[dict]) -> list[DataQuery]:
    """Puts each record's queries that are not closed beside it on the timeline (``queries`` of each
    procedure entry and each item); returns the patient's own. Nothing for a user who sees no query."""
    by_record = selectors.open_queries_by_record(user, patient)
    if not by_record:
        return []

    def of(kind, pk) -> list[DataQuery]:
        return [_with_links(query) for query in by_record.get((kind, pk), [])]

    for entry in timeline:
        entry["queries"] = of(QueryKind.PROCEDURE, entry["procedure"].pk)
        for item in entry["items"]:
            kind = _TIMELINE_KINDS.get(item.get("type"))
            item["queries"] = of(kind, item["obj"].pk) if kind else []
    return of(QueryKind.PATIENT, patient.pk)


# --- The list ------------------------------------------------------------------------------


def _filtered(request):
    """(form, filters, the site chosen or None, the filtered queries)."""
    form = QueryFilterForm(request.GET, rules=selectors.rules_of(request.user))
    filters = form.filters()
    site = resolve_site(request.user, filters["site"])  # an unknown or unseen code is a 404
    queries = selectors.query_list_for(
        request.user,
        site=site,
        rule=filters["rule"],
        status=filters["status"],
        older_than_days=filters["older_than_days"],
    )
    return form, filters, site, queries


@query_view
def query_list(request):
    form, filters, site, queries = _filtered(request)
    page = Paginator(queries, QUERIES_PER_PAGE).get_page(request.GET.get("page"))
    for query in page.object_list:
        _with_links(query)
    # The counts ignore the status filter: they show how many of the selection are open, answered, closed.
    counted = selectors.query_list_for(
        request.user, site=site, rule=filters["rule"], older_than_days=filters["older_than_days"]
    )
    return render(
        request,
        "quality/queries.html",
        {
            "form": form,
            "filters": filters,
            "chosen_site": site,
            "sites": sites_visible_to(request.user),
            "rules": form.rules,
            "page": page,
            "by_site": selectors.counts_by_site(counted),
            "by_rule": selectors.counts_by_rule(counted),
            "can_close": is_admin(request.user),
            "resolutions": Resolution.choices,
            "querystring": request.GET.urlencode(),
        },
    )


CSV_COLUMNS = [
    "id",
    "site",
    "study_id",
    "mrn",
    "kind",
    "record",
    "rule",
    "field",
    "message",
    "status",
    "opened_at",
    "answer",
    "answered_by",
    "closed_at",
    "closed_by",
    "resolution",
]


class _Echo:
    def write(self, value):
        return value


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _csv_row(query: DataQuery) -> list:
    return [
        query.pk,
        query.site.code,
        query.patient.study_id,
        query.patient.mrn,
        query.kind,
        query.record,
        query.rule,
        query.field or "",
        query.message,
        query.status,
        _local(query.opened_at),
        query.answer,
        query.answered_by.get_username() if query.answered_by else "",
        _local(query.closed_at),
        query.closed_by.get_username() if query.closed_by else "",
        query.resolution or "",
    ]


@query_view
def query_csv(request):
    """The filtered list as CSV (identified: MRNs), every cell safe for a spreadsheet."""
    _, _, _, queries = _filtered(request)
    phi_access_record(request=request, action=PhiAccess.Action.EXPORT_IDENTIFIED, what="queries.csv")
    writer = SafeWriter(_Echo())
    lines = (writer.writerow(row) for row in [CSV_COLUMNS, *map(_csv_row, queries.iterator(chunk_size=500))])
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="queries.csv"'
    return response


@require_POST
@query_view
def query_bulk_close(request):
    form = BulkCloseForm(request.POST)
    back = _next_url(request, reverse("query_list"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"Nothing closed: {error}")
        return redirect(back)
    closed = services.bulk_close(
        user=request.user, ids=form.cleaned_data["ids"], resolution=form.cleaned_data["resolution"]
    )
    label = Resolution(form.cleaned_data["resolution"]).label.lower()
    messages.success(request, f"{len(closed)} quer{'y' if len(closed) == 1 else 'ies'} closed as {label}.")
    return redirect(back)


# --- One query -------------------------------------------------------------------------------


@query_view
def query_detail(request, pk: int):
    query = get_object_or_404(selectors.queries_visible_to(request.user).select_related("patient", "site"), pk=pk)
    back = _next_url(request, reverse("query_detail", args=[query.pk]))
    is_open = query.status != QueryStatus.CLOSED
    can_answer = is_open and site_rights(request.user, query.site_id).write
    can_close = is_open and is_admin(request.user)
    action = request.POST.get("action") if request.method == "POST" else None
    answer_form = QueryAnswerForm(
        request.POST if action == "answer" else None, initial={"answer": query.answer, "next": back}
    )
    close_form = QueryCloseForm(request.POST if action == "close" else None, initial={"next": back})
    if action == "answer" and answer_form.is_valid():
        answer = answer_form.cleaned_data["answer"]
        done, _ = call_service(
            answer_form, lambda: services.answer_query(user=request.user, query=query, answer=answer), model=DataQuery
        )
        if done:
            messages.success(request, "Answer saved: a data manager will close the query.")
            return redirect(back)
    elif action == "close" and close_form.is_valid():
        resolution = close_form.cleaned_data["resolution"]
        done, _ = call_service(
            close_form,
            lambda: services.close_query(user=request.user, query=query, resolution=resolution),
            model=DataQuery,
        )
        if done:
            messages.success(request, f"Query closed as {Resolution(resolution).label.lower()}.")
            return redirect(back)
    elif action is not None and action not in ("answer", "close"):
        messages.error(request, "Nothing saved: unknown action.")
    return render(
        request,
        "quality/queries_detail.html",
        {
            "query": _with_links(query),
            "answer_form": answer_form,
            "close_form": close_form,
            "can_answer": can_answer,
            "can_close": can_close,
            "next": back,
        },
    )


# --- A person's question ------------------------------------------------------------------


def _record_choices(patient) -> list[tuple[str, str]]:
    """The patient's records as (``kind:id``, label) choices: the patient, then each procedure and
    what hangs on it, by date."""
    choices = [(f"{QueryKind.PATIENT}:{patient.pk}", f"Patient {patient.study_id}")]
    for entry in patient_timeline(patient):
        procedure = entry.procedure
        choices.append(
            (
                f"{QueryKind.PROCEDURE}:{procedure.pk}",
                f"Procedure {procedure.date:%Y-%m-%d} · {procedure.get_treatment_display()}",
            )
        )
        for kind, records in (
            (QueryKind.ENCOUNTER, entry.encounters),
            (QueryKind.SECONDARY_PROCEDURE, entry.secondary_procedures),
            (QueryKind.COMPLICATION, entry.complications),
        ):
            choices += [
                (f"{kind}:{r.pk}", f"— {QueryKind(kind).label} {r.date:%Y-%m-%d} · {r.get_kind_display()}")
                for r in records
            ]
    return choices


@query_view
def query_create(request, patient_pk: int):
    """Raise a data query (rule ``manual``) on one of the patient's records."""
    patient = get_object_or_404(patients_visible_to(request.user).select_related("site"), pk=patient_pk)
    if not site_rights(request.user, patient.site_id).write:
        raise PermissionDenied(services.ONLY_SITE_STAFF)
    form = QueryRaiseForm(
        request.POST or None, records=_record_choices(patient), initial={"record": request.GET.get("record")}
    )
    if request.method == "POST" and form.is_valid():
        arguments = form.service_arguments()
        query, _ = call_service(
            form, lambda: services.raise_manual_query(user=request.user, **arguments), model=DataQuery
        )
        if query:
            messages.success(request, "Query raised: the clinicians of the site will answer it.")
            return redirect(f"{reverse('patient_detail', args=[patient.pk])}#query-{query.pk}")
    return render(request, "quality/queries_raise.html", {"form": form, "patient": patient})
