"""The OpenAPI schema's examples: request bodies the API accepts, and each documented answer as the API renders it.

A response example is not written by hand: it is made when the schema is generated, by the real serializer on
a sample account, or by the API's exception handler on the real error (a real validation run, a domain error),
in the language of the schema request (`users.schema.render_examples`, a postprocessing hook).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer

from users import exceptions as refusals
from users import serializers as s
from users.authentication import SessionJWTAuthentication
from users.models import Session, User
from users.services.registration import Registration
from users.services.sms_status import SignupSmsStatus
from users.tokens import SESSION_ENDED
from users.validation import check_password_rules
from waterbill.errors import DomainError
from waterbill.exception_handler import api_exception_handler

PHONE = "670123456"
NEW_PHONE = "699001122"
CODE = "123456"
PASSWORD = "Lac-Municipal-2026"  # noqa: S105 -- an example, shown in the schema
NEW_PASSWORD = "Chutes-Ekom-2027"  # noqa: S105 -- an example
#: The shapes of the sign-up's token and of a JWT pair (real ones are signed and expire: they cannot be examples).
SIGNUP_TOKEN = "kq7T0y3WmZcX2vN9bR5sLdE8uA1fHgJ4pQ6oIiMw"  # noqa: S105 -- an example
ACCESS = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzk2MjEwMDAwLCJ1c2VyX2lkIjo0Miwic3Yi"
    "OjB9.Qm9uam91ciBkZXB1aXMgbGEgZG9jdW1lbnRhdGlvbg"
)
REFRESH = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6MTc5ODgwMTEwMCwidXNlcl9pZCI6NDIsInN2"
    "IjowfQ.UmVmcmVzaCBkZSBsJ2V4ZW1wbGUgV2F0ZXJCaWxs"
)
#: A sign-up at 09:15 in Douala, the time zone the API answers in.
SIGNED_UP_AT = datetime(2026, 12, 2, 9, 15, 28, 535421, tzinfo=ZoneInfo(settings.TIME_ZONE))


_rendering = threading.local()


class _NotWhileRendering(logging.Filter):
    """Drops this thread's records while it renders examples: a sample sign-up refused is not a refused sign-up."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_rendering, "active", False)


logging.getLogger("users.validation").addFilter(_NotWhileRendering())


class Rendered:
    """An example value made when the schema is generated: `make()` returns the body, or an exception that the
    API's exception handler renders as the answer."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make

    def body(self) -> Any:
        """The example as plain JSON, in the active language."""
        _rendering.active = True
        try:
            made = self.make()
        finally:
            _rendering.active = False
        if isinstance(made, Exception):
            response = api_exception_handler(made, {})
            assert response is not None, f"not an answered error: {made!r}"  # noqa: S101 -- a bug in this module
            made = response.data
        return json.loads(JSONRenderer().render(made))


def render_examples(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every Rendered example value becomes its body."""

    def walk(node: Any) -> Any:
        if isinstance(node, Rendered):
            return node.body()
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value) for value in node]
        return node

    return dict(walk(result))


def sample_user(*, active: bool) -> User:
    """An unsaved account as the examples show it."""
    return User(
        id=42,
        phone="+237670123456",
        first_name="Awa",
        last_name="Ngono",
        language="fr",
        is_active=active,
        date_joined=SIGNED_UP_AT,
        activated_at=SIGNED_UP_AT + timedelta(minutes=2) if active else None,
    )


#: What register's 400 examples change in the sample sign-up.
BAD_PHONE_SHORT_MISMATCHED = {"phone": "12345", "password": "Ab1!", "password_confirm": "Ab1?"}
COMMON_PASSWORD = {"password": "password123", "password_confirm": "password123"}


def sign_up(**changes: str) -> dict[str, str]:
    """The sample sign-up body, with `changes`."""
    return {
        "phone": "6 70 12 34 56",
        "first_name": "Awa",
        "last_name": "Ngono",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        **changes,
    }


def request(name: str, value: dict[str, Any], summary: str = "") -> OpenApiExample:
    """A request body the API accepts (tests/test_schema_examples.py posts each one)."""
    return OpenApiExample(name, value=value, summary=summary or name, request_only=True)


