"""Pluggable SMS gateways, in the manner of django.core.mail: `get_sms_gateway()` loads settings.SMS_BACKEND."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from sms.backends.base import BaseSmsBackend


def backend_paths(value: str | None = None) -> list[str]:
    """The dotted class paths in `value` (default: settings.SMS_BACKEND, read now), in order.

    The value is comma-separated; whitespace around each path is dropped and so are empty entries, so
    `"a.SmsBackend, b.SmsBackend,"` is two paths. May be empty. The one parser of SMS_BACKEND: the gateway
    and the system checks both read it through here. Never raises on a string.
    """
    raw = settings.SMS_BACKEND if value is None else value
    return [path.strip() for path in raw.split(",") if path.strip()]


def get_sms_gateway(backend: str | None = None, **kwargs: Any) -> BaseSmsBackend:
    """An instance of the backend class at dotted path `backend` (default: settings.SMS_BACKEND).

    Loaded at call time, so a test's `settings.SMS_BACKEND = ...` takes effect at once. Several
    comma-separated paths give a failover backend (sms.backends.failover) over one instance of each, in
    order. `kwargs` go to the constructor of the one backend named; with several they are refused, since
    each backend takes its own arguments: build those backends and pass them to the failover instead.

    Raises TypeError when `kwargs` come with several paths (before anything is imported), ImportError when
    a path does not name a class, and ImproperlyConfigured when the value names no path at all.
    """
    paths = backend_paths(backend)
    if not paths:
        value = settings.SMS_BACKEND if backend is None else backend
        raise ImproperlyConfigured(f"SMS_BACKEND {value!r} names no backend class")
    if len(paths) > 1:
        if kwargs:
            raise TypeError(
                f"get_sms_gateway() got keyword arguments ({', '.join(sorted(kwargs))}) for {len(paths)} backends "
                f"({', '.join(paths)}): they go to a single backend. Build the backends yourself and pass them "
                "to sms.backends.failover.SmsBackend."
            )
        from sms.backends.failover import SmsBackend as Failover

        return Failover([import_string(path)() for path in paths])
    return import_string(paths[0])(**kwargs)
