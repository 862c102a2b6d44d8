"""HL7 FHIR R4 endpoints (docs/contract.md, "Interoperability"); the resources are built by interop.fhir.

Reads only. A patient's ``$everything`` is identified data: clinicians (their sites' patients; any
other is not found) and admins, each read recorded in the PHI access log; investigators get 403.
The code system and the MSTS questionnaire hold no patient data: every registry role reads them.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from core.rest import NOT_AUTHENTICATED, NOT_FOUND, ErrorSerializer
from interop import fhir
from outcomes.selectors import patient_timeline
from registry.access_log import phi_access_record
from registry.models import PhiAccess
from registry.permissions import AnyRegistryRole, may_see_phi
from registry.selectors import patients_visible_to

IDENTIFIED_ONLY = "This resource holds identified data, which investigators may not read."
NO_ROLE = OpenApiResponse(ErrorSerializer, description="The account has no registry role.")


def _fhir_response(resource: dict) -> Response:
    return Response(resource, content_type=fhir.CONTENT_TYPE)


def _fhir_ok(description: str) -> dict:
    return {(200, fhir.CONTENT_TYPE): OpenApiResponse(OpenApiTypes.OBJECT, description=description)}


class FhirPatientEverythingApi(APIView):
    permission_classes = [AnyRegistryRole]

    @extend_schema(
        operation_id="fhir_patient_everything",
        summary="A patient's records as a FHIR R4 Bundle",
        description=(
            f"HL7 FHIR R4 ({fhir.FHIR_VERSION}), `{fhir.CONTENT_TYPE}`: a `Bundle` of type `collection` holding the "
            "Patient (the MRN as an identifier whose system names the site, the study id), each Procedure (the "
            "treatment in the registry's code system, body site sacrum, the screws in an extension; no CPT code: "
            "the registry does not record whether an augmentation is unilateral or bilateral), each visit as an "
            "Encounter, each MSTS assessment as an Observation (the total as its value when all six domains are "
            "scored, one component per scored domain), the opioid dose as an Observation in mg/d, and each "
            "complication as an AdverseEvent. References point at the `urn:uuid:` fullUrls of the entries. "
            "Clinicians (their sites) and admins only; every read is recorded in the PHI access log."
        ),
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="The patient's id.")],
        responses={
            **_fhir_ok("A FHIR R4 Bundle (type collection)."),
            401: NOT_AUTHENTICATED,
            403: OpenApiResponse(ErrorSerializer, description="Investigators, or an account without a role."),
            404: NOT_FOUND,
        },
    )
    def get(self, request, id):
        if not may_see_phi(request.user):
            raise exceptions.PermissionDenied(IDENTIFIED_ONLY)
        pk = int(id) if id.isascii() and id.isdigit() and len(id) <= 10 else None
        patient = None if pk is None else patients_visible_to(request.user).select_related("site").filter(pk=pk).first()
        if patient is None:
            raise exceptions.NotFound()
        bundle = fhir.patient_everything(patient, patient_timeline(patient))
        phi_access_record(request=request, action=PhiAccess.Action.API_READ, patient=patient)
        return _fhir_response(bundle)


class FhirCodeSystemApi(APIView):
    permission_classes = [AnyRegistryRole]

    @extend_schema(
        operation_id="fhir_code_system",
        summary="The registry's FHIR CodeSystem",
        description=(
            f"HL7 FHIR R4 ({fhir.FHIR_VERSION}) `CodeSystem` `{fhir.CODE_SYSTEM_ID}`: the codes of the resources of "
            "`$everything` (treatments, fracture statuses, kinds of visit, the MSTS total `msts` and its domains, "
            "`opioid-mme-per-day`, complications). No patient data: every registry role reads it."
        ),
        responses={**_fhir_ok("A FHIR R4 CodeSystem."), 401: NOT_AUTHENTICATED, 403: NO_ROLE},
    )
    def get(self, request):
        return _fhir_response(fhir.code_system())


class FhirQuestionnaireMstsApi(APIView):
    permission_classes = [AnyRegistryRole]

    @extend_schema(
        operation_id="fhir_questionnaire_msts",
        summary="The MSTS form as a FHIR Questionnaire",
        description=(
            f"HL7 FHIR R4 ({fhir.FHIR_VERSION}) `Questionnaire` `{fhir.QUESTIONNAIRE_ID}`: six choice items, one per "
            "MSTS domain, each with the answers 5 to 0 and their descriptors. No patient data: every registry role "
            "reads it."
        ),
        responses={**_fhir_ok("A FHIR R4 Questionnaire."), 401: NOT_AUTHENTICATED, 403: NO_ROLE},
    )
    def get(self, request):
        return _fhir_response(fhir.questionnaire())
