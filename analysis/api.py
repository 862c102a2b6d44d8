"""REST endpoints of the cohort statistics (docs/contract.md, "The stats document")."""

from django.http import Http404, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import cache_control
from django.views.decorators.http import condition
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis.selectors import refresh_state, snapshot_document_text, snapshot_latest
from analysis.services import stats_refresh_schedule
from core.rest import NOT_AUTHENTICATED, ErrorSerializer
from registry.permissions import AnyRegistryRole
from registry.selectors import resolve_site

NOT_COMPUTED = "The statistics have not been computed yet; a refresh runs every few minutes. Try again shortly."
NO_SITE = "No site with this code among the sites you may see."


class NotComputed(APIException):
    """503 before the first refresh; DRF's exception handler sends ``wait`` as Retry-After."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = NOT_COMPUTED
    default_code = "not_computed"
    wait = 60


def _latest_snapshot(request):
    """The newest snapshot of the scope asked for, without its document. Read once a request:
    the ETag function and the view both ask, and the second gets it from the request."""
    snapshot = getattr(request, "_stats_snapshot", None)
    if snapshot is None:
        try:
            site = resolve_site(request.user, request.query_params.get("site"))
        except Http404:
            raise NotFound(NO_SITE) from None
        snapshot = snapshot_latest(site_id=site.pk if site else None, with_document=False)
        if snapshot is None:
            raise NotComputed
        request._stats_snapshot = snapshot
    return snapshot


def _stats_etag(request) -> str:
    """A snapshot never changes: its id and fingerprint name its bytes."""
    snapshot = _latest_snapshot(request)
    return f'"{snapshot.pk}-{snapshot.fingerprint[:16]}"'


class StatsApi(APIView):
    permission_classes = [AnyRegistryRole]

    @extend_schema(
        summary="The latest cohort statistics",
        description=(
            "The stats document of the whole registry, or of one site with `?site=<code>`. "
            "Clinicians may ask for their own sites only; investigators and admins for any. "
            "Besides the documented keys the document carries `n_patients_analysed`, per group `msts_n` and "
            "`msts_excluded` (patients with or without both scores for each measure), `time_to_secondary_days`, "
            "`kaplan_meier` (secondary-procedure-free time), `followup_days`, `complications` and "
            "`narcotic_change.not_recorded`, per demographics group `primary_cancer_codes`, and `enrolment` by month; "
            "and, by treatment, `survival` (Kaplan-Meier overall survival: `n`, `events`, `median_days`, `at_days` "
            "and `ci_at_days` at 90, 180 and 365 days, log(-log) Greenwood 95% intervals) and "
            "`secondary_procedure_incidence` (Aalen-Johansen, death competing: `n`, `events`, `competing`, "
            "`at_days`); "
            "per stratum, `trajectory` (a linear mixed model of every complete post-operative MSTS total, "
            "`post ~ psfs + pre + months` with a random intercept per patient, REML: the `psfs` coefficient's "
            "`difference`, `ci_low`, `ci_high`, `p_value`, with `n_patients` and `n_visits`; fitted by the refresh "
            "for a stratum of at most 500 patients, a larger one has a `note` instead), `responders` (the shared "
            "distribution-based `mcid`, half the SD of the scope's baseline totals; per treatment `responders`, "
            "`n`, `rate`; Fisher's exact `p_value`), and in `strata.<stratum>` the `improvement_p_value` of the "
            "groups' `improvement_pct`, with `improvement_test` (`test`: `welch_t`, `statistic`, `df`, `p_value`, "
            "`n_psfs`, `n_sacroplasty`, and a `note` naming the test: Welch's t-test, unequal variances, two-sided, "
            "of the improvement percentages). "
            '`completeness` (contract "Follow-up completeness"), at the top level and in each '
            "`strata.<stratum>.groups.<treatment>`: for each visit `week2`, `month1`, `month3`, over index procedures, "
            "`expected` (the window has opened, and a follow-up falls in it or the patient had not died, withdrawn or "
            "been lost by its last day, or by today while it is open), `done`, `not_done` (a visit not done), "
            "`missed` (neither, window closed) and `pending` (neither, window open); "
            "`done + not_done + missed + pending = expected`. Beside it `followup_flow`, what the dashboard's flow "
            "diagram adds: `index_procedures`, `signed_off` (index procedures signed off as complete) and per visit "
            "`not_yet_open`, `died`, `withdrawn`, `lost` (patients who left before the window, by the first of death "
            "and status date) and `not_done_reasons` (every reason code with its count). Counts only, no dates: "
            "investigators get them too. "
            "The response carries an `ETag` naming the snapshot: send it back in `If-None-Match` to get a 304 "
            "without the document while no newer snapshot exists."
        ),
        parameters=[OpenApiParameter("site", OpenApiTypes.STR, description="Site code, e.g. MCW.")],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The stats document."),
            304: OpenApiResponse(description="The snapshot named in If-None-Match is still the latest."),
            401: NOT_AUTHENTICATED,
            403: OpenApiResponse(ErrorSerializer, description="The account has no registry role."),
            404: OpenApiResponse(ErrorSerializer, description="Unknown site, or a site the user may not see."),
            503: OpenApiResponse(ErrorSerializer, description="No statistics computed yet."),
        },
    )
    @method_decorator(cache_control(private=True, no_cache=True))
    @method_decorator(condition(etag_func=_stats_etag))  # the ETag, and 304 on If-None-Match
    def get(self, request):
        # The document is sent as PostgreSQL stores it, without parsing and re-encoding ~150 KB of
        # JSON a request.
        snapshot = _latest_snapshot(request)
        return HttpResponse(snapshot_document_text(snapshot.pk), content_type="application/json")


class StatsRefreshApi(APIView):
    # Every role, investigators too: asking for a refresh changes no record (RegistryAccess would
    # refuse their POST).
    permission_classes = [AnyRegistryRole]

    class OutputSerializer(serializers.Serializer):
        detail = serializers.CharField()
        status = serializers.CharField(help_text="never, refreshing, failed, stale or fresh.")

    @extend_schema(
        summary="Ask for a recomputation of the statistics",
        description="Schedules a refresh (requests within a few seconds of each other share one) and answers 202.",
        request=None,
        responses={
            202: OutputSerializer,
            401: NOT_AUTHENTICATED,
            403: OpenApiResponse(ErrorSerializer, description="No registry role."),
        },
    )
    def post(self, request):
        stats_refresh_schedule()
        data = {"detail": "A refresh of the statistics has been scheduled.", "status": refresh_state()["status"]}
        return Response(self.OutputSerializer(data).data, status=status.HTTP_202_ACCEPTED)
