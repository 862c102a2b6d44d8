"""Routes of the interoperability API; config.api_urls mounts them under /api/."""

from django.urls import path

from interop.export_api import STATISTICS_FILE_VIEWS, CodebookCsvView

urlpatterns = [
    path("exports/codebook.csv", CodebookCsvView.as_view(), name="export-codebook-csv"),
    *[
        path(
            f"exports/encounters{'-deidentified' if deidentified else ''}.{file_format}",
            view.as_view(),
            name=f"export-encounters{'-deidentified' if deidentified else ''}-{file_format}",
        )
        for (deidentified, file_format), view in STATISTICS_FILE_VIEWS.items()
    ],
]
