"""Fixtures for the cross-app HTTP tests: a sign-up payload and a registered, not yet activated phone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from users.tests.factories import PASSWORD

PHONE = "+237670123456"

ROOT = Path(__file__).resolve().parent.parent
#: A secret key for settings read outside DEBUG (the production settings require one).
SECRET = "test-only-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOP"


def settings_printed(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` (which imports waterbill.settings and prints what it reads) in a fresh interpreter with exactly
    these environment variables plus PATH: settings are read once per process, at import."""
    return subprocess.run(  # noqa: S603 -- this interpreter running the caller's fixed snippet
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


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
