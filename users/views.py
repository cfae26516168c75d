"""Account API views: one APIView per operation, thin over users.services (their plumbing: users.http)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser
from rest_framework.request import Request
from rest_framework.response import Response

from users import schema as ex
from users import serializers as s
from users.http import (
    UNAUTHENTICATED,
    AccountAPIView,
    AnswerFirstResponse,
    PublicAPIView,
    bad_request,
    client_ip,
    continued_session_pair,
    current_session,
    error,
    new_session_pair,
    tokens_response,
)
from users.services import (
    AccountDeletionService,
    ActivationService,
    AuthService,
    PasswordResetService,
    PhoneChangeService,
    change_password,
    export,
    receipts,
    sms_status,
)
from users.services.sessions import device_label, end_other_sessions, end_session, live_sessions
from users.tokens import revoke, rotate
from waterbill.parsers import JSONParser
from waterbill.throttling import FixedWindowScopedThrottle


class RegisterView(PublicAPIView):
    """Sign up with a phone number; the account stays inactive until the SMS code is entered."""

    throttle_scope = "register"

    @extend_schema(
        request=s.RegisterSerializer,
        responses={
            201: s.RegistrationSerializer,
            400: bad_request(
                "`phone`: `phone_invalid`, `phone_region_not_allowed`, `phone_not_mobile`, "
                "`phone_taken` (an account uses this number: log in or reset the password), `phone_rejected` (the "
                "SMS provider refuses the number); `password`: Django's validator codes; `password_confirm`: "
                "`password_mismatch`."
            ),
            429: error(
                "`throttled` (too many sign-ups from this address), or `resend_too_soon` / `resend_limit_reached`: "
                "the number has a pending sign-up whose codes are spent, and it already got its share of codes "
                "(one a minute, five an hour). See `Retry-After`."
            ),
            503: error(
                "`sms_unavailable` (the SMS could not be sent), `sms_busy` (this worker's SMS slots are all taken "
                "by sends in flight: shed at once, `Retry-After: 5`) or `service_unavailable` (the database "
                "failed): nothing was kept. Retry after `Retry-After`."
            ),
        },
        summary="Sign up (step 1): a pending account and an SMS code",
        examples=[
            ex.request("sign-up", ex.sign_up()),
            ex.answer(201, "created", ex.registration, "created: pending (is_active false), the code sent"),
            ex.invalid(s.RegisterSerializer, ex.sign_up(**ex.BAD_PHONE_SHORT_MISMATCHED),
                       "invalid_fields", "invalid fields, every one in one answer"),
            ex.invalid(s.RegisterSerializer, ex.sign_up(phone="+33 6 12 34 56 78"), "phone_region_not_allowed"),
            ex.invalid(s.RegisterSerializer, ex.sign_up(phone="222 12 34 56"), "phone_not_mobile",
                       "phone_not_mobile: a fixed line"),
            ex.invalid(s.RegisterSerializer, ex.sign_up(**ex.COMMON_PASSWORD),
                       "password_too_common", "password_too_common (and the other password rules)"),
            ex.refusal(400, ex.refusals.PhoneTaken, "phone_taken: an account uses this number"),
            ex.answer(400, "phone_taken_pending", ex.refusals.PhoneTaken.pending,
                      "phone_taken: a sign-up of this number waits for its code"),
            ex.refusal(400, ex.refusals.PhoneRejected, "phone_rejected: the SMS provider refuses the number"),
            ex.throttled(),
            *ex.send_limits(),
            *ex.sms_failures(),
            ex.service_unavailable(),
        ],
        tags=["sign-up"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        registration = AuthService.register(**serializer.validated_data, client_ip=client_ip(request))
        return Response(s.RegistrationSerializer(registration).data, status=status.HTTP_201_CREATED)


class ActivateView(PublicAPIView):
    """Enter the SMS code: the account becomes active and the answer carries a JWT pair."""

    throttle_scope = "activate"

    @extend_schema(
        request=s.ActivateSerializer,
        responses={
            200: s.ActivationResultSerializer,
            400: bad_request(
                "`{detail, code}` with `code_invalid` (wrong code; one attempt counted), `code_expired`, "
                "`code_used`, `code_attempts_exceeded` (ask for a new code) or `signup_invalid` (the sign-up "
                "token does not match: a newer sign-up replaced this one; sign up again)."
            ),
            429: error(
                "`throttled` (too many requests from this address) or `activation_locked` (too many wrong codes "
                "for this number, from this address or from all; the lock ends by itself within an hour). See "
                "`Retry-After`."
            ),
            503: error("`service_unavailable`: the shared cache that counts the throttle and the wrong codes."),
        },
        summary="Activate (step 2): the SMS code, and the sign-up token or a new password",
        examples=[
            ex.request("with the sign-up token", {"phone": ex.PHONE, "code": ex.CODE, "signup_token": ex.SIGNUP_TOKEN}),
            ex.request("with a new password", {"phone": ex.PHONE, "code": ex.CODE, "password": ex.NEW_PASSWORD},
                       "with a new password (the sign-up answer was lost)"),
            ex.answer(200, "activated", ex.logged_in, "activated and logged in"),
            ex.refusal(400, lambda: ex.refusals.CodeInvalid.with_remaining(4), "code_invalid: wrong code"),
            ex.refusal(400, ex.refusals.CodeExpired),
            ex.refusal(400, ex.refusals.CodeUsed, "code_used: the account is active already"),
            ex.refusal(400, ex.refusals.CodeAttemptsExceeded),
            ex.refusal(400, ex.refusals.SignupInvalid, "signup_invalid: a newer sign-up replaced this one"),
            ex.invalid(s.ActivateSerializer, {"phone": ex.PHONE, "code": ex.CODE}, "no_proof",
                       "required: neither signup_token nor password"),
            ex.invalid(s.ActivateSerializer, {"phone": ex.PHONE, "code": "12 34", "signup_token": ex.SIGNUP_TOKEN,
                                              "password": ex.NEW_PASSWORD}, "invalid_fields",
                       "invalid: a malformed code, and both proofs"),
            ex.password_rules("password"),
            ex.refusal(429, lambda: ex.refusals.ActivationLocked(retry_after=3600)),
            ex.throttled(),
            ex.service_unavailable(),
        ],
        tags=["sign-up"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.ActivateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = ActivationService.activate(
            phone=data["phone"],
            code=data["code"],
            signup_token=data.get("signup_token"),
            password=data.get("password"),
            client_ip=client_ip(request),
        )
        pair = new_session_pair(request, user, data.get("device_name"))
        return tokens_response(s.ActivationResultSerializer({**pair, "user": user}).data)


class SignupSmsStatusView(PublicAPIView):
    """What became of the sign-up's activation SMS: for its client only (the sign-up token), in a POST body."""

    throttle_scope = "activate"  # the rate of activation: the same proof is guessed at

    @extend_schema(
        request=s.SmsStatusRequestSerializer,
        responses={
            200: s.SmsStatusSerializer,
            400: bad_request("`signup_invalid`: unknown number, not pending, or wrong token (one answer for all)."),
            429: error("`throttled` (too many requests from this address). See `Retry-After`."),
            503: error("`service_unavailable` (the shared cache that counts the throttle)."),
        },
        summary="What became of the activation SMS",
        examples=[
            ex.request("status", {"phone": ex.PHONE, "signup_token": ex.SIGNUP_TOKEN}),
            ex.answer(200, "delivered", ex.sms_status, "delivered (from the provider's receipt)"),
            ex.refusal(400, ex.refusals.SignupInvalid, "signup_invalid: unknown number, not pending, or wrong token"),
            ex.invalid(s.SmsStatusRequestSerializer, {"phone": ex.PHONE}, "required"),
            ex.throttled(),
            ex.service_unavailable(),
        ],
        tags=["sign-up"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.SmsStatusRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        answer = sms_status.signup_sms_status(
            serializer.validated_data["phone"], signup_token=serializer.validated_data["signup_token"]
        )
        return Response(s.SmsStatusSerializer(answer).data)


class ResendActivationView(PublicAPIView):
    """Ask for a new activation code. The answer is the same whether or not the number has a pending account."""

    throttle_scope = "resend"

    @extend_schema(
        request=s.PhoneSerializer,
        responses={
            202: s.ActivationResendSerializer,
            400: bad_request("`phone`: the phone codes, or `phone_rejected` (the SMS provider refuses the number)."),
            429: error(
                "`throttled` (too many requests from this address), `resend_too_soon` (one code a minute) or "
                "`resend_limit_reached` (five an hour). See `Retry-After`."
            ),
            503: error(
                "`sms_unavailable` (the SMS could not be sent), `sms_busy` (every SMS slot of this worker is "
                "taken: shed at once, `Retry-After: 5`) or `service_unavailable` (the database failed); the "
                "previous code still works."
            ),
        },
        summary="Resend the activation code",
        examples=[
            ex.request("resend", {"phone": ex.PHONE}),
            ex.answer(202, "accepted", ex.activation_resend_sent, "the same for every number"),
            ex.invalid(s.PhoneSerializer, {"phone": "12345"}, "phone_invalid"),
            ex.refusal(400, ex.refusals.PhoneRejected, "phone_rejected: the SMS provider refuses the number"),
            ex.throttled(),
            *ex.send_limits(),
            *ex.sms_failures(),
        ],
        tags=["sign-up"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.PhoneSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        resend = ActivationService.resend_activation_code(serializer.validated_data["phone"])
        return Response(s.ActivationResendSerializer(resend).data, status=status.HTTP_202_ACCEPTED)


class LoginView(PublicAPIView):
    """Log in with phone and password; answers a JWT pair."""

    throttle_scope = "login"

    @extend_schema(
        request=s.LoginSerializer,
        responses={
            200: s.TokenPairSerializer,
            400: bad_request(),
            401: error("`invalid_credentials`: unknown number or wrong password."),
            403: error(
                "`account_inactive` (right password, not activated: show the activation screen) or `account_disabled`."
            ),
            429: error(
                "`throttled` (too many requests from this address) or `login_locked` (too many failed logins for "
                "this number or from this address). See `Retry-After`."
            ),
        },
        summary="Log in: a JWT pair",
        examples=[
            ex.request("log in", {"phone": ex.PHONE, "password": ex.PASSWORD}),
            ex.answer(200, "logged_in", ex.pair, "a JWT pair"),
            ex.invalid(s.LoginSerializer, {"phone": "12345"}, "invalid_fields", "phone_invalid, required"),
            ex.refusal(401, ex.refusals.InvalidCredentials),
            ex.refusal(403, ex.refusals.AccountInactive, "account_inactive: show the activation screen"),
            ex.refusal(403, ex.refusals.AccountDisabled),
            ex.refusal(429, lambda: ex.refusals.LoginLocked(retry_after=60)),
            ex.throttled(),
        ],
        tags=["session"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = AuthService.login(phone=data["phone"], password=data["password"], client_ip=client_ip(request))
        return tokens_response(s.TokenPairSerializer(new_session_pair(request, user, data.get("device_name"))).data)


class LogoutView(PublicAPIView):
    """Blacklist a refresh token: it can no longer be used to get access tokens."""

    @extend_schema(
        request=s.RefreshTokenSerializer,
        responses={
            204: OpenApiResponse(description="Logged out."),
            400: bad_request(),
            401: error("`token_not_valid`: the refresh token is malformed, expired or already blacklisted."),
        },
        summary="Log out: the refresh token no longer works",
        examples=[
            ex.request("log out", {"refresh": ex.REFRESH}),
            ex.invalid(s.RefreshTokenSerializer, {}, "required"),
            ex.refresh_refused(revoke),
        ],
        tags=["session"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.RefreshTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        revoke(serializer.validated_data["refresh"], client_ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RefreshView(PublicAPIView):
    """Exchange a refresh token for a new pair; the old refresh token is blacklisted (rotation)."""

    @extend_schema(
        request=s.RefreshTokenSerializer,
        responses={
            200: s.TokenPairSerializer,
            400: bad_request(),
            401: error(
                "`token_not_valid` (the refresh token is malformed, expired or already used), "
                "`no_active_account` (its user was disabled or deleted) or `session_ended` (the account's "
                "sessions were ended since it was issued)."
            ),
        },
        summary="Refresh: a new pair for the refresh token (rotated)",
        examples=[
            ex.request("refresh", {"refresh": ex.REFRESH}),
            ex.answer(200, "refreshed", ex.pair, "a new pair; the old refresh token is blacklisted"),
            ex.invalid(s.RefreshTokenSerializer, {}, "required"),
            ex.refresh_refused(rotate),
        ],
        tags=["session"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.RefreshTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device = device_label(None, request.headers.get("User-Agent", ""))
        pair = rotate(serializer.validated_data["refresh"], client_ip=client_ip(request), device=device)
        return tokens_response(s.TokenPairSerializer(pair).data)


class MeView(AccountAPIView):
    """The logged-in user's account: read it, change the names, delete it."""

    def get_throttles(self) -> list[Any]:
        """Deleting checks the password: the login rate applies to it, as to a password change."""
        if self.request.method == "DELETE":
            self.throttle_scope = "login"
            return [FixedWindowScopedThrottle()]
        return super().get_throttles()

    @extend_schema(
        responses={200: s.UserSerializer, 401: UNAUTHENTICATED},
        summary="The account",
        examples=[ex.answer(200, "account", ex.me), *ex.unauthenticated()],
        tags=["account"],
    )
    def get(self, request: Request) -> Response:
        return Response(s.UserSerializer(self.account(request)).data)

    @extend_schema(
        request=s.UserSerializer,
        responses={200: s.UserSerializer, 400: bad_request(), 401: UNAUTHENTICATED},
        summary="Change the names or the SMS language",
        examples=[
            ex.request("names and language", {"first_name": "Awa", "last_name": "Ngono Mballa", "language": "en"}),
            ex.answer(200, "changed", ex.me),
            ex.invalid(s.UserSerializer, {"first_name": " ", "language": "de"}, "invalid_fields",
                       "blank, invalid_choice", instance=ex.sample_user(active=True), partial=True),
            ex.invalid(s.UserSerializer, {"phone": "+237699001122", "is_staff": True}, "refused_keys",
                       "read_only, unknown_field", instance=ex.sample_user(active=True), partial=True),
            *ex.unauthenticated(),
        ],
        tags=["account"],
    )
    def patch(self, request: Request) -> Response:
        serializer = s.UserSerializer(self.account(request), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)

    @extend_schema(
        summary="Delete the account",
        description=(
            "The app's in-app account deletion. With the account's password: the account is disabled at once "
            "(login answers 403 `account_deleted`), every session ends, and the number gets an SMS saying when "
            "its personal data will be erased (`erase_after`, `ACCOUNT_DELETION_GRACE_DAYS` days later). Until "
            "then the customer service can restore it; after, the number is free for a new sign-up."
        ),
        request=s.AccountDeletionSerializer,
        responses={
            202: s.AccountDeletionResultSerializer,
            400: bad_request("`password`: `password_incorrect` (counted as a failed login), `required`."),
            401: UNAUTHENTICATED,
            429: error("`throttled` (the login rate) or `login_locked` (too many wrong passwords). See `Retry-After`."),
        },
        examples=[
            ex.answer(202, "deletion asked", ex.deletion_asked, "erased after the grace period unless restored"),
            ex.refusal(400, lambda: ex.refusals.password_incorrect("password"), "password_incorrect"),
            ex.invalid(s.AccountDeletionSerializer, {}, "required"),
            *ex.unauthenticated(),
            ex.throttled(),
            ex.refusal(429, lambda: ex.refusals.LoginLocked(retry_after=300), "login_locked: too many wrong passwords"),
        ],
        tags=["account"],
    )
    def delete(self, request: Request) -> Response:
        serializer = s.AccountDeletionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        erase_after = AccountDeletionService.request_deletion(
            self.account(request), password=serializer.validated_data["password"], client_ip=client_ip(request)
        )
        body = s.AccountDeletionResultSerializer({"erase_after": erase_after}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class SessionsView(AccountAPIView):
    """The account's signed-in devices."""

    @extend_schema(
        summary="List my sessions",
        description=(
            "One entry per signed-in device (an activation, a login or a claim opened it; refreshing its tokens "
            "keeps it), the most recently used first; `current` marks the one this request comes from."
        ),
        responses={200: s.SessionSerializer(many=True), 401: UNAUTHENTICATED},
        examples=[ex.answer(200, "sessions", ex.sessions, "this phone, the current session"), *ex.unauthenticated()],
        tags=["account"],
    )
    def get(self, request: Request) -> Response:
        current = current_session(request)
        sessions = live_sessions(self.account(request))
        listed = [{"session": session, "current": session.pk == current} for session in sessions]
        return Response(s.SessionSerializer(listed, many=True).data)


class SessionView(AccountAPIView):
    """One of the account's sessions."""

    @extend_schema(
        summary="End one of my sessions",
        description=(
            "Its access and refresh tokens are refused from now on (`session_ended`), e.g. those of a lost phone. "
            "Ending the current one is a logout of this device."
        ),
        request=None,
        responses={
            204: None,
            401: UNAUTHENTICATED,
            404: error("`session_not_found`: no live session of this account has this id (another account's alike)."),
        },
        examples=[
            *ex.unauthenticated(),
            ex.refusal(404, ex.refusals.SessionNotFound, "session_not_found: ended, another account's, or none"),
        ],
        tags=["account"],
    )
    def delete(self, request: Request, session_id: int) -> Response:
        end_session(self.account(request), session_id, client_ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RevokeOtherSessionsView(AccountAPIView):
    """Sign every other device out."""

    @extend_schema(
        summary="End my other sessions",
        description="Every session but this request's ends at once; answers how many did.",
        request=None,
        responses={200: s.EndedSessionsSerializer, 401: UNAUTHENTICATED},
        examples=[ex.answer(200, "ended", lambda: {"ended": 2}, "two other devices signed out"), *ex.unauthenticated()],
        tags=["account"],
    )
    def post(self, request: Request) -> Response:
        ended = end_other_sessions(self.account(request), current_session(request), client_ip=client_ip(request))
        return Response(s.EndedSessionsSerializer({"ended": ended}).data)


class AccountExportView(AccountAPIView):
    """Everything held about the caller, as one JSON document (the right of access and portability)."""

    @extend_schema(
        summary="Export my data",
        description=(
            "One JSON document with everything the API holds about the caller's account: the account, its "
            "sessions (refresh tokens), the SMS sent to its numbers (purpose, status, times; never a text or a "
            "code), the numbers it asked to move to, its audit events. Codes and the password are held only as "
            "hashes and are not in it. Answered with `Content-Disposition: attachment` and `Cache-Control: "
            "no-store`."
        ),
        responses={200: s.AccountExportSerializer, 401: UNAUTHENTICATED},
        examples=[ex.answer(200, "export", ex.exported, "everything held about the account"), *ex.unauthenticated()],
        tags=["account"],
    )
    def get(self, request: Request) -> Response:
        body = s.AccountExportSerializer(export.export(self.account(request))).data
        response = Response(body)
        response["Content-Disposition"] = 'attachment; filename="waterbill-account.json"'
        response["Cache-Control"] = "no-store"
        return response


class PasswordChangeView(AccountAPIView):
    """Change the password when logged in: every session ends (refresh tokens blacklisted) and this client
    gets a new pair."""

    # A stolen access token must not allow guessing the current password at will: the login rate applies.
    throttle_classes = [FixedWindowScopedThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=s.PasswordChangeSerializer,
        responses={
            200: s.TokenPairSerializer,
            400: bad_request("`current_password`: `password_incorrect`; `new_password`: Django's validator codes."),
            401: UNAUTHENTICATED,
            429: error(
                "`throttled` (the login rate) or `login_locked` (too many wrong current passwords: they count as "
                "failed logins). See `Retry-After`."
            ),
        },
        summary="Change the password: a new pair, every other session ends",
        examples=[
            ex.request("change", {"current_password": ex.PASSWORD, "new_password": ex.NEW_PASSWORD}),
            ex.answer(200, "changed", ex.pair, "a new pair"),
            ex.answer(400, "password_incorrect", ex.refusals.password_incorrect, "password_incorrect: a failed login"),
            ex.password_rules("new_password"),
            *ex.unauthenticated(),
            ex.refusal(429, lambda: ex.refusals.LoginLocked(retry_after=60)),
            ex.throttled(),
        ],
        tags=["account"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = self.account(request)
        change_password(user, **serializer.validated_data, client_ip=client_ip(request))
        return tokens_response(s.TokenPairSerializer(continued_session_pair(request, user)).data)


class PasswordResetView(PublicAPIView):
    """Forgotten password: ask for a reset code by SMS. The same answer whether or not the number has an account."""

    throttle_scope = "resend"

    @extend_schema(
        request=s.PhoneSerializer,
        responses={
            202: s.ResendSerializer,
            400: bad_request("`phone`: the phone codes."),
            429: error("`throttled`: too many requests from this address."),
            503: error("`sms_unavailable` (the gateway is known to be down) or `service_unavailable`."),
        },
        description="The same 202 for every number: cooldowns, limits and failed sends of a real account are "
        "logged, not answered.",
        summary="Forgotten password (step 1): a code by SMS",
        examples=[
            ex.request("reset", {"phone": ex.PHONE}),
            ex.answer(202, "accepted", ex.resend_available, "the same for every number"),
            ex.invalid(s.PhoneSerializer, {"phone": "12345"}, "phone_invalid"),
            ex.throttled(),
            ex.refusal(503, ex.refusals.SmsServiceUnavailable, "sms_unavailable: the gateway is known to be down"),
            ex.service_unavailable(),
        ],
        tags=["password reset"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.PhoneSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tasks: list[Callable[[], None]] = []
        available_at = PasswordResetService.request_reset(serializer.validated_data["phone"], later=tasks.append)
        return AnswerFirstResponse(
            s.ResendSerializer({"resend_available_at": available_at}).data,
            status=status.HTTP_202_ACCEPTED,
            tasks=tasks,
        )


class PasswordResetConfirmView(PublicAPIView):
    """Set a new password with the reset code: every session ends, and the answer is a new pair."""

    throttle_scope = "activate"

    @extend_schema(
        request=s.PasswordResetConfirmSerializer,
        responses={
            200: s.TokenPairSerializer,
            400: bad_request(
                "`{detail, code}` with `code_invalid`, the one answer for any code that cannot be used (wrong, "
                "expired, used, out of attempts, or no account: alike for every number); `new_password`: Django's "
                "validator codes, once the code is right."
            ),
            429: error(
                "`throttled`, or `code_locked` (too many wrong codes for this number, from this address or from "
                "all; alike for every number, and ends by itself within an hour). See `Retry-After`."
            ),
            503: error("`service_unavailable`: the shared cache that counts the throttle and the wrong codes."),
        },
        summary="Forgotten password (step 2): the code and a new password, a new pair",
        examples=[
            ex.request("confirm", {"phone": ex.PHONE, "code": ex.CODE, "new_password": ex.NEW_PASSWORD}),
            ex.answer(200, "reset", ex.pair, "a new pair; every other session ends"),
            ex.refusal(400, ex.refusals.CodeInvalid.not_usable, "code_invalid: any code that cannot be used"),
            ex.refusal(400, ex.refusals.CodeUsed.at_reset, "code_used: a simultaneous confirmation used it"),
            ex.password_rules("new_password"),
            ex.invalid(s.PasswordResetConfirmSerializer, {"phone": ex.PHONE, "code": "12345"}, "invalid_fields",
                       "invalid, required"),
            ex.refusal(429, lambda: ex.refusals.CodeLocked(retry_after=3600)),
            ex.throttled(),
            ex.service_unavailable(),
        ],
        tags=["password reset"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = PasswordResetService.confirm_reset(**data, client_ip=client_ip(request))
        return tokens_response(s.TokenPairSerializer(new_session_pair(request, user)).data)


class PhoneChangeView(AccountAPIView):
    """Ask to move the account to a new number: a code goes to that number."""

    throttle_classes = [FixedWindowScopedThrottle]
    throttle_scope = "resend"

    @extend_schema(
        request=s.PhoneChangeSerializer,
        responses={
            202: s.PhoneChangeRequestedSerializer,
            400: bad_request(
                "`current_password`: `password_incorrect` (checked first); `new_phone`: the phone codes, "
                "`phone_unchanged`, `phone_taken` or `phone_rejected`."
            ),
            401: UNAUTHENTICATED,
            429: error(
                "`throttled`, `login_locked` (wrong current passwords count as failed logins), `resend_too_soon` "
                "or `resend_limit_reached` (for this account, or five codes an hour to that number already)."
            ),
            503: error("`sms_unavailable`, `sms_busy` (shed at once, `Retry-After: 5`) or `service_unavailable`."),
        },
        summary="Change the number (step 1): a code by SMS to the new number",
        examples=[
            ex.request("change", {"new_phone": ex.NEW_PHONE, "current_password": ex.PASSWORD}),
            ex.answer(202, "sent", ex.phone_change_sent, "the code went to the new number"),
            ex.answer(400, "password_incorrect", ex.refusals.password_incorrect, "password_incorrect: a failed login"),
            ex.answer(400, "phone_unchanged", ex.refusals.phone_unchanged),
            ex.refusal(400, ex.refusals.PhoneTaken.for_phone_change, "phone_taken: another account uses it"),
            ex.answer(400, "phone_rejected", lambda: ex.refusals.PhoneRejected(field="new_phone")),
            ex.invalid(s.PhoneChangeSerializer, {"new_phone": "12345"}, "invalid_fields", "phone_invalid, required"),
            *ex.unauthenticated(),
            ex.refusal(429, lambda: ex.refusals.LoginLocked(retry_after=60)),
            *ex.send_limits(),
            ex.throttled(),
            *ex.sms_failures(),
            ex.service_unavailable(),
        ],
        tags=["phone change"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.PhoneChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = PhoneChangeService.request_change(
            self.account(request), **serializer.validated_data, client_ip=client_ip(request)
        )
        return Response(
            s.PhoneChangeRequestedSerializer({"code_expires_at": row.expires_at}).data, status=status.HTTP_202_ACCEPTED
        )


class PhoneChangeConfirmView(AccountAPIView):
    """Enter the code the new number received: the account moves to it, every session ends, and this client
    gets a new pair."""

    throttle_classes = [FixedWindowScopedThrottle]
    throttle_scope = "activate"

    @extend_schema(
        request=s.CodeSerializer,
        responses={
            200: s.ActivationResultSerializer,
            400: bad_request(
                "`{detail, code}` with `code_invalid`, `code_expired`, `code_used` or "
                "`code_attempts_exceeded`, or `phone_taken` (the number was taken meanwhile)."
            ),
            401: UNAUTHENTICATED,
            429: error(
                "`throttled`, or `code_locked` (too many wrong codes for the new number, from this address or from "
                "all; ends by itself within an hour). See `Retry-After`."
            ),
            503: error("`service_unavailable`: the shared cache that counts the throttle and the wrong codes."),
        },
        summary="Change the number (step 2): the code, a new pair",
        examples=[
            ex.request("confirm", {"code": ex.CODE}),
            ex.answer(200, "moved", ex.moved, "moved: the user with the new phone, a new pair"),
            ex.refusal(400, lambda: ex.refusals.CodeInvalid.with_remaining(4), "code_invalid: wrong code"),
            ex.refusal(400, ex.refusals.CodeExpired),
            ex.refusal(400, ex.refusals.CodeUsed.at_phone_change, "code_used: the number has been changed"),
            ex.refusal(400, ex.refusals.CodeAttemptsExceeded),
            ex.refusal(400, ex.refusals.PhoneTaken.without_field, "phone_taken: the number was taken meanwhile"),
            ex.invalid(s.CodeSerializer, {"code": "12 34"}, "invalid"),
            *ex.unauthenticated(),
            ex.refusal(429, lambda: ex.refusals.CodeLocked(retry_after=3600)),
            ex.throttled(),
            ex.service_unavailable(),
        ],
        tags=["phone change"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.CodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = PhoneChangeService.confirm_change(
            self.account(request), **serializer.validated_data, client_ip=client_ip(request)
        )
        pair = continued_session_pair(request, user)
        return tokens_response(s.ActivationResultSerializer({**pair, "user": user}).data)


RECEIPT_RESPONSES = {
    204: OpenApiResponse(description="Taken: the status moved forward, or nothing changed (a late or repeated "
                         "status, an unknown message id)."),
    400: error("`receipt_malformed`: not a delivery receipt of this provider."),
    403: error("`receipt_refused`: the signature or the secret is missing or wrong."),
}


#: The providers post form fields; JSON is parsed too, so that every body answers alike (413, parse_error).
RECEIPT_PARSERS = [FormParser, JSONParser]
FORM_RECEIPT = {"application/x-www-form-urlencoded": {"type": "object"}, "application/json": {"type": "object"}}


TWILIO_SIGNATURE = OpenApiParameter(
    "X-Twilio-Signature", str, OpenApiParameter.HEADER, required=True,
    description="Base64 HMAC-SHA1, keyed with the auth token, of the public URL and the sorted POST parameters.",
)
CALLBACK_SECRET = OpenApiParameter(
    "secret", str, OpenApiParameter.QUERY, required=True,
    description="Our callback secret (AFRICASTALKING_CALLBACK_SECRET / ORANGE_CALLBACK_SECRET), in the URL "
    "registered with the provider; never in the access log (docs/operations.md).",
)


class ReceiptView(PublicAPIView):
    """A provider's delivery receipts (sms.receipts parses, users.services.receipts applies): always 204 once
    authenticated and well-formed, whatever it says; a resend of the code it calls for starts once the 204 is
    sent (users.services.redelivery)."""

    throttle_scope = "sms_status"


class TwilioStatusView(ReceiptView):
    """Twilio's StatusCallback, signed with X-Twilio-Signature over the URL it used (ours, under PUBLIC_BASE_URL)."""

    parser_classes = RECEIPT_PARSERS

    @extend_schema(request=FORM_RECEIPT, responses=RECEIPT_RESPONSES, parameters=[TWILIO_SIGNATURE],
                   tags=["sms"], summary="Twilio status callback")
    def post(self, request: Request) -> Response:
        # Behind the TLS proxy, the URL Twilio signed is the public one, not the one this process sees.
        url = f"{settings.PUBLIC_BASE_URL}{request.get_full_path()}"
        tasks: list[Callable[[], None]] = []
        receipts.twilio(url, request.data, request.headers.get("X-Twilio-Signature"), later=tasks.append)
        return AnswerFirstResponse(status=status.HTTP_204_NO_CONTENT, tasks=tasks)


class AfricasTalkingStatusView(ReceiptView):
    """Africa's Talking's delivery reports, authenticated by our secret in the URL (`?secret=`)."""

    parser_classes = RECEIPT_PARSERS

    @extend_schema(request=FORM_RECEIPT, responses=RECEIPT_RESPONSES, parameters=[CALLBACK_SECRET],
                   tags=["sms"], summary="Africa's Talking delivery report")
    def post(self, request: Request) -> Response:
        tasks: list[Callable[[], None]] = []
        receipts.africastalking(request.data, request.query_params.get("secret"), later=tasks.append)
        return AnswerFirstResponse(status=status.HTTP_204_NO_CONTENT, tasks=tasks)


class OrangeStatusView(ReceiptView):
    """Orange's deliveryInfoNotification (JSON), authenticated by our secret in the URL (`?secret=`)."""

    @extend_schema(request={"application/json": {"type": "object"}}, responses=RECEIPT_RESPONSES, tags=["sms"],
                   parameters=[CALLBACK_SECRET], summary="Orange delivery receipt")
    def post(self, request: Request) -> Response:
        tasks: list[Callable[[], None]] = []
        receipts.orange(request.data, request.query_params.get("secret"), later=tasks.append)
        return AnswerFirstResponse(status=status.HTTP_204_NO_CONTENT, tasks=tasks)
