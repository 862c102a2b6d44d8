"""URLs of the load benchmark: the project's own (config.urls) plus bare views under /bare/.

Each bare view runs the same ORM queries as the project's view it stands beside (as a registry
admin would: every site visible) and answers minimal JSON: no authentication, no session, no
template, no serializer, and (through bench/load_wsgi.py) no middleware. The difference between
the two in one run is what the project's own layers cost. Ids only in the answers: never PHI.
"""

import json

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.http import HttpResponse, JsonResponse
from django.urls import include, path

from analysis.models import RefreshState
from analysis.selectors import snapshot_document_text, snapshot_latest
from outcomes.models import Encounter
from outcomes.selectors import patient_timeline
from registry.models import Patient, Procedure, Site


def _visible_patients():
    # The SQL of registry.selectors.patients_visible_to(admin): every site.
    return Patient.objects.filter(site__in=Site.objects.all())


def ping(request):
    """No query: the cost of gunicorn, the HTTP round trip and Django's request handling."""
    return JsonResponse({"ok": True})


def patient_page(request, pk: int):
    """The queries of /patients/<pk>/: the patient with its site, then the timeline (one query)."""
    patient = _visible_patients().select_related("site").get(pk=pk)
    entries = patient_timeline(patient)
    return JsonResponse(
        {
            "id": patient.pk,
            "site": patient.site.code,
            "procedures": [
                [e.procedure.pk, len(e.screws), len(e.encounters), len(e.secondary_procedures)] for e in entries
            ],
        }
    )


def _api_patients():
    index_date = Procedure.objects.filter(patient=OuterRef("pk")).order_by("date", "id").values("date")[:1]
    return _visible_patients().select_related("site").annotate(index_date=Subquery(index_date)).order_by("study_id")


def patient_api(request, pk: int):
    """The query of GET /api/patients/<pk>/."""
    patient = _api_patients().get(pk=pk)
    return JsonResponse({"id": patient.pk, "site": patient.site.code, "version": patient.version})


def patient_list_api(request):
    """The queries of GET /api/patients/?page_size=50: the count, then the first page."""
    size = int(request.GET.get("page_size", 50))
    patients = _api_patients()
    count = patients.count()
    return JsonResponse({"count": count, "ids": [p.pk for p in patients[:size]]})


def patient_list_page(request):
    """The queries of /patients/ (25 a page): the sites, the count, the page with the index procedure."""
    sites = list(Site.objects.all())
    index = Procedure.objects.filter(patient=OuterRef("pk")).order_by("date", "id")
    patients = (
        _visible_patients()
        .select_related("site")
        .annotate(
            index_date=Subquery(index.values("date")[:1]),
            index_treatment=Subquery(index.values("treatment")[:1]),
            index_fracture_status=Subquery(index.values("fracture_status")[:1]),
        )
        .order_by("study_id")
    )
    count = patients.count()
    return JsonResponse({"count": count, "sites": len(sites), "ids": [p.pk for p in patients[:25]]})


def encounter_create(request):
    """The insert of POST /api/encounters/ (audit trigger included): the procedure, then the row."""
    data = json.loads(request.body)
    procedure = Procedure.objects.select_related("patient").get(pk=data.pop("procedure"))
    with transaction.atomic():
        encounter = Encounter.objects.create(procedure=procedure, **data)
    return JsonResponse({"id": encounter.pk}, status=201)


def dashboard(request):
    """The queries of /dashboard/ (and /dashboard/status): sites, latest snapshot without its
    document, refresh state. (The project's page adds its panel, rendered once per snapshot.)"""
    list(Site.objects.only("id", "code", "name"))
    snapshot = snapshot_latest(site_id=None, with_document=False)
    RefreshState.objects.filter(pk=RefreshState.SINGLETON).first()
    return JsonResponse({"version": f"{snapshot.pk}:{snapshot.fingerprint}" if snapshot else ""})


def stats(request):
    """GET /api/stats/: the latest registry snapshot (without its document), then the document as text."""
    snapshot = snapshot_latest(site_id=None, with_document=False)
    return HttpResponse(snapshot_document_text(snapshot.pk) if snapshot else "{}", content_type="application/json")


bare = [
    path("ping", ping),
    path("patients/<int:pk>/", patient_page),
    path("api/patients/<int:pk>/", patient_api),
    path("api/patients/", patient_list_api),
    path("patients/", patient_list_page),
    path("api/encounters/", encounter_create),
    path("dashboard/", dashboard),
    path("dashboard/status", dashboard),
    path("api/stats/", stats),
]

urlpatterns = [path("bare/", include(bare)), path("", include("config.urls"))]
