"""Pluggable SMS gateways, in the manner of django.core.mail: `get_sms_gateway()` loads settings.SMS_BACKEND."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from sms.backends.base import BaseSmsBackend


def get_sms_gateway(backend: str | None = None, **kwargs: Any) -> BaseSmsBackend:
    """An instance of the backend class at dotted path `backend` (default: settings.SMS_BACKEND).

    Loaded at call time, so a test's `settings.SMS_BACKEND = ...` takes effect at once. `kwargs` go to the
    backend's constructor. Raises ImportError when the path does not name a class.
    """
    klass = import_string(backend or settings.SMS_BACKEND)
    return klass(**kwargs)
