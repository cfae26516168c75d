"""Logging: a request id on every record (X-Request-ID), plain lines in development, JSON lines in production."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# What a proxy or client may hand us as a request id: short and harmless in a log line.
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Take the proxy's X-Request-ID (or make one), expose it to the logs, and return it in the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _ACCEPTABLE_ID.match(given) else uuid.uuid4().hex
        # Kept until the response is closed (request_finished), not just until this returns: Django logs
        # 4xx/5xx responses ("Bad Request: ...") after the middleware chain has returned.
        _request_id.set(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


def current_request_id() -> str:
    """The id of the request being served ("-" outside a request): what the logs and the audit events carry."""
    return _request_id.get()


def _forget_request_id(**kwargs: object) -> None:
    _request_id.set("-")


request_finished.connect(_forget_request_id, dispatch_uid="waterbill.logging.forget_request_id")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


class JsonFormatter(_LibraryJsonFormatter):
    """One JSON object per line, through python-json-logger.

    Keys, in this order: `time` (UTC, ISO 8601 with milliseconds), `level`, `logger`, `request_id` ("-" when
    no RequestIdFilter set it), `message`; then `exception` (the formatted traceback) when the record has
    exc_info, `stack_info` when logged with stack_info=True, and every `extra={...}` field. Values JSON
    cannot encode are written as their str(). An extra or a dict message reusing one of the five first
    keys does not replace it. Takes no options: settings.LOGGING names it with `{"()": ...}` alone.
    """

    def __init__(self) -> None:
        super().__init__(
            rename_fields={"exc_info": "exception"},
            # Django attaches the HttpRequest (or the socket, for runserver) to its request records as
            # `request`: its str() carries the full query string, which may hold a phone number or a
            # token, and the message already names the path.
            reserved_attrs=[*RESERVED_ATTRS, "request_id", "request"],
            json_ensure_ascii=False,  # the messages are French: keep them readable
        )

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        """Put the five fixed keys first, then what the library adds (exception, stack_info, extras)."""
        fixed = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.message,  # set by format() just before (getMessage(), or "" for a dict)
        }
        log_data.update(fixed)  # first, so they lead the line
        super().add_fields(log_data, record, message_dict)
        log_data.update(fixed)  # again: an `extra={"level": ...}` must not forge or hide the real one
