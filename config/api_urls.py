"""The REST API (docs/contract.md): routes of every resource, auth token, exports, schema and docs."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from core.rest import api_not_found
from outcomes.api import ENCOUNTER_EXPORT_VIEWS, ComplicationViewSet, EncounterViewSet, SecondaryProcedureViewSet
from outcomes.visit_not_done_api import VisitNotDoneViewSet
from quality.api import DataQueryViewSet
from registry.api import PatientViewSet, ProcedureViewSet, SiteViewSet
from registry.sign_off_api import ProcedureSignOffView, ProcedureUnlockView
from registry.token_api import TokenView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("sites", SiteViewSet, basename="site")
router.register("patients", PatientViewSet, basename="patient")
router.register("procedures", ProcedureViewSet, basename="procedure")
router.register("encounters", EncounterViewSet, basename="encounter")
router.register("secondary-procedures", SecondaryProcedureViewSet, basename="secondaryprocedure")
router.register("complications", ComplicationViewSet, basename="complication")
router.register("visits-not-done", VisitNotDoneViewSet, basename="visitnotdone")
router.register("queries", DataQueryViewSet, basename="dataquery")

exports = [
    path(
        f"exports/encounters{'-deidentified' if deidentified else ''}.{export_format}",
        view.as_view(),
        name=f"export-encounters{'-deidentified' if deidentified else ''}-{export_format}",
    )
    for (deidentified, export_format), view in ENCOUNTER_EXPORT_VIEWS.items()
]

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    *exports,
    path("procedures/<int:pk>/sign-off/", ProcedureSignOffView.as_view(), name="procedure-sign-off"),
    path("procedures/<int:pk>/unlock/", ProcedureUnlockView.as_view(), name="procedure-unlock"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI's start-up script is served as a file of its own (docs/?script), not inline: the
    # Content-Security-Policy allows no inline script, and the docs page is no exception.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include(router.urls)),
    path("", include("analysis.api_urls")),
    path("", include("interop.api_urls")),
    # Any other URL under /api/ ending in a slash (others are redirected to it by APPEND_SLASH) is a JSON 404.
    re_path(r"^.*/$", api_not_found, name="api-not-found"),
]
