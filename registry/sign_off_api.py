"""REST actions of record sign-off (``registry.sign_off``): POST /api/procedures/{id}/sign-off/
with the admin's ``password``, and POST /api/procedures/{id}/unlock/ with a ``change_reason``.

Registry admins only (403 for others, 404 for a procedure the user cannot see); a refusal by the
service is a 400 naming the field. The answer is the procedure as ``GET /api/procedures/{id}/``
gives it, with ``signed_off`` and ``signed_off_at``.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.parsers import BoundedJSONParser
from core.request_body import refuse_fields_outside_the_schema
from core.rest import FIELD_ERRORS, FORBIDDEN, NOT_AUTHENTICATED, NOT_FOUND, Text, etag, field_errors
from registry import selectors, sign_off
from registry.api import ProcedureSerializer, index_date_of
from registry.models import Screw
from registry.permissions import RegistryAccess, may_see_phi


class SignOffRequestSerializer(serializers.Serializer):
    password = Text(
        max_length=4096, trim_whitespace=False, help_text="The admin's own password, re-entered to sign off."
    )


class UnlockRequestSerializer(serializers.Serializer):
    change_reason = Text(
        max_length=500, allow_blank=True, help_text="Why the record is unlocked; kept in the audit trail. Required."
    )


class _ProcedureAction(APIView):
    permission_classes = [RegistryAccess]
    parser_classes = [BoundedJSONParser]
    request_serializer: type[serializers.Serializer]

    def call(self, procedure, data: dict):
        raise NotImplementedError

    def _procedures(self):
        return (
            selectors.procedures_visible_to(self.request.user)
            .select_related("patient")
            .prefetch_related(Prefetch("screws", queryset=Screw.objects.order_by("id")))
            .annotate(index_date=index_date_of("patient_id"))
        )

    def handle_exception(self, exc):
        if isinstance(exc, DjangoValidationError):
            exc = exceptions.ValidationError(field_errors(exc))
        return super().handle_exception(exc)

    def post(self, request, pk: int):
        procedure = get_object_or_404(self._procedures(), pk=pk)
        fields = self.request_serializer().fields
        refuse_fields_outside_the_schema(request.data, writable=fields, readable={}, current=None, versioned=False)
        body = self.request_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        self.call(procedure, body.validated_data)
        fresh = self._procedures().get(pk=procedure.pk)
        data = ProcedureSerializer(fresh, context={"request": request, "phi": may_see_phi(request.user)}).data
        return Response(data, headers=etag(fresh))


_RESPONSES = {200: ProcedureSerializer, 400: FIELD_ERRORS, 401: NOT_AUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND}


class ProcedureSignOffView(_ProcedureAction):
    request_serializer = SignOffRequestSerializer

    @extend_schema(
        summary="Sign off a procedure as complete",
        description="Registry admins only, re-entering their password (wrong: 400 `password`). Only the "
        "patient's index procedure, once its 3-month window has closed (procedure date + 120 days before "
        "today). From then on the procedure, its screws, encounters, visits not done, secondary procedures and "
        "complications refuse every change with 400 `non_field_errors` until a registry admin unlocks it.",
        request=SignOffRequestSerializer,
        responses=_RESPONSES,
        tags=["procedures"],
    )
    def post(self, request, pk: int):
        return super().post(request, pk)

    def call(self, procedure, data):
        sign_off.procedure_sign_off(user=self.request.user, procedure=procedure, password=data["password"])


class ProcedureUnlockView(_ProcedureAction):
    request_serializer = UnlockRequestSerializer

    @extend_schema(
        summary="Unlock a signed-off procedure",
        description="Registry admins only, with a `change_reason` (blank: 400). Lifts the sign-off so the "
        "procedure and its records can be changed again; the reason is kept in the audit trail.",
        request=UnlockRequestSerializer,
        responses=_RESPONSES,
        tags=["procedures"],
    )
    def post(self, request, pk: int):
        return super().post(request, pk)

    def call(self, procedure, data):
        sign_off.procedure_unlock(user=self.request.user, procedure=procedure, reason=data["change_reason"])
