"""Fixtures for the cross-app HTTP tests: a sign-up payload and a registered, not yet activated phone."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from users.tests.factories import PASSWORD

PHONE = "+237670123456"


@dataclass(frozen=True)
class Registered:
    """A phone signed up through the API, the token the answer carried, and the code its SMS carried."""

    phone: str
    signup_token: str
    code: str

    def activation(self, **overrides: str) -> dict[str, str]:
        """The activation body for this sign-up."""
        return {"phone": self.phone, "code": self.code, "signup_token": self.signup_token, **overrides}


def code_in(message: SmsMessage) -> str:
    """The 6-digit code of an activation SMS."""
    match = re.search(r"\b(\d{6})\b", message.text)
    assert match, message.text
    return match.group(1)


def field_codes(body: dict[str, list[dict[str, str]]]) -> dict[str, list[str]]:
    """A field-errors body `{field: [{message, code}]}` as each field's codes."""
    return {field: [error["code"] for error in errors] for field, errors in body.items()}


@pytest.fixture
def clear_of_window_edges() -> None:
    """Start far enough from a minute mark that a burst of requests stays inside one fixed window.

    Every limit counts in fixed windows aligned on the epoch whose lengths are whole minutes (60 s, 300 s,
    an hour), so their edges all fall on minute marks: a test that sends its burst in the last seconds of a
    window would see the count start again halfway (once in about 150 runs before this).
    """
    seconds_into_minute = time.time() % 60
    if seconds_into_minute > 50:
        time.sleep(60 - seconds_into_minute + 0.1)


@pytest.fixture
def payload() -> dict[str, str]:
    """A valid sign-up body."""
    return {
        "phone": "6 70 12 34 56",
        "first_name": "Awa",
        "last_name": "Ngono",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }


@pytest.fixture
def registered(db: None, api_client: APIClient, payload: dict[str, str], sms_outbox: list[SmsMessage]) -> Registered:
    """`payload` signed up over HTTP."""
    response = api_client.post("/api/v1/auth/register/", payload, format="json")
    assert response.status_code == 201, response.content
    return Registered(phone=PHONE, signup_token=response.json()["signup_token"], code=code_in(sms_outbox[-1]))


@pytest.fixture
def postgres(transactional_db: None) -> None:
    """Real commits on PostgreSQL (row locks, concurrent transactions); skipped elsewhere, never on CI's run."""
    import os

    from django.db import connection

    if connection.vendor != "postgresql":
        reason = "needs PostgreSQL for real concurrent transactions: DATABASE_URL=postgres://... scripts/test"
        if os.environ.get("WATERBILL_REQUIRE_POSTGRES"):
            pytest.fail(f"WATERBILL_REQUIRE_POSTGRES is set but the database is {connection.vendor}: {reason}")
        pytest.skip(reason)
