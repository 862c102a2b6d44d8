"""``/api/exports/registry.xlsx``: the registry workbook (``interop.workbook``) of the records the user
may see. Identified data: clinicians get their sites, admins every site, investigators 403; each
download is recorded in the PHI access log."""

import tempfile

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from core.rest import FORBIDDEN, NOT_AUTHENTICATED, IgnoreClientNegotiation
from interop.workbook import FILE_NAME, MEDIA_TYPE, SHEETS, workbook_write
from registry.access_log import phi_access_record
from registry.models import PhiAccess
from registry.permissions import RegistryAccess, may_see_phi


class RegistryWorkbookView(APIView):
    permission_classes = [RegistryAccess]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreClientNegotiation

    @extend_schema(
        summary="The registry workbook (identified, every record), XLSX",
        description=(
            f"One sheet per resource ({', '.join(SHEETS)}), columns named as in the contract, rows tied to "
            "their parents by site + MRN (+ procedure_date + procedure_treatment) instead of ids; the file "
            "`manage.py import_registry` reads. Clinicians get their sites, admins every site; investigators "
            "are refused (403)."
        ),
        responses={
            (200, MEDIA_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="The workbook."),
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
        },
    )
    def get(self, request, *args, **kwargs):
        if not may_see_phi(request.user):
            raise exceptions.PermissionDenied("Investigators may use only the de-identified exports.")
        # Built in a temporary file (write-only mode streams rows into it), then streamed back.
        file = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
        workbook_write(file, user=request.user)
        file.seek(0)
        phi_access_record(request=request, action=PhiAccess.Action.EXPORT_IDENTIFIED, what=FILE_NAME)
        response = FileResponse(file, as_attachment=True, filename=FILE_NAME, content_type=MEDIA_TYPE)
        response["Cache-Control"] = "no-store"
        return response
