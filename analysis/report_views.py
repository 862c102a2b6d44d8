"""The study report at /dashboard/report: the latest snapshot of a scope as a printable document.

It reads a stored snapshot, like every dashboard view: no statistics in the request. Printing it
(or saving it as PDF) is the browser's: the page carries a print stylesheet and a button.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from analysis.report import report_view_model
from analysis.selectors import snapshot_latest
from analysis.views import include_demo, scope_query_of
from registry.models import Site
from registry.permissions import site_rights, user_role
from registry.selectors import resolve_site


def _may_see_months(user, site) -> bool:
    """PHI rights at every site of the scope: the one chosen, or every site of the registry."""
    sites = [site] if site is not None else list(Site.objects.only("id"))
    return all(site_rights(user, s).phi for s in sites)


@login_required
@require_GET
def dashboard_report(request):
    if user_role(request.user) is None:
        raise PermissionDenied("Your account has no registry role.")
    # Any case; empty is the whole registry; an unknown or unseen code is a 404.
    site = resolve_site(request.user, request.GET.get("site", "").strip() or None)
    demo = include_demo(request)
    snapshot = snapshot_latest(site_id=site.pk if site else None, include_demo=demo)
    context = {"site": site, "snapshot": snapshot, "scope_query": scope_query_of(site, demo)}
    if snapshot is not None:
        context["report"] = report_view_model(snapshot.document, show_months=_may_see_months(request.user, site))
    return render(request, "analysis/report.html", context)
