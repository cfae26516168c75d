"""Request ids and the JSON log format."""

from __future__ import annotations

import json
import logging

import pytest
from rest_framework.test import APIClient

from waterbill.logging import JsonFormatter, RequestIdFilter


@pytest.mark.django_db
def test_every_response_carries_a_request_id_and_a_proxys_is_kept(api_client: APIClient) -> None:
    made = api_client.get("/api/v1/health/")
    assert len(made["X-Request-ID"]) == 32
    kept = api_client.get("/api/v1/health/", HTTP_X_REQUEST_ID="lb-1234.abc")
    assert kept["X-Request-ID"] == "lb-1234.abc"
    unsafe = api_client.get("/api/v1/health/", HTTP_X_REQUEST_ID="x\nINFO forged line")
    assert unsafe["X-Request-ID"] != "x\nINFO forged line"


@pytest.mark.django_db
def test_log_records_of_a_request_carry_its_id(api_client: APIClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.INFO)
    api_client.post("/api/v1/auth/login/", {"phone": "670123456", "password": "x"}, format="json", HTTP_X_REQUEST_ID="req-42")
    assert any(r.name == "users.services" and r.request_id == "req-42" for r in caplog.records)


def test_json_format_is_one_object_per_line_with_the_masked_phone() -> None:
    record = logging.LogRecord("users.services", logging.WARNING, __file__, 1, "Login failed for %s", ("+237******456",), None)
    RequestIdFilter().filter(record)
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "WARNING" and entry["logger"] == "users.services" and entry["request_id"] == "-"
    assert entry["message"] == "Login failed for +237******456"
    assert entry["time"].endswith("+00:00")


@pytest.mark.django_db
def test_djangos_own_line_for_a_refused_request_carries_its_id(caplog: pytest.LogCaptureFixture) -> None:
    from django.test import Client

    caplog.handler.addFilter(RequestIdFilter())
    Client(raise_request_exception=False).get("/api/v1/auth/login/", HTTP_X_REQUEST_ID="req-405")
    [line] = [r for r in caplog.records if r.name == "django.request"]
    assert line.request_id == "req-405"
