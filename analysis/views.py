"""The live cohort dashboard. Every view reads a stored snapshot: a fixed, small number of
queries whatever the size of the registry, and never any statistics in the request."""

import json

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET

from analysis.dashboard import dashboard_tables, dashboard_view_model
from analysis.dashboard_completeness import sites_table
from analysis.selectors import refresh_state, site_snapshot_summaries, snapshot_latest
from core.csv_safe import SafeWriter
from registry.choices import Role
from registry.permissions import user_role
from registry.selectors import resolve_site, sites_visible_to


def _scope(request):
    """The site chosen with ?site=CODE (None: the whole registry) and the sites the user may choose."""
    if user_role(request.user) is None:
        raise PermissionDenied("Your account has no registry role.")
    sites = list(sites_visible_to(request.user).only("id", "code", "name"))
    # Any case; empty is the whole registry; an unknown or unseen code is a 404.
    site = resolve_site(request.user, request.GET.get("site", "").strip() or None)
    return site, sites


def include_demo(request) -> bool:
    """Whether the whole registry's figures include the demo patients: they are left out by default
    once real patients are there too (?demo=include puts them back; a site's figures are its own)."""
    return request.GET.get("demo") == "include"


def scope_query_of(site, demo: bool) -> str:
    """The query string that names a scope on every dashboard URL (panel, status, CSV, report)."""
    if site is not None:
        return f"?site={site.code}"
    return "?demo=include" if demo else ""


def _status(site, demo: bool = True) -> dict:
    snapshot = snapshot_latest(site_id=site.pk if site else None, with_document=False, include_demo=demo)
    state = refresh_state(latest=snapshot) if site is None else refresh_state()
    return {
        "status": state["status"],
        "computed_at": snapshot.computed_at.isoformat() if snapshot else None,
        "version": f"{snapshot.pk}:{snapshot.fingerprint}:{snapshot.computed_at.isoformat()}" if snapshot else "",
        "last_error": state["last_error"] if state["status"] == "failed" else "",
        "checked_at": timezone.now().isoformat(),
    }, snapshot


def _panel_body(snapshot, version: str, scope_query: str) -> str:
    """The numbers and pictures of one snapshot as HTML, rendered once per process, scope and
    snapshot version. They hold no patient identifiers and are the same for every user who may
    see the scope, so the page is the same few small queries and a stored string."""
    key = f"dashboard-panel:{scope_query}"  # one entry a scope: a newer version replaces the older
    cached = cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    snapshot.refresh_from_db(fields=["document"])
    context = {"model": dashboard_view_model(snapshot.document), "scope_query": scope_query}
    html = render_to_string("analysis/_panel_body.html", context)
    cache.set(key, (version, html), timeout=None)
    return html  # a SafeString: rendered with autoescaping, and it stays one through the cache


def _sites_table(request, site, sites):
    """The whole registry's table by site: completeness and sign-off for registry admins, sign-off
    alone for investigators; none for a site's page or another role."""
    role = user_role(request.user)
    if site is not None or role not in (Role.ADMIN, Role.INVESTIGATOR):
        return None
    rows = site_snapshot_summaries([s.pk for s in sites])
    return sites_table(rows, with_completeness=role == Role.ADMIN) if rows else None


def _context(request, site, sites):
    demo = include_demo(request)
    status, snapshot = _status(site, demo)
    scope_query = scope_query_of(site, demo)
    return {
        # The toggle is offered where there is a document without the demo patients.
        "demo_toggle": site is None and snapshot is not None and snapshot.has_real_only,
        "include_demo": demo,
        "sites_table": _sites_table(request, site, sites) if snapshot else None,
        "site": site,
        "sites": sites,
        "scope_query": scope_query,
        "status": status,
        "snapshot": snapshot,
        "panel_body": _panel_body(snapshot, status["version"], scope_query) if snapshot else None,
    }


@login_required
@require_GET
def dashboard(request):
    site, sites = _scope(request)
    return render(request, "analysis/dashboard.html", _context(request, site, sites))


@login_required
@require_GET
def dashboard_panel(request):
    """The numbers and pictures alone, swapped into the open page when a new snapshot lands."""
    site, sites = _scope(request)
    return render(request, "analysis/_panel.html", _context(request, site, sites))


@login_required
@require_GET
def dashboard_status(request):
    """A tiny document the page polls: the refresh state and the version of the snapshot on show."""
    site, _ = _scope(request)
    status, _ = _status(site, include_demo(request))
    return JsonResponse(status, headers={"Cache-Control": "no-store"})


def _snapshot_or_404(site, demo: bool = True):
    snapshot = snapshot_latest(site_id=site.pk if site else None, include_demo=demo)
    if snapshot is None:
        raise Http404("No statistics have been computed yet.")
    return snapshot


def _filename(site, name: str, snapshot) -> str:
    """sacral-registry-<scope>-<table>-<time>, each word once ("sacral-registry-demographics-...", not
    "sacral-registry-registry-demographics-...")."""
    words = ["sacral", "registry", *(site.code.split("-") if site else []), *name.split("-")]
    unique: dict[str, str] = {}
    for word in words:
        unique.setdefault(word.lower(), word)  # the first of each, in any case
    return "-".join([*unique.values(), f"{snapshot.computed_at:%Y%m%d-%H%M}"])


@login_required
@require_GET
def dashboard_table_csv(request, name: str):
    site, _ = _scope(request)
    snapshot = _snapshot_or_404(site, include_demo(request))
    table = dashboard_tables(snapshot.document).get(name)
    if table is None:
        raise Http404("No such table.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(site, name, snapshot)}.csv"'
    # UTF-8 with a byte-order mark, which tells Excel the encoding ("±", "é" stay as they are).
    response.write("\ufeff")
    writer = SafeWriter(response)  # no cell a spreadsheet could run as a formula
    # The numbers, each in a column of its own and unrounded; a missing one is an empty cell. The
    # notes stay on the page and in the JSON document: a table a program reads has no footer.
    writer.writerow(table.csv_header)
    writer.writerows(table.csv_rows)
    return response


@login_required
@require_GET
def dashboard_document_json(request):
    site, _ = _scope(request)
    snapshot = _snapshot_or_404(site, include_demo(request))
    response = HttpResponse(
        json.dumps(snapshot.document, cls=DjangoJSONEncoder, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(site, "stats", snapshot)}.json"'
    return response
