"""Schemathesis against the project's own OpenAPI schema, valid and invalid bodies: no server error, and
every answer (status, content type, body, headers) as the schema documents it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.throttling import ScopedRateThrottle
from schemathesis.specs.openapi.checks import positive_data_acceptance

from users.models import User
from users.tokens import token_pair

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE], deterministic=True
)


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """Schemathesis calls the WSGI app directly: like Django's test client, keep Django from closing the
    test's database connection (it is inside the test transaction) at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def unlimited(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """No throttles or login locks: the fuzzer's requests must reach the views, not a 429."""
    for scope in list(ScopedRateThrottle.THROTTLE_RATES):
        monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, scope, "1000000/hour")
    settings.LOGIN_FAILURE_LIMIT_PHONE = settings.LOGIN_FAILURE_LIMIT_IP = (1_000_000, 60)
    settings.LOGIN_FAILURE_LIMIT_PHONE_ALL = (1_000_000, 60)
    settings.SMS_HOURLY_BUDGET_SIGNUPS = settings.SMS_HOURLY_BUDGET_ACCOUNTS = 1_000_000
    settings.SIGNUP_SMS_PER_BLOCK_PER_HOUR = 1_000_000


@pytest.fixture
def bearer() -> dict[str, str]:
    """A valid access token, so that /users/me/ is fuzzed past authentication (public views ignore it)."""
    user = User.objects.create_user("670000001", "Fuzz-Pass-2026", is_active=True)
    return {"Authorization": f"Bearer {token_pair(user)['access']}"}


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@pytest.mark.django_db
def test_every_endpoint_against_its_schema(case: schemathesis.Case, unlimited: None, bearer: dict[str, str]) -> None:
    # A body the schema accepts may still be refused by rules no JSON schema can say (a phone number
    # that does not exist, a wrong code): "valid data accepted" does not apply to this API.
    case.call_and_validate(headers=bearer, excluded_checks=[positive_data_acceptance])
