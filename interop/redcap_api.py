"""``/api/exports/redcap-data-dictionary.csv``: the registry's instruments as a REDCap data dictionary
(``interop.redcap``). It holds no data, so every role may read it."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from core.csv_safe import SafeWriter
from core.rest import FORBIDDEN, NOT_AUTHENTICATED, IgnoreClientNegotiation
from interop.redcap import dictionary_cells
from registry.permissions import RegistryAccess


class _Echo:
    def write(self, value: str) -> str:
        return value


class RedcapDataDictionaryView(APIView):
    permission_classes = [RegistryAccess]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreClientNegotiation

    @extend_schema(
        summary="REDCap data dictionary of the registry's instruments, CSV",
        description="A REDCap data dictionary (its 18 columns) with the forms patient, procedure, screw, "
        "encounter, secondary_procedure and complication: one row per field, radio and checkbox choices whose "
        "raw values are the contract's codes ('psfs, PSFS (screw fixation with sacroplasty) | ...'), dates "
        "validated date_ymd, MSTS domains integer 0-5, the MSTS total and percentage as calc fields, the MRN, "
        "dates and free texts flagged as identifiers. Every form but patient is meant to be a repeating "
        "instrument (set in the REDCap project), linked to its procedure by the procedure's repeat instance. "
        "It holds no data: every role may read it.",
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV with REDCap's header row."),
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
        },
    )
    def get(self, request, *args, **kwargs):
        writer = SafeWriter(_Echo())
        response = StreamingHttpResponse(
            [writer.writerow(cells) for cells in dictionary_cells()], content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="redcap-data-dictionary.csv"'
        response["Cache-Control"] = "no-store"
        return response
