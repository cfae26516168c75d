"""Operations: the health endpoint and the management commands."""

from __future__ import annotations

import io
from datetime import timedelta
from unittest.mock import patch

import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.db import OperationalError
from django.utils import timezone
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from sms.exceptions import SmsNumberRejected
from users.models import ActivationToken, User
from users.tests.factories import ActivationTokenFactory, SmsRecordFactory, UserFactory

HEALTH = "/api/v1/health/"


@pytest.mark.django_db
def test_health_is_ok_when_everything_answers(api_client: APIClient) -> None:
    response = api_client.get(HEALTH)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "sms": "ok"},
        "sms_backends": [
            {
                "name": "locmem",
                "available": True,
                "circuit": "closed",
                "recent_failures": 0,
                "delivered_ratio_24h": None,
                "recent_delivered_ratio": None,
                "tried_last": False,
            }
        ],
    }
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_health_is_degraded_but_serving_when_the_sms_gateway_is_down(api_client: APIClient) -> None:
    with patch("sms.backends.locmem.SmsBackend.is_available", return_value=False):
        response = api_client.get(HEALTH)
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["sms"] == "unavailable"


@pytest.mark.django_db
@pytest.mark.usefixtures("clear_of_window_edges")
@pytest.mark.parametrize("allowance", ["signups", "accounts"])
@pytest.mark.parametrize(("sent", "sms"), [(79, "ok"), (80, "degraded"), (100, "degraded")])
def test_health_says_degraded_when_an_sms_allowance_is_80_percent_spent(
    api_client: APIClient, settings: object, allowance: str, sent: int, sms: str
) -> None:
    from sms import budget

    settings.SMS_HOURLY_BUDGET_SIGNUPS = settings.SMS_HOURLY_BUDGET_ACCOUNTS = 100  # type: ignore[attr-defined]
    now = timezone.now()
    for _ in range(sent):
        assert budget.take(now, allowance)
    response = api_client.get(HEALTH)
    assert response.status_code == 200
    assert response.json()["checks"]["sms"] == sms
    assert response.json()["status"] == ("ok" if sms == "ok" else "degraded")


@pytest.mark.django_db
def test_health_says_degraded_when_the_allowances_cannot_be_read(api_client: APIClient) -> None:
    with patch("sms.budget.usage", return_value=None):
        assert api_client.get(HEALTH).json()["checks"]["sms"] == "degraded"


@pytest.mark.usefixtures("clear_of_window_edges")
def test_each_spent_allowance_logs_one_error_an_hour(settings: object, caplog: pytest.LogCaptureFixture) -> None:
    from sms import budget

    settings.SMS_HOURLY_BUDGET_SIGNUPS = settings.SMS_HOURLY_BUDGET_ACCOUNTS = 1  # type: ignore[attr-defined]
    now = timezone.now()
    for allowance in ("signups", "accounts", "signups", "accounts"):
        budget.take(now, allowance)  # the first of each is within its allowance
    for _ in range(2):
        assert not budget.take(now, "signups")
        assert not budget.take(now, "accounts")
    records = [(r.levelname, "for signups" in r.getMessage()) for r in caplog.records if r.name == "sms.budget"]
    errors = [signups for level, signups in records if level == "ERROR"]
    assert sorted(errors) == [False, True]  # one ERROR for each allowance
    assert [level for level, _ in records] == ["ERROR", "ERROR"] + ["WARNING"] * 4
    caplog.clear()
    later = now + timedelta(hours=1)  # a new hour: its first refusal is an ERROR again
    budget.take(later, "accounts")
    assert not budget.take(later, "accounts")
    assert [r.levelname for r in caplog.records if r.name == "sms.budget"] == ["ERROR"]


@pytest.mark.django_db
def test_health_is_503_when_the_database_is_unreachable(api_client: APIClient) -> None:
    with patch("waterbill.health.connection.cursor", side_effect=OperationalError("connection refused")):
        response = api_client.get(HEALTH)
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


@pytest.mark.django_db
def test_health_costs_two_queries_the_probe_and_one_sms_aggregate(
    api_client: APIClient, django_assert_num_queries: object, settings: object
) -> None:
    settings.SMS_BACKEND = "sms.backends.locmem.SmsBackend,sms.backends.console.SmsBackend"  # type: ignore[attr-defined]
    for status in ("delivered", "delivered", "failed"):
        SmsRecordFactory(provider="locmem", status=status)
    SmsRecordFactory(provider="console", status="delivered")
    with django_assert_num_queries(2):  # type: ignore[operator]
        api_client.get(HEALTH)


