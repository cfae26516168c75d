"""Request ids, phone masking in what a request logs, and the JSON log format (python-json-logger)."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import PHONE
from users.tests.factories import UserFactory
from waterbill.logging import JsonFormatter, RequestIdFilter

MASKED = "+237******456"  # mask_phone(PHONE)
FIXED_KEYS = ["time", "level", "logger", "request_id", "message"]
ISO_UTC_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")


class _Capture(logging.Handler):
    """What settings.LOGGING's console handler would print: its filter, one of its formatters."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


def _settings_formatter(name: str) -> logging.Formatter:
    """settings.LOGGING's formatter `name`, built the way dictConfig builds it."""
    return logging.config.DictConfigurator({}).configure_formatter(dict(settings.LOGGING["formatters"][name]))


@contextmanager
def _capturing(log_format: str) -> Iterator[_Capture]:
    capture = _Capture(_settings_formatter(log_format))
    root = logging.getLogger()
    root.addHandler(capture)
    try:
        yield capture
    finally:
        root.removeHandler(capture)


@pytest.fixture(params=["plain", "json"])
def project_log(request: pytest.FixtureRequest) -> Iterator[_Capture]:
    """Everything the project's loggers send to the root handler, in each LOG_FORMAT of the settings."""
    with _capturing(request.param) as capture:
        yield capture


@pytest.fixture
def json_log() -> Iterator[_Capture]:
    """`project_log` in the JSON format only."""
    with _capturing("json") as capture:
        yield capture


def _json_line(record: logging.LogRecord) -> dict[str, object]:
    line = JsonFormatter().format(record)
    assert "\n" not in line  # one record, one line: tracebacks are escaped inside the JSON string
    return json.loads(line)


