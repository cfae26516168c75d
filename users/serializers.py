"""Input and output serializers of the account API: DRF fields over the rules of users.validation.

Phone numbers enter through PhoneField only; a sign-up is checked as a whole by users.validation.clean_registration.
Every request body goes through a RequestSerializer, which refuses the keys it does not take (read-only or unknown).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from users.models import CODE_DIGITS, User
from users.phone import MAX_INPUT_LENGTH, clean_phone
from users.validation import (
    CODE_MESSAGE,
    CODE_PATTERN,
    NAME_MAX_LENGTH,
    PASSWORD_MAX_LENGTH,
    SIGNUP_TOKEN_MAX_LENGTH,
    clean_registration,
    validate_name,
)
from waterbill.errors import Message, ValidationFailed

UNKNOWN_FIELD = _("This field is unknown here: remove it.")
READ_ONLY_FIELD = _("This field is read-only: it cannot be set here.")


class StrictCharField(serializers.CharField):
    """A CharField that takes JSON strings only: DRF's would turn 0 or 12.5 into "0" and "12.5", which the
    schema (type string) says is invalid."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    """A RegexField that takes JSON strings only."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "example": "+237670123456", "maxLength": MAX_INPUT_LENGTH})
class PhoneField(StrictCharField):
    """A phone number in any accepted spelling in, E.164 out (codes: see users.phone.normalize_phone)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_INPUT_LENGTH)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        # A Django ValidationError: the serializer turns it into the field's error, code kept.
        return clean_phone(super().to_internal_value(data))


def name_field(**kwargs: Any) -> serializers.CharField:
    """A first or last name: 1-150 characters, no control characters."""
    return StrictCharField(max_length=NAME_MAX_LENGTH, validators=[validate_name], **kwargs)


def password_field(**kwargs: Any) -> serializers.CharField:
    """A write-only password, taken as typed (no trimming)."""
    return StrictCharField(
        write_only=True,
        trim_whitespace=False,
        max_length=PASSWORD_MAX_LENGTH,
        style={"input_type": "password"},
        **kwargs,
    )


def code_field() -> serializers.CharField:
    """A code received by SMS: exactly its digits."""
    return StrictRegexField(
        CODE_PATTERN, max_length=CODE_DIGITS, help_text="The 6-digit code from the SMS.",
        error_messages={"invalid": CODE_MESSAGE},
    )


class RequestSerializer(serializers.Serializer):
    """The base of every request body: a key that is not a writable field is refused, not ignored, so that a
    client's mistake surfaces at once. Such keys answer `read_only` (a field of the answer: `phone`, `is_active`)
    or `unknown_field` (anything else: `is_staff`), each on its own key, together with the other fields' errors.

    Subclasses validate the body in `validate_body` (DRF's validation by default).
    """

    def run_validation(self, data: Any = empty) -> Any:
        """The validated body; raises ValidationError (or ValidationFailed, from validate_body) with every
        field's errors, the refused keys' among them."""
        refused = self.refused_keys(data)
        try:
            value = self.validate_body(data)
        except ValidationFailed as exc:
            if not refused:
                raise
            raise ValidationFailed({**exc.errors, **refused}) from exc
        except serializers.ValidationError as exc:
            if not refused or not isinstance(exc.detail, dict):
                raise
            raise serializers.ValidationError({**exc.detail, **_details(refused)}) from exc
        if refused:
            raise serializers.ValidationError(_details(refused))
        return value

    def validate_body(self, data: Any) -> Any:
        """Validate the body as a whole (the keys it may carry are already checked)."""
        return super().run_validation(data)

    def refused_keys(self, data: Any) -> dict[str, list[tuple[Message, str]]]:
        """Each key of `data` that is not a writable field, with its (message, code); {} for a body that is not an
        object (DRF refuses it as such)."""
        if not isinstance(data, Mapping):
            return {}
        writable = {name for name, field in self.fields.items() if not field.read_only}
        return {
            str(key): [(READ_ONLY_FIELD, "read_only") if key in self.fields else (UNKNOWN_FIELD, "unknown_field")]
            for key in data
            if key not in writable
        }


def _details(errors: dict[str, list[tuple[Message, str]]]) -> dict[str, list[serializers.ErrorDetail]]:
    """(message, code) pairs as DRF's error details."""
    return {
        field: [serializers.ErrorDetail(str(message), code) for message, code in pairs]
        for field, pairs in errors.items()
    }


class UserSerializer(RequestSerializer):
    """The account as the app sees it; the names and the SMS language can be changed (PATCH /users/me/).

    A plain Serializer with its fields spelled out: a ModelSerializer rebuilds its fields from the model
    for every instance, which tripled the cost of GET /users/me/ (see docs/performance.md).
    """

    id = serializers.IntegerField(read_only=True)
    phone = serializers.CharField(read_only=True)
    first_name = name_field()
    last_name = name_field()
    language = serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES], help_text="The language of the SMS sent to this account."
    )
    is_active = serializers.BooleanField(read_only=True)
    date_joined = serializers.DateTimeField(read_only=True)
    activated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def update(self, instance: User, validated_data: dict[str, Any]) -> User:
        """Save the changed fields only (names, language)."""
        for name, value in validated_data.items():
            setattr(instance, name, value)
        instance.save(update_fields=list(validated_data))
        return instance