@pytest.mark.django_db
def test_health_details_each_backends_circuit_and_its_delivered_ratio_over_24_hours(
    api_client: APIClient, settings: object
) -> None:
    from sms import breaker

    settings.SMS_BACKEND = "sms.backends.locmem.SmsBackend,sms.backends.console.SmsBackend"  # type: ignore[attr-defined]
    for status in ("delivered", "delivered", "delivered", "undelivered", "accepted", "sms_unavailable"):
        SmsRecordFactory(provider="locmem", status=status)
    SmsRecordFactory(provider="locmem", status="failed", created_at=timezone.now() - timedelta(hours=25))
    for _ in range(breaker.FAILURES_TO_OPEN):
        breaker.record_failure("console")
    body = api_client.get(HEALTH).json()
    assert body["checks"]["sms"] == "degraded"  # one backend can send, the other's sends are failing
    assert [{key: backend[key] for key in ("name", "available", "circuit", "delivered_ratio_24h")}
            for backend in body["sms_backends"]] == [
        {"name": "locmem", "available": True, "circuit": "closed", "delivered_ratio_24h": 0.75},
        {"name": "console", "available": False, "circuit": "open", "delivered_ratio_24h": None},
    ]


@pytest.mark.django_db
def test_health_says_degraded_as_soon_as_recent_sends_fail_before_the_circuit_opens(api_client: APIClient) -> None:
    """Issue 13: three failed sends said `sms: ok` until the fifth opened the circuit."""
    from sms import breaker

    for _ in range(3):
        breaker.record_failure("locmem")
    body = api_client.get(HEALTH).json()
    assert (body["checks"]["sms"], body["sms_backends"][0]["recent_failures"]) == ("degraded", 3)
    assert body["sms_backends"][0]["circuit"] == "closed"
    breaker.record_success("locmem")
    assert api_client.get(HEALTH).json()["checks"]["sms"] == "ok"


@pytest.mark.django_db
def test_health_without_the_database_leaves_the_sms_figures_out(api_client: APIClient) -> None:
    with patch("waterbill.health.connection.cursor", side_effect=OperationalError("connection refused")):
        body = api_client.get(HEALTH).json()
    assert body["sms_backends"] == [{"name": "locmem", "available": True, "circuit": "closed", "recent_failures": 0}]


def test_send_test_sms_is_a_users_command() -> None:
    # It reads the number as sign-up does (users.phone), and the sms transport imports nothing from users.
    assert get_commands()["send_test_sms"] == "users"


def test_send_test_sms_goes_through_the_configured_backend(sms_outbox: list[SmsMessage]) -> None:
    out = io.StringIO()
    call_command("send_test_sms", "6 70 12 34 56", stdout=out)
    assert sms_outbox == [SmsMessage(phone="+237670123456", text="WaterBill: test SMS.")]
    assert "Accepted" in out.getvalue()


@pytest.mark.parametrize(
    ("patched", "message"),
    [
        ({"is_available": False}, "not available"),
        ({"send": SmsNumberRejected("21211", provider_code=21211)}, "provider code 21211"),
    ],
)
def test_send_test_sms_fails_loudly(patched: dict[str, object], message: str) -> None:
    name, value = next(iter(patched.items()))
    kwargs = {"side_effect": value} if isinstance(value, Exception) else {"return_value": value}
    with patch(f"sms.backends.locmem.SmsBackend.{name}", **kwargs), pytest.raises(CommandError, match=message):
        call_command("send_test_sms", "670123456", stdout=io.StringIO())


def test_send_test_sms_refuses_an_invalid_number() -> None:
    with pytest.raises(CommandError, match="phone_invalid"):
        call_command("send_test_sms", "12", stdout=io.StringIO())


@pytest.mark.django_db
def test_purge_deletes_only_old_never_activated_accounts() -> None:
    old = timezone.now() - timedelta(days=8)
    stale = ActivationTokenFactory.expired(user__date_joined=old).user
    recent_pending = ActivationTokenFactory().user
    old_active = UserFactory(date_joined=old)
    old_disabled = UserFactory(date_joined=old, is_active=False)  # activated once, then disabled: kept

    out = io.StringIO()
    call_command("purge_pending_accounts", "--dry-run", stdout=out)
    assert "1 never-activated account(s)" in out.getvalue()
    assert User.objects.filter(pk=stale.pk).exists()

    call_command("purge_pending_accounts", stdout=io.StringIO())
    assert set(User.objects.values_list("pk", flat=True)) == {recent_pending.pk, old_active.pk, old_disabled.pk}
    assert not ActivationToken.objects.filter(user_id=stale.pk).exists()


@pytest.mark.django_db
def test_purge_age_is_configurable() -> None:
    ActivationTokenFactory.expired(user__date_joined=timezone.now() - timedelta(days=2))
    call_command("purge_pending_accounts", "--days", "7", stdout=io.StringIO())
    assert User.objects.count() == 1
    call_command("purge_pending_accounts", "--days", "1", stdout=io.StringIO())
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_purge_keeps_an_old_sign_up_with_a_fresh_code() -> None:
    user = ActivationTokenFactory.expired(user__date_joined=timezone.now() - timedelta(days=8)).user
    ActivationTokenFactory(user=user)  # resent a minute ago: someone is activating it right now
    call_command("purge_pending_accounts", stdout=io.StringIO())
    assert User.objects.filter(pk=user.pk).exists()


def test_purge_refuses_a_non_positive_age() -> None:
    with pytest.raises(CommandError):
        call_command("purge_pending_accounts", "--days", "0", stdout=io.StringIO())