def answer(status: int, name: str, make: Callable[[], Any], summary: str = "") -> OpenApiExample:
    """The answer `status` whose body `make()` gives (a body, or the error the API renders)."""
    return OpenApiExample(
        name, value=Rendered(make), summary=summary or name, status_codes=[str(status)], response_only=True
    )


def refusal(status: int, make: Callable[[], Exception], summary: str = "") -> OpenApiExample:
    """The answer to the error `make()` gives, named by its code."""
    error = make()
    code = error.code if isinstance(error, DomainError) else _drf_code(error)
    return answer(status, code, make, summary or code)


def _drf_code(error: Exception) -> str:
    assert isinstance(error, exceptions.APIException)  # noqa: S101 -- a bug in this module
    detail = error.detail
    return str(getattr(detail, "code", None) or error.default_code)


def raised(call: Callable[[], Any]) -> Callable[[], Exception]:
    """A maker of the error that `call` raises (the API's own code refusing a sample), for `answer`/`refusal`."""

    def make() -> Exception:
        try:
            call()
        except (exceptions.APIException, DomainError) as exc:
            return exc
        raise AssertionError(f"{call} was not refused")

    return make


def invalid(serializer: Callable[..., Any], data: Any, name: str, summary: str = "", **kwargs: Any) -> OpenApiExample:
    """The 400 the real `serializer` gives to `data` (its validation run when the schema is)."""
    return answer(400, name, raised(lambda: serializer(data=data, **kwargs).is_valid(raise_exception=True)), summary)


def password_rules(field: str) -> OpenApiExample:
    """The 400 on `field` when Django's password validators refuse a password (checked once the code or the
    current password is right)."""
    make = raised(lambda: check_password_rules("ngono", sample_user(active=True), field))
    return answer(400, f"{field}_rules", make, f"password_too_short, password_too_similar... on {field}")


def throttled() -> OpenApiExample:
    """429 `throttled`, as the per-address throttle answers it (here, 30 minutes before the window ends)."""
    return refusal(429, lambda: exceptions.Throttled(wait=1800), "throttled: too many requests from this address")


def service_unavailable() -> OpenApiExample:
    return refusal(503, refusals.ServiceUnavailable, "service_unavailable: the shared cache or the database failed")


def sms_failures() -> list[OpenApiExample]:
    return [
        refusal(503, refusals.SmsServiceUnavailable, "sms_unavailable: the SMS could not be sent"),
        refusal(503, refusals.SmsBusy, "sms_busy: every SMS slot is taken, try again in a few seconds"),
    ]


def send_limits() -> list[OpenApiExample]:
    return [
        refusal(429, lambda: refusals.ResendTooSoon(retry_after=60), "resend_too_soon: one code a minute"),
        refusal(429, lambda: refusals.ResendLimitReached(retry_after=3600), "resend_limit_reached: five an hour"),
    ]


def unauthenticated() -> list[OpenApiExample]:
    """The 401s of the users/me/ endpoints."""
    return [
        refusal(401, exceptions.NotAuthenticated, "not_authenticated: no bearer token"),
        refusal(401, raised(_bad_access_token), "token_not_valid: malformed or expired access token"),
        refusal(401, lambda: exceptions.AuthenticationFailed(SESSION_ENDED, "session_ended"), "session_ended"),
        refusal(401, lambda: exceptions.AuthenticationFailed(_("User is inactive"), "user_inactive"), "user_inactive"),
        refusal(401, lambda: exceptions.AuthenticationFailed(_("User not found"), "user_not_found"), "user_not_found"),
    ]


def _bad_access_token() -> None:
    SessionJWTAuthentication().get_validated_token(b"not-a-token")


def refresh_refused(use: Callable[[str], Any]) -> OpenApiExample:
    """401 `token_not_valid` as `use` (rotation, revocation) answers a malformed refresh token."""
    return refusal(401, raised(lambda: use("not-a-token")), "token_not_valid: malformed, expired, used or blacklisted")


