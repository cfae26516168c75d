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
    backend's constructor. Several comma-separated paths give a failover backend that tries them in order.
    Raises ImportError when a path does not name a class.
    """
    paths = [path.strip() for path in (backend or settings.SMS_BACKEND).split(",") if path.strip()]
    if len(paths) > 1:
        from sms.backends.failover import SmsBackend as Failover

        return Failover([import_string(path)(**kwargs) for path in paths])
    return import_string(paths[0])(**kwargs)