def _record(msg: str, *args: object, **kwargs: object) -> logging.LogRecord:
    """A record made by a real logger call (so exc_info, stack_info and extra go through logging)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("users.services")
    logger.addHandler(handler)
    try:
        logger.warning(msg, *args, **kwargs)  # type: ignore[arg-type]
    finally:
        logger.removeHandler(handler)
    [record] = records
    return record


# --- What a request logs --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failed_login_logs_the_masked_phone_never_the_number_with_the_requests_id(
    api_client: APIClient, project_log: _Capture
) -> None:
    UserFactory(phone=PHONE)
    response = api_client.post(
        "/api/v1/auth/login/",
        {"phone": PHONE, "password": "not-the-password"},
        format="json",
        HTTP_X_REQUEST_ID="req-42",
    )
    assert response.status_code == 401
    [failure] = [r for r in project_log.records if r.name == "users.services.login"]
    assert failure.levelno == logging.WARNING
    assert failure.request_id == "req-42"
    text = "\n".join(project_log.lines)
    assert f"Login failed for {MASKED}: unknown phone or wrong password" in text
    assert PHONE not in text
    assert PHONE[1:] not in text
    assert "670123456" not in text
    assert all("req-42" in line for line in project_log.lines)  # Django's "Unauthorized: ..." line too


@pytest.mark.django_db
def test_djangos_own_line_for_a_refused_request_carries_its_id(project_log: _Capture) -> None:
    Client(raise_request_exception=False).get("/api/v1/auth/login/", HTTP_X_REQUEST_ID="req-405")
    [line] = [r for r in project_log.records if r.name == "django.request"]
    assert line.request_id == "req-405"


# --- Request ids ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_response_carries_a_request_id_and_a_proxys_is_kept(api_client: APIClient) -> None:
    made = api_client.get("/api/v1/health/")
    assert re.fullmatch(r"[0-9a-f]{32}", made["X-Request-ID"])
    kept = api_client.get("/api/v1/health/", HTTP_X_REQUEST_ID="lb-1234.abc")
    assert kept["X-Request-ID"] == "lb-1234.abc"


@pytest.mark.django_db
def test_a_valid_request_id_is_echoed_and_logged(api_client: APIClient, project_log: _Capture) -> None:
    response = api_client.post(
        "/api/v1/auth/login/", {"phone": PHONE, "password": "x"}, format="json", HTTP_X_REQUEST_ID="lb-1234.abc"
    )
    assert response["X-Request-ID"] == "lb-1234.abc"
    assert project_log.records
    assert {r.request_id for r in project_log.records} == {"lb-1234.abc"}


@pytest.mark.django_db
@pytest.mark.parametrize("given", ["x\nINFO forged line", "a" * 65, "id with spaces", "id;rm"])
def test_an_invalid_request_id_is_replaced_in_the_response_and_the_logs(
    given: str, api_client: APIClient, project_log: _Capture
) -> None:
    response = api_client.post(
        "/api/v1/auth/login/", {"phone": PHONE, "password": "x"}, format="json", HTTP_X_REQUEST_ID=given
    )
    made = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert project_log.records
    assert {r.request_id for r in project_log.records} == {made}


@pytest.mark.django_db
def test_a_record_after_the_request_has_no_id_again(api_client: APIClient, project_log: _Capture) -> None:
    api_client.post("/api/v1/auth/login/", {"phone": PHONE, "password": "x"}, format="json", HTTP_X_REQUEST_ID="req-7")
    logging.getLogger("users.services").warning("after the response")
    assert project_log.records[-1].request_id == "-"


# --- The JSON format ------------------------------------------------------------------------------


def test_json_lines_have_the_documented_keys_in_order() -> None:
    record = _record("Login failed for %s: %s", MASKED, "wrong password")
    RequestIdFilter().filter(record)  # outside a request
    entry = _json_line(record)
    assert list(entry) == FIXED_KEYS
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "users.services"
    assert entry["request_id"] == "-"
    assert entry["message"] == f"Login failed for {MASKED}: wrong password"
    assert ISO_UTC_MS.match(str(entry["time"]))
    assert entry["time"] == datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")


def test_json_request_id_is_a_dash_without_the_filter_and_text_stays_readable() -> None:
    entry = JsonFormatter().format(_record("Requête refusée"))
    assert "Requête refusée" in entry  # not \u-escaped
    assert json.loads(entry)["request_id"] == "-"


def test_json_keeps_extra_fields_after_the_fixed_keys() -> None:
    extra = {"provider": "twilio", "attempts": 2, "sent_at": datetime(2026, 1, 2, tzinfo=UTC)}
    entry = _json_line(_record("SMS sent", extra=extra))
    assert list(entry)[:5] == FIXED_KEYS
    assert entry["provider"] == "twilio"
    assert entry["attempts"] == 2
    assert entry["sent_at"] == "2026-01-02T00:00:00+00:00"  # what json can't encode is written as text


def test_an_extra_cannot_overwrite_a_fixed_key() -> None:
    entry = _json_line(_record("real", extra={"level": "forged", "time": "forged", "logger": "forged"}))
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "users.services"
    assert entry["time"] != "forged"


def test_json_includes_the_traceback_of_logger_exception() -> None:
    try:
        {}["missing"]
    except KeyError:
        record = _record("Could not record the SMS failure", exc_info=True)
    entry = _json_line(record)
    assert entry["message"] == "Could not record the SMS failure"
    exception = str(entry["exception"])
    assert exception.startswith("Traceback (most recent call last):")
    assert "test_json_includes_the_traceback_of_logger_exception" in exception
    assert exception.endswith("KeyError: 'missing'")
    assert "stack_info" not in entry


def test_json_includes_the_stack_of_stack_info() -> None:
    entry = _json_line(_record("where am I", stack_info=True))
    stack = str(entry["stack_info"])
    assert stack.startswith("Stack (most recent call last):")
    assert "test_json_includes_the_stack_of_stack_info" in stack
    assert "exception" not in entry


@pytest.mark.django_db
def test_json_leaves_out_djangos_request_object_but_keeps_its_status_code(json_log: _Capture) -> None:
    Client(raise_request_exception=False).get("/api/v1/auth/login/?phone=%2B237670123456")
    [line] = [
        json.loads(text)
        for r, text in zip(json_log.records, json_log.lines, strict=True)
        if r.name == "django.request"
    ]
    assert line["status_code"] == 405
    assert line["message"] == "Method Not Allowed: /api/v1/auth/login/"
    assert "request" not in line  # its str() is "<WSGIRequest: GET '/...?phone=%2B237670123456'>"


def test_log_format_json_makes_the_settings_print_json_lines() -> None:
    root = Path(__file__).resolve().parent.parent
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('users.services').warning('Login failed for %s', '+237******456', extra={'attempts': 3})"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "waterbill.test_settings", "LOG_FORMAT": "json"}
    done = subprocess.run(  # noqa: S603 -- this interpreter running the fixed snippet above
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    entry = json.loads(done.stderr)
    assert list(entry) == [*FIXED_KEYS, "attempts"]
    assert entry["message"] == "Login failed for +237******456"
    assert entry["request_id"] == "-"
    assert entry["attempts"] == 3
