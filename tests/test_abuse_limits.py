"""Abuse limits of a public endpoint that sends paid SMS: per-IP throttles, failed logins, the global SMS
budget (wrong codes: tests/test_guess_limits.py)."""

from __future__ import annotations

import logging

import pytest
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle  # rates live on its THROTTLE_RATES

from sms.backends.locmem import SmsMessage
from users.models import User
from users.tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clear_of_window_edges")]
RESEND = "/api/v1/auth/activate/resend/"


def sign_up_body(phone: str) -> dict[str, str]:
    return {
        "phone": phone,
        "first_name": "Awa",
        "last_name": "Ngono",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }


def answer(response: Response) -> tuple[int, str | None]:
    """The status, and the code of a `{detail, code}` refusal (None for a success or field errors)."""
    body = response.json()
    return response.status_code, body["code"] if isinstance(body.get("code"), str) else None


@pytest.mark.parametrize(
    ("scope", "path", "body", "unthrottled"),
    [
        ("register", "/api/v1/auth/register/", {"phone": "12"}, (400, None)),  # field errors
        (
            "activate",
            "/api/v1/auth/activate/",
            {"phone": "670123456", "code": "123456", "signup_token": "x"},
            (400, "code_invalid"),
        ),
        (
            "activate",
            "/api/v1/auth/activate/status/",
            {"phone": "670123456", "signup_token": "x"},
            (400, "signup_invalid"),
        ),
        ("resend", "/api/v1/auth/activate/resend/", {"phone": "670123456"}, (202, None)),
        ("login", "/api/v1/auth/login/", {"phone": "670123456", "password": "x"}, (401, "invalid_credentials")),
    ],
)
def test_each_public_endpoint_is_throttled_per_client_ip(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch, scope: str, path: str, body: dict[str, str],
    unthrottled: tuple[int, str | None],
) -> None:
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, scope, "2/hour")
    for _ in range(2):
        assert answer(api_client.post(path, body, format="json")) == unthrottled
    throttled = api_client.post(path, body, format="json")
    assert answer(throttled) == (429, "throttled")
    assert 0 < int(throttled["Retry-After"]) <= 3600
    other_ip = api_client.post(path, body, format="json", REMOTE_ADDR="10.1.2.3")
    assert answer(other_ip) == unthrottled


