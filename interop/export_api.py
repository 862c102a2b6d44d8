"""The encounter exports as Stata and SPSS files, and the codebook of every export column.

The same rights as the CSV and JSON exports (``outcomes.api.EncounterExportView``): the identified
files for the users who may see PHI (clinicians: their sites; admins: all), each download recorded
in the PHI access log; the de-identified files for every role. The codebook holds no data: every
role may read it.
"""

from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from core.csv_safe import SafeWriter
from core.rest import FORBIDDEN, NOT_AUTHENTICATED, IgnoreClientNegotiation
from interop import statfiles
from interop.codebook import CODEBOOK_COLUMNS, codebook_rows, layout
from outcomes import exports, selectors
from registry.access_log import phi_access_record
from registry.models import PhiAccess
from registry.permissions import RegistryAccess, may_see_phi

_PACKAGES = {statfiles.STATA: "Stata 15 or later", statfiles.SPSS: "SPSS"}


class StatisticsFileView(APIView):
    """The encounters the user may see as one Stata or SPSS file (``interop.statfiles``)."""

    permission_classes = [RegistryAccess]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreClientNegotiation
    file_format = statfiles.STATA
    deidentified = False

    def get(self, request, *args, **kwargs):
        if not self.deidentified and not may_see_phi(request.user):
            raise exceptions.PermissionDenied("Investigators may use only the de-identified export.")
        name = f"{'encounters-deidentified' if self.deidentified else 'encounters'}.{self.file_format}"
        rows = exports.iter_rows(selectors.encounters_visible_to(request.user), deidentified=self.deidentified)
        file = statfiles.temporary_file(rows, layout(deidentified=self.deidentified), self.file_format)
        if not self.deidentified:
            phi_access_record(request=request, action=PhiAccess.Action.EXPORT_IDENTIFIED, what=name)
        response = FileResponse(
            file, as_attachment=True, filename=name, content_type=statfiles.MEDIA_TYPES[self.file_format]
        )
        response["Cache-Control"] = "no-store"
        return response


def _file_view_class(*, deidentified: bool, file_format: str) -> type[StatisticsFileView]:
    label = "de-identified (HIPAA Safe Harbor)" if deidentified else "identified (PHI)"
    media_type = statfiles.MEDIA_TYPES[file_format]
    schema = extend_schema(
        summary=f"Encounters export, {label}, {_PACKAGES[file_format]} file (.{file_format})",
        description=(
            "The rows and columns of the CSV export of the same name, with a variable label on every column "
            "and value labels on every coded one: codes are numbered 1..n, booleans are 0/1 (see "
            "/api/exports/codebook.csv). "
        )
        + (
            "Every role may use it."
            if deidentified
            else "Clinicians get their sites, admins every site; investigators are refused (403)."
        ),
        responses={
            (200, media_type): OpenApiResponse(
                OpenApiTypes.BINARY, description=f"The file, for {_PACKAGES[file_format]}."
            ),
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
        },
    )

    def get(self, request, *args, **kwargs):
        return StatisticsFileView.get(self, request, *args, **kwargs)

    name = f"EncounterExport{'Deidentified' if deidentified else ''}{file_format.upper()}View"
    return type(
        name, (StatisticsFileView,), {"deidentified": deidentified, "file_format": file_format, "get": schema(get)}
    )


STATISTICS_FILE_VIEWS = {
    (deidentified, file_format): _file_view_class(deidentified=deidentified, file_format=file_format)
    for deidentified in (False, True)
    for file_format in (statfiles.STATA, statfiles.SPSS)
}


class _Echo:
    def write(self, value: str) -> str:
        return value


class CodebookCsvView(APIView):
    permission_classes = [RegistryAccess]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreClientNegotiation

    @extend_schema(
        summary="Codebook of the encounter exports, CSV",
        description="One row per column of either encounter export: variable, label, type, unit and codes "
        "(each code with its number in the Stata and SPSS files, e.g. 'psfs=1 PSFS (...)'). Every role may read it.",
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV with a header row."),
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
        },
    )
    def get(self, request, *args, **kwargs):
        writer = SafeWriter(_Echo())
        lines = [writer.writerow(CODEBOOK_COLUMNS), *(writer.writerow(row) for row in codebook_rows())]
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="codebook.csv"'
        response["Cache-Control"] = "no-store"
        return response