class RegisterSerializer(RequestSerializer):
    """Sign-up input, checked as a whole by users.validation.clean_registration (every field's errors in one
    answer; the phone normalised once). The fields below describe it for the schema."""

    phone = PhoneField()
    first_name = name_field()
    last_name = name_field()
    password = password_field()
    password_confirm = password_field()
    privacy_notice_version = StrictCharField(
        required=False,
        max_length=32,
        help_text="Required when the API asks for consent (PRIVACY_NOTICE_VERSION is set): the version of the "
        "privacy notice the customer accepted, equal to the current one (else `privacy_notice_outdated`).",
    )

    def validate_body(self, data: Any) -> dict[str, str]:
        """clean_registration judges every body, `null` included (DRF would answer its own untranslated `null`)."""
        return self.to_internal_value(None if data is empty else data)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        """The keyword arguments of users.services.registration.register. Raises ValidationFailed."""
        return asdict(clean_registration(data, notice=settings.PRIVACY_NOTICE_VERSION))


class RegistrationSerializer(serializers.Serializer):
    """Sign-up answer: the pending user, the token its activation requires, the code's timing."""

    user = UserSerializer()
    signup_token = serializers.CharField(
        help_text="Keep it until activation: POST /auth/activate/ requires it with the SMS code. Shown once."
    )
    code_expires_at = serializers.DateTimeField()
    resend_available_at = serializers.DateTimeField()
    sms_status = serializers.CharField(
        help_text="The activation SMS's status, `accepted` here; follow it with POST /auth/activate/status/."
    )


class SmsStatusRequestSerializer(RequestSerializer):
    """The activation SMS's status is asked for with the sign-up's proof: its phone and token."""

    phone = PhoneField()
    signup_token = StrictCharField(max_length=SIGNUP_TOKEN_MAX_LENGTH, help_text="The `signup_token` of the sign-up.")


SMS_STATUSES = ["accepted", "sent", "delivered", "undelivered", "failed", "phone_rejected", "sms_unavailable"]


class SmsStatusSerializer(serializers.Serializer):
    """What became of the newest activation SMS, and when a new code may be asked for."""

    sms_status = serializers.ChoiceField(
        choices=SMS_STATUSES,
        help_text="`undelivered` or `failed`: say the code did not arrive and offer a resend at "
        "`resend_available_at`.",
    )
    resend_available_at = serializers.DateTimeField()


def device_name_field() -> serializers.CharField:
    """The optional name of the device a session opens on (shown in the sessions list)."""
    return StrictCharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="A name for this device in the account's sessions (\"Pixel 7 d'Awa\"); else its User-Agent.",
    )


class ActivateSerializer(RequestSerializer):
    """Activation input: the phone, the code it received, and the sign-up's token (or a new password)."""

    phone = PhoneField()
    code = code_field()
    signup_token = StrictCharField(
        max_length=SIGNUP_TOKEN_MAX_LENGTH, required=False, help_text="The `signup_token` of the sign-up answer."
    )
    password = password_field(
        required=False,
        help_text="Instead of `signup_token`: a new password, for whoever holds the code but not the token "
        "(the answer to the sign-up was lost, or someone else signed this number up).",
    )
    device_name = device_name_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Exactly one of `signup_token` and `password`."""
        if not attrs.get("signup_token") and not attrs.get("password"):
            raise serializers.ValidationError(
                {"signup_token": [_("Send the sign-up's signup_token, or a new password.")]}, code="required"
            )
        if attrs.get("signup_token") and attrs.get("password"):
            raise serializers.ValidationError(
                {"password": [_("Send either the signup_token or a new password, not both.")]}, code="invalid"
            )
        return attrs


class PhoneSerializer(RequestSerializer):
    """A phone number alone (resend)."""

    phone = PhoneField()


class ResendSerializer(serializers.Serializer):
    """Resend answer, the same whether or not the number has a pending account."""

    resend_available_at = serializers.DateTimeField()


class ActivationResendSerializer(ResendSerializer):
    """The activation resend's answer: also the new SMS's status, the same whether or not the number has a
    pending account."""

    sms_status = serializers.ChoiceField(
        choices=SMS_STATUSES,
        help_text="`accepted`: the provider took the SMS. Ask `POST /api/v1/auth/activate/status/` later to "
        "learn whether it was delivered.",
    )


class LoginSerializer(RequestSerializer):
    """Login input."""

    phone = PhoneField()
    password = password_field()
    device_name = device_name_field()


class SessionSerializer(serializers.Serializer):
    """A signed-in device: `{"session": Session, "current": bool}` rendered flat."""

    id = serializers.IntegerField(source="session.pk")
    device = serializers.CharField(source="session.device")
    created_at = serializers.DateTimeField(source="session.created_at")
    last_used_at = serializers.DateTimeField(source="session.last_used_at")
    address = serializers.CharField(source="session.address", help_text="the client's network when it opened")
    current = serializers.BooleanField(help_text="the session of this request")


class EndedSessionsSerializer(serializers.Serializer):
    """How many sessions ended."""

    ended = serializers.IntegerField()


class TokenPairSerializer(serializers.Serializer):
    """A JWT pair: a short-lived access token and a refresh token."""

    access = serializers.CharField()
    refresh = StrictCharField()


class ActivationResultSerializer(TokenPairSerializer):
    """Activation answer: the JWT pair and the now active user."""

    user = UserSerializer()


class RefreshTokenSerializer(RequestSerializer):
    """A refresh token (refresh, logout)."""

    refresh = StrictCharField()


class PasswordChangeSerializer(RequestSerializer):
    """The current password and the new one."""

    current_password = password_field()
    new_password = password_field()


class AccountDeletionSerializer(RequestSerializer):
    """The account's password, proving that its owner deletes it."""

    password = password_field()