def test_without_a_declared_proxy_x_forwarded_for_is_ignored(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default (DJANGO_NUM_PROXIES=0): a client cannot pick a new address per request to dodge limits."""
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "resend", "1/hour")
    body = {"phone": "670123456"}
    assert api_client.post(RESEND, body, format="json", HTTP_X_FORWARDED_FOR="41.202.1.1").status_code == 202
    assert answer(api_client.post(RESEND, body, format="json", HTTP_X_FORWARDED_FOR="41.202.9.9")) == (429, "throttled")


def test_behind_one_proxy_the_client_ip_is_the_one_the_proxy_saw(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch, settings: object
) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}  # type: ignore[attr-defined]
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "resend", "1/hour")
    body = {"phone": "670123456"}
    assert api_client.post(RESEND, body, format="json", HTTP_X_FORWARDED_FOR="41.202.1.1").status_code == 202
    spoofed = api_client.post(RESEND, body, format="json", HTTP_X_FORWARDED_FOR="6.6.6.6, 41.202.1.1")
    assert answer(spoofed) == (429, "throttled")  # a client-written first entry does not make a new client
    other = api_client.post(RESEND, body, format="json", HTTP_X_FORWARDED_FOR="41.202.9.9")
    assert other.status_code == 202


def test_a_strangers_failures_do_not_lock_the_owners_login_from_elsewhere(api_client: APIClient) -> None:
    UserFactory(phone="+237670123456")
    for _ in range(8):  # a stranger, from one address, past the per-number-and-address limit
        api_client.post("/api/v1/auth/login/", {"phone": "670123456", "password": "guess"}, format="json")
    owner = api_client.post(
        "/api/v1/auth/login/", {"phone": "670123456", "password": PASSWORD}, format="json", REMOTE_ADDR="10.1.1.1"
    )
    assert owner.status_code == 200


def test_failures_spread_over_many_addresses_meet_the_numbers_backstop(api_client: APIClient) -> None:
    UserFactory(phone="+237670123456")
    answers = []
    for n in range(11):  # 11 addresses x 5 failures: past LOGIN_FAILURE_LIMIT_PHONE_ALL (50 an hour)
        for _ in range(5):
            response = api_client.post(
                "/api/v1/auth/login/", {"phone": "670123456", "password": "guess"}, format="json",
                REMOTE_ADDR=f"10.2.2.{n}",
            )
            answers.append(answer(response))
    assert answers.count((401, "invalid_credentials")) == 50
    assert answers[50:] == [(429, "login_locked")] * 5
    locked = api_client.post(
        "/api/v1/auth/login/", {"phone": "670123456", "password": PASSWORD}, format="json", REMOTE_ADDR="10.3.3.3"
    )
    assert answer(locked) == (429, "login_locked")
    assert 0 < int(locked["Retry-After"]) <= 3600


def test_failed_logins_lock_the_number_even_for_the_right_password(api_client: APIClient) -> None:
    """From the address that failed: 5 wrong passwords lock the number there, right password included."""
    UserFactory(phone="+237670123456")
    for _ in range(5):
        failed = api_client.post("/api/v1/auth/login/", {"phone": "670123456", "password": "guess"}, format="json")
        assert answer(failed) == (401, "invalid_credentials")
    locked = api_client.post("/api/v1/auth/login/", {"phone": "670123456", "password": PASSWORD}, format="json")
    assert answer(locked) == (429, "login_locked")
    assert 0 < int(locked["Retry-After"]) <= 300  # until the end of the five-minute window
    # Another number from another address is not affected.
    UserFactory(phone="+237670000077")
    ok = api_client.post(
        "/api/v1/auth/login/", {"phone": "670000077", "password": PASSWORD}, format="json", REMOTE_ADDR="10.9.9.9"
    )
    assert ok.status_code == 200


def test_failed_logins_from_one_address_lock_that_address(api_client: APIClient) -> None:
    """LOGIN_FAILURE_LIMIT_IP (100, then one back every 3 s): high, as one carrier NAT address carries many
    customers' typos, but credential stuffing across numbers from one address meets it."""
    for n in range(100):  # a hundred different numbers, one address
        failed = api_client.post("/api/v1/auth/login/", {"phone": f"67000{n:04d}", "password": "guess"}, format="json")
        assert answer(failed) == (401, "invalid_credentials")
    UserFactory(phone="+237670000999")
    locked = api_client.post("/api/v1/auth/login/", {"phone": "670000999", "password": PASSWORD}, format="json")
    assert answer(locked) == (429, "login_locked")
    assert 0 < int(locked["Retry-After"]) <= 3  # one failure comes back every 3 s
    elsewhere = api_client.post(
        "/api/v1/auth/login/", {"phone": "670000999", "password": PASSWORD}, format="json", REMOTE_ADDR="10.7.7.7"
    )
    assert elsewhere.status_code == 200


def test_a_successful_login_forgives_the_numbers_earlier_failures(api_client: APIClient) -> None:
    UserFactory(phone="+237670123456")
    for _ in range(4):
        api_client.post("/api/v1/auth/login/", {"phone": "670123456", "password": "guess"}, format="json")
    logged_in = api_client.post("/api/v1/auth/login/", {"phone": "670123456", "password": PASSWORD}, format="json")
    assert logged_in.status_code == 200
    for _ in range(5):  # five more failures allowed: the earlier four were cleared, not just this attempt taken back
        failed = api_client.post("/api/v1/auth/login/", {"phone": "670123456", "password": "guess"}, format="json")
        assert answer(failed) == (401, "invalid_credentials")


def test_the_sign_up_sms_allowance_refuses_sends_past_it(
    api_client: APIClient, settings: object, sms_outbox: list[SmsMessage], caplog: pytest.LogCaptureFixture
) -> None:
    settings.SMS_HOURLY_BUDGET_SIGNUPS = 2  # type: ignore[attr-defined]
    for n in range(2):
        assert api_client.post("/api/v1/auth/register/", sign_up_body(f"67000000{n}"), format="json").status_code == 201
    refused = api_client.post("/api/v1/auth/register/", sign_up_body("670000009"), format="json")
    assert answer(refused) == (503, "sms_unavailable")
    assert refused["Retry-After"] == "60"
    assert len(sms_outbox) == 2
    assert not User.objects.filter(phone="+237670000009").exists()
    assert any(r.levelno == logging.ERROR and "budget" in r.getMessage() for r in caplog.records)


def test_failed_sends_do_not_spend_the_budget(api_client: APIClient, settings: object) -> None:
    from unittest.mock import patch

    settings.SMS_HOURLY_BUDGET_SIGNUPS = 1  # type: ignore[attr-defined]
    with patch("sms.backends.locmem.SmsBackend.send", side_effect=OSError("down")):
        failed = api_client.post("/api/v1/auth/register/", sign_up_body("670000001"), format="json")
    assert answer(failed) == (503, "sms_unavailable")
    assert api_client.post("/api/v1/auth/register/", sign_up_body("670000001"), format="json").status_code == 201


def test_check_deploy_warns_about_a_per_process_cache(settings: object) -> None:
    from users.checks import check_shared_cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}  # type: ignore[attr-defined]
    assert [m.id for m in check_shared_cache(None)] == ["users.W001"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}}  # type: ignore[attr-defined]
    assert check_shared_cache(None) == []


def test_an_unreachable_shared_cache_is_a_503_not_a_500(api_client: APIClient, settings: object) -> None:
    from django.core.cache import caches

    settings.CACHES = {  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    try:
        response = api_client.post("/api/v1/auth/register/", sign_up_body("670123456"), format="json")
    finally:
        caches["default"].close()
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert response["Retry-After"] == "30"
    assert not User.objects.exists()


def test_a_locked_address_cannot_add_to_a_numbers_failures(api_client: APIClient) -> None:
    UserFactory(phone="+237670123456")
    for n in range(100):  # this address is now locked (LOGIN_FAILURE_LIMIT_IP)
        api_client.post("/api/v1/auth/login/", {"phone": f"67000{n:04d}", "password": "guess"}, format="json")
    for _ in range(20):
        response = api_client.post("/api/v1/auth/login/", {"phone": "670123456", "password": "guess"}, format="json")
        assert answer(response) == (429, "login_locked")
    owner = api_client.post(
        "/api/v1/auth/login/", {"phone": "670123456", "password": PASSWORD}, format="json", REMOTE_ADDR="10.8.8.8"
    )
    assert owner.status_code == 200  # the refused attempts did not count against the number


def test_check_deploy_warns_when_no_proxy_is_declared(settings: object) -> None:
    from users.checks import check_proxy_count

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}  # type: ignore[attr-defined]
    assert [m.id for m in check_proxy_count(None)] == ["users.W002"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}  # type: ignore[attr-defined]
    assert check_proxy_count(None) == []