def registration() -> dict[str, Any]:
    """The sign-up answer for sample_user."""
    return dict(
        s.RegistrationSerializer(
            Registration(
                user=sample_user(active=False),
                signup_token=SIGNUP_TOKEN,
                code_expires_at=SIGNED_UP_AT + settings.ACTIVATION_CODE_TTL,
                resend_available_at=SIGNED_UP_AT + settings.ACTIVATION_RESEND_COOLDOWN,
            )
        ).data
    )


def sms_status() -> dict[str, Any]:
    status = SignupSmsStatus(
        sms_status="delivered", resend_available_at=SIGNED_UP_AT + settings.ACTIVATION_RESEND_COOLDOWN
    )
    return dict(s.SmsStatusSerializer(status).data)


def pair() -> dict[str, str]:
    return {"access": ACCESS, "refresh": REFRESH}


def logged_in(user: User | None = None) -> dict[str, Any]:
    """An answer with a JWT pair and the active account."""
    return dict(s.ActivationResultSerializer({**pair(), "user": user or sample_user(active=True)}).data)


def me() -> dict[str, Any]:
    return dict(s.UserSerializer(sample_user(active=True)).data)


def moved() -> dict[str, Any]:
    user = sample_user(active=True)
    user.phone = "+237699001122"
    return logged_in(user)


def resend_available() -> dict[str, Any]:
    """The answer of a resend or a reset request: when the next code may be asked for."""
    return dict(s.ResendSerializer({"resend_available_at": SIGNED_UP_AT + settings.ACTIVATION_RESEND_COOLDOWN}).data)


def phone_change_sent() -> dict[str, Any]:
    return dict(s.PhoneChangeRequestedSerializer({"code_expires_at": SIGNED_UP_AT + settings.ACTIVATION_CODE_TTL}).data)


def activation_resend_sent() -> dict[str, Any]:
    """The activation resend's answer: when the next code may be asked for, and the new SMS's status."""
    available_at = SIGNED_UP_AT + settings.ACTIVATION_RESEND_COOLDOWN
    return dict(s.ActivationResendSerializer({"resend_available_at": available_at, "sms_status": "accepted"}).data)


def deletion_asked() -> dict[str, Any]:
    return dict(
        s.AccountDeletionResultSerializer(
            {"erase_after": SIGNED_UP_AT + timedelta(days=settings.ACCOUNT_DELETION_GRACE_DAYS)}
        ).data
    )


def exported() -> dict[str, Any]:
    """The export of the sample account a few minutes after its activation."""
    user = sample_user(active=True)
    activated = user.activated_at or SIGNED_UP_AT
    account = {
        "id": user.pk,
        "phone": user.phone,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "language": user.language,
        "is_active": True,
        "date_joined": user.date_joined,
        "activated_at": activated,
        "last_login": None,
        "privacy_notice": {"version": "", "language": "", "accepted_at": None},
        "password": "stored as an Argon2id hash only: it cannot be exported",
    }
    sms = {
        "created_at": SIGNED_UP_AT,
        "phone": user.phone,
        "purpose": "activation",
        "language": "fr",
        "provider": "twilio",
        "status": "delivered",
        "updated_at": SIGNED_UP_AT + timedelta(seconds=4),
    }
    events = [
        {
            "created_at": SIGNED_UP_AT,
            "kind": "signup",
            "address": "197.159.12.0/24",
            "request_id": "3f2a9c",
            "detail": "",
        },
        {
            "created_at": activated,
            "kind": "activation",
            "address": "197.159.12.0/24",
            "request_id": "8b1d04",
            "detail": "",
        },
    ]
    document = {
        "exported_at": activated + timedelta(minutes=5),
        "account": account,
        "sessions": [],
        "sms": [sms],
        "phone_change_codes": [],
        "audit_events": events,
    }
    return dict(s.AccountExportSerializer(document).data)


def sessions() -> dict[str, Any]:
    """One entry of the sample account's sessions list: this phone, the current one (drf-spectacular shows a
    list answer's example as a list of it)."""
    phone = Session(id=7, device="Pixel 7 d'Awa", address="197.159.12.0/24", created_at=SIGNED_UP_AT)
    phone.last_used_at = SIGNED_UP_AT + timedelta(hours=3)
    return dict(s.SessionSerializer({"session": phone, "current": True}).data)
