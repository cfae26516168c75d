"""The whole sign-up over HTTP with the Twilio backend talking to a local stub provider that misbehaves.

Whatever the provider does (fails, throttles, resets the connection, rejects the number, hangs), the
sign-up leaves nothing behind, and the same phone registers once the provider is back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from rest_framework.test import APIClient

from sms.backends.twilio import SmsBackend
from tests.sms_stub import StubSmsProvider
from users.models import ActivationToken, User

pytestmark = pytest.mark.django_db
PHONE = "+237670123456"


@pytest.fixture
def stub(settings: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubSmsProvider]:
    """The stub provider, with the Twilio backend configured to use it and short timeouts."""
    with StubSmsProvider() as provider:
        settings.SMS_BACKEND = "sms.backends.twilio.SmsBackend"  # type: ignore[attr-defined]
        settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32  # type: ignore[attr-defined]
        settings.TWILIO_AUTH_TOKEN = "stub-token"  # type: ignore[attr-defined]
        settings.TWILIO_FROM_NUMBER = "WaterBill"  # type: ignore[attr-defined]
        settings.TWILIO_API_URL = provider.url  # type: ignore[attr-defined]
        # The production bound is 7 s; the stub hangs 2 s, so a 0.5 s bound shows the same behaviour fast.
        monkeypatch.setattr(SmsBackend, "read_timeout", 0.5)
        yield provider


def code_from(stub: StubSmsProvider) -> str:
    match = re.search(r"\b(\d{6})\b", stub.state.messages[-1]["Body"])
    assert match
    return match.group(1)


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [
        ("fail", 503, "sms_unavailable"),
        ("throttle", 503, "sms_unavailable"),
        ("reset", 503, "sms_unavailable"),
        # Twilio may have queued the message before the read timeout: in real life that SMS arrives for a
        # sign-up that was rolled back (documented in docs/atomic-registration.md); harmless, as the retry shows.
        ("hang", 503, "sms_unavailable"),
        ("reject", 400, "phone_rejected"),
    ],
)
def test_a_misbehaving_provider_leaves_nothing_and_the_phone_registers_once_it_is_back(
    api_client: APIClient, payload: dict[str, str], stub: StubSmsProvider, mode: str, status: int, code: str
) -> None:
    stub.state.mode = mode
    failed = api_client.post("/api/v1/auth/register/", payload, format="json")

    assert failed.status_code == status
    body = failed.json()
    assert (body.get("code") or body["phone"][0]["code"]) == code
    if status == 503:
        assert failed["Retry-After"]
    assert User.objects.count() == 0
    assert ActivationToken.objects.count() == 0
    assert stub.state.requests == 1

    stub.state.mode = "accept"
    registered = api_client.post("/api/v1/auth/register/", payload, format="json")
    assert registered.status_code == 201
    assert stub.state.messages[-1]["To"] == PHONE
    body = {"phone": PHONE, "code": code_from(stub), "signup_token": registered.json()["signup_token"]}
    activated = api_client.post("/api/v1/auth/activate/", body, format="json")
    assert activated.status_code == 200


def test_missing_credentials_refuse_before_calling_the_provider(
    api_client: APIClient, payload: dict[str, str], stub: StubSmsProvider, settings: object
) -> None:
    settings.TWILIO_AUTH_TOKEN = ""  # type: ignore[attr-defined]
    response = api_client.post("/api/v1/auth/register/", payload, format="json")
    assert response.status_code == 503
    assert stub.state.requests == 0
    assert User.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_walkthrough_over_real_http(live_server: object, payload: dict[str, str], stub: StubSmsProvider) -> None:
    """register -> SMS code -> activate -> me -> refresh -> logout, on a real socket, as the README shows."""
    base = f"{live_server.url}/api/v1"  # type: ignore[attr-defined]
    with requests.Session() as http:
        registered = http.post(f"{base}/auth/register/", json=payload, timeout=10)
        assert registered.status_code == 201, registered.text
        body = {"phone": "670123456", "code": code_from(stub), "signup_token": registered.json()["signup_token"]}
        tokens = http.post(f"{base}/auth/activate/", json=body, timeout=10)
        assert tokens.status_code == 200
        pair = tokens.json()
        me = http.get(f"{base}/users/me/", headers={"Authorization": f"Bearer {pair['access']}"}, timeout=10)
        assert me.json()["phone"] == PHONE
        assert me.json()["is_active"] is True
        rotated = http.post(f"{base}/auth/token/refresh/", json={"refresh": pair["refresh"]}, timeout=10)
        assert rotated.status_code == 200
        logout = http.post(f"{base}/auth/logout/", json={"refresh": rotated.json()["refresh"]}, timeout=10)
        assert logout.status_code == 204
        login = http.post(
            f"{base}/auth/login/", json={"phone": "00237670123456", "password": payload["password"]}, timeout=10
        )
        assert login.status_code == 200
