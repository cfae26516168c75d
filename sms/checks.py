"""System checks: SMS_BACKEND names a backend class, and production does not run on a development one."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

DEVELOPMENT_BACKENDS = {"sms.backends.console.SmsBackend", "sms.backends.locmem.SmsBackend"}


@register()
def check_backend_importable(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """sms.E001 when SMS_BACKEND cannot be imported (every sign-up would fail)."""
    errors: list[CheckMessage] = []
    for path in (p.strip() for p in settings.SMS_BACKEND.split(",")):
        try:
            import_string(path)
        except ImportError as exc:
            errors.append(Error(f"SMS_BACKEND {path!r} cannot be imported: {exc}", id="sms.E001"))
    return errors


@register(Tags.security, deploy=True)
def check_production_backend(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """sms.W001 under `check --deploy` when SMS_BACKEND only prints or stores messages."""
    if any(p.strip() in DEVELOPMENT_BACKENDS for p in settings.SMS_BACKEND.split(",")):
        return [
            Warning(
                f"SMS_BACKEND is {settings.SMS_BACKEND}: activation codes are printed or kept in memory, never sent.",
                hint="Set SMS_BACKEND=sms.backends.twilio.SmsBackend and the TWILIO_* variables.",
                id="sms.W001",
            )
        ]
    return []