class AccountDeletionResultSerializer(serializers.Serializer):
    """When the account's personal data will be erased, unless the support desk restores it before."""

    erase_after = serializers.DateTimeField()


class ExportedConsentSerializer(serializers.Serializer):
    """The privacy notice accepted at sign-up ("" and null when none was asked)."""

    version = serializers.CharField()
    language = serializers.CharField()
    accepted_at = serializers.DateTimeField(allow_null=True)


class ExportedAccountSerializer(serializers.Serializer):
    """The account as stored (the password only says how it is kept)."""

    id = serializers.IntegerField()
    phone = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    language = serializers.CharField()
    is_active = serializers.BooleanField()
    date_joined = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    last_login = serializers.DateTimeField(allow_null=True)
    privacy_notice = ExportedConsentSerializer()
    password = serializers.CharField()


class ExportedSessionSerializer(serializers.Serializer):
    """One signed-in device, ended ones included."""

    id = serializers.IntegerField()
    device = serializers.CharField()
    address = serializers.CharField(help_text="the client's network when it opened")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True, help_text="logged out, ended, or every session ended")


class ExportedSmsSerializer(serializers.Serializer):
    """One SMS sent to one of the account's numbers: never its text or its code."""

    created_at = serializers.DateTimeField()
    phone = serializers.CharField()
    purpose = serializers.CharField()
    language = serializers.CharField()
    provider = serializers.CharField()
    status = serializers.CharField()
    updated_at = serializers.DateTimeField(help_text="when the status was last reported")


class ExportedPhoneChangeSerializer(serializers.Serializer):
    """A number the account asked to move to."""

    created_at = serializers.DateTimeField()
    phone = serializers.CharField()
    used_at = serializers.DateTimeField(allow_null=True, help_text="when the move was confirmed with the code")


class ExportedAuditEventSerializer(serializers.Serializer):
    """One security-relevant action on the account (docs/privacy.md, "The audit trail")."""

    created_at = serializers.DateTimeField()
    kind = serializers.CharField()
    address = serializers.CharField(help_text="the client's network, not its address")
    request_id = serializers.CharField()
    detail = serializers.CharField()


class AccountExportSerializer(serializers.Serializer):
    """Everything the API holds about the caller's account (users.services.export)."""

    exported_at = serializers.DateTimeField()
    account = ExportedAccountSerializer()
    sessions = ExportedSessionSerializer(many=True)
    sms = ExportedSmsSerializer(many=True)
    phone_change_codes = ExportedPhoneChangeSerializer(many=True)
    audit_events = ExportedAuditEventSerializer(many=True)


class PasswordResetConfirmSerializer(RequestSerializer):
    """The phone, the reset code it received, and the new password."""

    phone = PhoneField()
    code = code_field()
    new_password = password_field()


class PhoneChangeSerializer(RequestSerializer):
    """The new number, and the current password: a token alone must not move the account to another SIM."""

    new_phone = PhoneField()
    current_password = password_field()


class PhoneChangeRequestedSerializer(serializers.Serializer):
    """When the code sent to the new number expires."""

    code_expires_at = serializers.DateTimeField()


class CodeSerializer(RequestSerializer):
    """A 6-digit code received by SMS."""

    code = code_field()


class ErrorSerializer(serializers.Serializer):
    """`{"detail", "code"}`: a refusal of the request as a whole."""

    detail = serializers.CharField()
    code = serializers.CharField()
