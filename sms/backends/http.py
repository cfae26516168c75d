"""What the HTTP provider backends share: one keep-alive session per thread, bounded calls, JSON bodies."""

from __future__ import annotations

import threading
from typing import Any

import requests

from sms.exceptions import SmsNotProcessed, SmsOutcomeUnknown

# A send runs inside the sign-up transaction: it must end in bounded time whatever the provider does.
CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 7.0

_local = threading.local()


def session() -> requests.Session:
    """This thread's HTTP session: the TLS connection to the provider is kept alive between sends.

    One per thread because a requests.Session is not documented as thread-safe, and gunicorn runs threads.
    """
    current = getattr(_local, "session", None)
    if current is None:
        current = _local.session = requests.Session()
    return current


def post(provider: str, url: str, read_timeout: float = READ_TIMEOUT, **kwargs: Any) -> requests.Response:
    """POST with bounded timeouts. Raises SmsNotProcessed (never connected) or SmsOutcomeUnknown (no answer
    in time after the request left: it may have been processed)."""
    try:
        return session().post(url, timeout=(CONNECT_TIMEOUT, read_timeout), **kwargs)
    except requests.ConnectTimeout as exc:
        raise SmsNotProcessed(f"{provider} unreachable: {type(exc).__name__}", provider_code="connection") from exc
    except requests.Timeout as exc:
        raise SmsOutcomeUnknown(f"{provider} timed out: {type(exc).__name__}", provider_code="timeout") from exc
    except requests.RequestException as exc:
        raise SmsNotProcessed(f"{provider} unreachable: {type(exc).__name__}", provider_code="connection") from exc


def json_body(response: requests.Response) -> dict:
    """The body as a JSON object, or {} when it is not one (an HTML error page from a proxy, say)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
