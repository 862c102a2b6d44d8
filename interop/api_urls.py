"""Routes of the interoperability API; config.api_urls mounts them under /api/."""

from django.urls import path, re_path

from interop.api import FhirCodeSystemApi, FhirPatientEverythingApi, FhirQuestionnaireMstsApi
from interop.export_api import STATISTICS_FILE_VIEWS, CodebookCsvView
from interop.redcap_api import RedcapDataDictionaryView
from interop.workbook_api import RegistryWorkbookView

urlpatterns = [
    # Any id segment reaches the view, which answers 404 for one that is not a number: FHIR paths end
    # without a slash, so a bad id would otherwise be redirected to the slash by APPEND_SLASH.
    re_path(
        r"^fhir/Patient/(?P<id>[^/]+)/\$everything$",
        FhirPatientEverythingApi.as_view(),
        name="fhir-patient-everything",
    ),
    path("fhir/CodeSystem/sacral-registry", FhirCodeSystemApi.as_view(), name="fhir-code-system"),
    path("fhir/Questionnaire/msts", FhirQuestionnaireMstsApi.as_view(), name="fhir-questionnaire-msts"),
    path("exports/codebook.csv", CodebookCsvView.as_view(), name="export-codebook-csv"),
    path(
        "exports/redcap-data-dictionary.csv",
        RedcapDataDictionaryView.as_view(),
        name="export-redcap-data-dictionary-csv",
    ),
    path("exports/registry.xlsx", RegistryWorkbookView.as_view(), name="export-registry-xlsx"),
    *[
        path(
            f"exports/encounters{'-deidentified' if deidentified else ''}.{file_format}",
            view.as_view(),
            name=f"export-encounters{'-deidentified' if deidentified else ''}-{file_format}",
        )
        for (deidentified, file_format), view in STATISTICS_FILE_VIEWS.items()
    ],
]
