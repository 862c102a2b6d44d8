"""REST endpoints of the cohort statistics (docs/contract.md, "The stats document")."""

from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis.selectors import refresh_state, snapshot_document_text, snapshot_latest
from analysis.services import stats_refresh_schedule
from registry.permissions import user_role
from registry.selectors import resolve_site

NOT_COMPUTED = "The statistics have not been computed yet; a refresh runs every few minutes. Try again shortly."
NO_SITE = "No site with this code among the sites you may see."
NO_ROLE = "Your account has no registry role."


def _check_role(user) -> None:
    if user_role(user) is None:
        raise PermissionDenied(NO_ROLE)


_Detail = inline_serializer("StatsDetail", {"detail": serializers.CharField()})


class StatsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="The latest cohort statistics",
        description=(
            "The stats document of the whole registry, or of one site with `?site=<code>`. "
            "Clinicians may ask for their own sites only; investigators and admins for any. "
            "Besides the documented keys the document carries `n_patients_analysed`, per group `msts_n` and "
            "`msts_excluded` (patients with or without both scores for each measure), `time_to_secondary_days`, "
            "`kaplan_meier` (secondary-procedure-free time), `followup_days`, `complications` and "
            "`narcotic_change.not_recorded`, per demographics group `primary_cancer_codes`, and `enrolment` by month. "
            "The response carries an `ETag` naming the snapshot: send it back in `If-None-Match` to get a 304 "
            "without the document while no newer snapshot exists."
        ),
        parameters=[OpenApiParameter("site", OpenApiTypes.STR, description="Site code, e.g. MCW.")],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The stats document."),
            304: OpenApiResponse(description="The snapshot named in If-None-Match is still the latest."),
            403: OpenApiResponse(_Detail, description="The account has no registry role."),
            404: OpenApiResponse(_Detail, description="Unknown site, or a site the user may not see."),
            503: OpenApiResponse(_Detail, description="No statistics computed yet."),
        },
    )
    def get(self, request):
        _check_role(request.user)
        try:
            site = resolve_site(request.user, request.query_params.get("site"))
        except Http404:
            raise NotFound(NO_SITE) from None
        snapshot = snapshot_latest(site_id=site.pk if site else None, with_document=False)
        if snapshot is None:
            return Response(
                {"detail": NOT_COMPUTED}, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "60"}
            )
        # A snapshot never changes: its id and fingerprint name its bytes. The document is sent as
        # PostgreSQL stores it, without parsing and re-encoding ~150 KB of JSON a request.
        etag = f'"{snapshot.pk}-{snapshot.fingerprint[:16]}"'
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if etag in parse_etags(request.headers.get("If-None-Match", "")):
            return HttpResponseNotModified(headers=headers)
        return HttpResponse(snapshot_document_text(snapshot.pk), content_type="application/json", headers=headers)


class StatsRefreshApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        detail = serializers.CharField()
        status = serializers.CharField(help_text="never, refreshing, failed, stale or fresh.")

    @extend_schema(
        summary="Ask for a recomputation of the statistics",
        description="Schedules a refresh (requests within a few seconds of each other share one) and answers 202.",
        request=None,
        responses={202: OutputSerializer, 403: OpenApiResponse(_Detail, description="No registry role.")},
    )
    def post(self, request):
        _check_role(request.user)
        stats_refresh_schedule()
        data = {"detail": "A refresh of the statistics has been scheduled.", "status": refresh_state()["status"]}
        return Response(self.OutputSerializer(data).data, status=status.HTTP_202_ACCEPTED)
