"""System checks: SMS_BACKEND and SMS_ACTIVATION_TEXT can be loaded, and production does not run on a
development backend."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from sms import backend_paths

DEVELOPMENT_BACKENDS = {"sms.backends.console.SmsBackend", "sms.backends.locmem.SmsBackend"}


@register()
def check_backend_importable(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """sms.E001 for each path of SMS_BACKEND that cannot be imported, or once when it names none.

    Either way every sign-up would fail.
    """
    paths = backend_paths()
    if not paths:
        return [Error(f"SMS_BACKEND {settings.SMS_BACKEND!r} names no backend class", id="sms.E001")]
    errors: list[CheckMessage] = []
    for path in paths:
        try:
            import_string(path)
        except ImportError as exc:
            errors.append(Error(f"SMS_BACKEND {path!r} cannot be imported: {exc}", id="sms.E001"))
    return errors


@register()
def check_activation_text(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """sms.E002 when SMS_ACTIVATION_TEXT does not name an importable callable (every sign-up would fail)."""
    path = settings.SMS_ACTIVATION_TEXT
    hint = "A dotted path to a callable taking the code and returning the text, e.g. users.texts.activation_text."
    if not isinstance(path, str):
        return [
            Error(f"SMS_ACTIVATION_TEXT must be a dotted path, not {type(path).__name__}", hint=hint, id="sms.E002")
        ]
    try:
        function = import_string(path)
    except ImportError as exc:
        return [Error(f"SMS_ACTIVATION_TEXT {path!r} cannot be imported: {exc}", hint=hint, id="sms.E002")]
    if not callable(function):
        return [Error(f"SMS_ACTIVATION_TEXT {path!r} is not callable", hint=hint, id="sms.E002")]
    return []


@register(Tags.security, deploy=True)
def check_production_backend(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """sms.W001 under `check --deploy` when any path of SMS_BACKEND only prints or stores messages."""
    if any(path in DEVELOPMENT_BACKENDS for path in backend_paths()):
        return [
            Warning(
                f"SMS_BACKEND is {settings.SMS_BACKEND}: activation codes are printed or kept in memory, never sent.",
                hint="Set SMS_BACKEND=sms.backends.twilio.SmsBackend and the TWILIO_* variables.",
                id="sms.W001",
            )
        ]
    return []
