"""The API token endpoint (docs/contract.md): a username and password, and for a registry admin a
one-time code, traded for an expiring token (registry/tokens.py keeps its digest)."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.mfa import check_token_otp
from core.rest import FIELD_ERRORS, ErrorSerializer, Text
from registry.tokens import DEFAULT_CLIENT_NAME, MAX_TOKENS_PER_USER, TooManyTokens, issue_token

CLIENT_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class TokenRequestSerializer(serializers.Serializer):
    username = Text(max_length=150)
    password = Text(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.RegexField(
        CLIENT_NAME,
        max_length=64,
        required=False,
        default=DEFAULT_CLIENT_NAME,
        help_text="The client's name (letters, digits, '.', '_', '-'; 'default' when left out). A new login "
        "with the same name replaces that client's token; a user holds at most "
        f"{MAX_TOKENS_PER_USER} tokens.",
        error_messages={"invalid": "Use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."},
    )
    otp = Text(
        max_length=32,
        required=False,
        default="",
        help_text="Required of registry admins (and of anyone who set up two-factor login): the current 6-digit "
        "code of the authenticator app, or one of the recovery codes (used up).",
    )


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as 'Authorization: Token <token>'. Shown once, stored hashed.")
    expiry = serializers.DateTimeField(
        help_text="When the token stops working (TOKEN_TTL_HOURS after the login, never extended)."
    )


class TokenView(APIView):
    """Trades a username and password for an API token that expires (repeated failures lock the account,
    as on the web). Only a digest of the token is stored; a password change, a lockout or a deactivation
    revokes every token of the account."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"  # requests an address may make a minute (REST_FRAMEWORK's DEFAULT_THROTTLE_RATES)

    @extend_schema(
        summary="Get an API token",
        request=TokenRequestSerializer,
        responses={
            200: TokenResponseSerializer,
            400: FIELD_ERRORS,
            429: OpenApiResponse(
                ErrorSerializer,
                description="Locked out after repeated failed logins (per username and address, and per address), "
                "or too many requests from the address.",
            ),
        },
        examples=[
            OpenApiExample(
                "Credentials",
                value={"username": "alice", "password": "correct horse battery", "name": "nightly-export"},
                request_only=True,
            )
        ],
        auth=[],
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = authenticate(request=request, username=data["username"], password=data["password"])
        if getattr(request, "axes_locked_out", False):
            return Response(
                {"detail": "Account locked: too many failed logins. Try again later."},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        if user is None:
            raise exceptions.ValidationError({"non_field_errors": ["Unable to log in with the given credentials."]})
        why_not = check_token_otp(request, user, data["otp"])
        if why_not:
            if getattr(request, "axes_locked_out", False):
                return Response(
                    {"detail": "Account locked: too many failed logins. Try again later."},
                    status=status.HTTP_429_TOO_MANY_REQUESTS,
                )
            raise exceptions.ValidationError({"otp": [why_not]})
        try:
            token, key = issue_token(user, data["name"])
        except TooManyTokens as error:
            raise exceptions.ValidationError({"name": [str(error)]}) from None
        return Response(TokenResponseSerializer({"token": key, "expiry": token.expiry}).data)
