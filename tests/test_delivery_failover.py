"""Delivery-aware failover with two providers on mocked wires: a code that did not arrive (an undelivered or
failed receipt, or no delivered one in time) goes once more, the same code, through the next backend."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from tests.test_sms_receipts import BASE, TOKEN, at_report, post_at, signed_twilio, twilio_form
from users.models import ActivationToken, SmsRecord, User, open_sealed_code, seal_code
from users.services import PasswordResetService, redelivery, sms_stats
from users.tests.factories import PASSWORD, SmsRecordFactory, UserFactory

pytestmark = pytest.mark.django_db

TWILIO_URL = "https://twilio.test/2010-04-01/Accounts/AC" + "0" * 32 + "/Messages.json"
AT_URL = "https://at.test/version1/messaging"
PHONE = "+237670123456"
SID = "SM0123456789abcdef0123456789abcdef"


@pytest.fixture
def wire(settings: Any) -> Iterator[responses.RequestsMock]:
    """Twilio first, Africa's Talking second, both accepting, with the receipts on (PUBLIC_BASE_URL, Twilio's
    token, Africa's Talking's secret)."""
    for name, value in {
        "SMS_BACKEND": "sms.backends.twilio.SmsBackend,sms.backends.africastalking.SmsBackend",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM_NUMBER": "WaterBill",
        "TWILIO_API_URL": "https://twilio.test", "AFRICASTALKING_USERNAME": "u", "AFRICASTALKING_API_KEY": "k",
        "AFRICASTALKING_API_URL": "https://at.test", "PUBLIC_BASE_URL": BASE,
        "AFRICASTALKING_CALLBACK_SECRET": "at-secret",
    }.items():
        setattr(settings, name, value)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(TWILIO_URL, json={"sid": SID}, status=201)
        mock.post(AT_URL, json={"SMSMessageData": {"Recipients": [{"statusCode": 101, "messageId": "ATX1"}]}})
        yield mock


def texts_to(mock: responses.RequestsMock, url: str) -> list[str]:
    """The SMS texts posted to one provider (Twilio's `Body`, Africa's Talking's `message`)."""
    field = "Body" if url == TWILIO_URL else "message"
    return [parse_qs(call.request.body)[field][0] for call in mock.calls if call.request.url == url]


def code_of(text: str) -> str:
    match = re.search(r"\b(\d{6})\b", text)
    assert match, text
    return match.group(1)


def sign_up(client: APIClient) -> str:
    """Sign up PHONE over HTTP; the sign-up token."""
    body = {"phone": PHONE, "first_name": "Awa", "last_name": "Ngono", "password": PASSWORD,
            "password_confirm": PASSWORD}
    response = client.post("/api/v1/auth/register/", body, format="json")
    assert response.status_code == 201, response.content
    return str(response.json()["signup_token"])


def test_an_undelivered_receipt_sends_the_same_code_once_through_the_next_backend(
    api_client: APIClient, wire: responses.RequestsMock
) -> None:
    signup_token = sign_up(api_client)
    first = SmsRecord.objects.get()
    assert (first.provider, first.sealed_code != "") == ("twilio", True)
    code = code_of(texts_to(wire, TWILIO_URL)[0])
    assert open_sealed_code(first.sealed_code) == code
    assert code not in first.sealed_code  # sealed, not in clear (one chance in a million that the digits match)

    assert signed_twilio(twilio_form("undelivered", ErrorCode="30003")).status_code == 204

    assert [code_of(text) for text in texts_to(wire, AT_URL)] == [code]  # the same code, once, by the next one
    first.refresh_from_db()
    again = SmsRecord.objects.exclude(pk=first.pk).get()
    assert (first.status, first.sealed_code) == ("undelivered", "")
    assert (again.provider, again.provider_message_id, again.status, again.retry_of) == (
        "africastalking", "ATX1", "accepted", first)
    assert again.sealed_code == ""  # a resend is never sent again
    assert ActivationToken.objects.count() == 1  # no new code: nothing counted on the number
    assert signed_twilio(twilio_form("failed")).status_code == 204  # a second word of the same message
    assert len(texts_to(wire, AT_URL)) == 1
    activation = {"phone": PHONE, "code": code, "signup_token": signup_token}
    assert api_client.post("/api/v1/auth/activate/", activation, format="json").status_code == 200


def test_a_failed_africastalking_receipt_sends_through_twilio_the_next_in_the_failover(
    api_client: APIClient, wire: responses.RequestsMock, settings: Any
) -> None:
    settings.SMS_BACKEND = "sms.backends.africastalking.SmsBackend,sms.backends.twilio.SmsBackend"
    sign_up(api_client)
    assert post_at(at_report("Rejected", id="ATX1", failureReason="UserInBlacklist")).status_code == 204
    assert [code_of(t) for t in texts_to(wire, TWILIO_URL)] == [code_of(texts_to(wire, AT_URL)[0])]
    assert SmsRecord.objects.filter(retry_of__isnull=False).get().provider == "twilio"


def test_no_delivered_receipt_within_the_timeout_sends_the_code_again(
    api_client: APIClient, wire: responses.RequestsMock
) -> None:
    sign_up(api_client)
    now = timezone.now()
    assert redelivery.redeliver_overdue(now=now + timedelta(seconds=30)) == (0, 0)  # not late yet
    assert texts_to(wire, AT_URL) == []
    assert redelivery.redeliver_overdue(now=now + timedelta(seconds=61)) == (1, 0)
    assert [code_of(t) for t in texts_to(wire, AT_URL)] == [code_of(texts_to(wire, TWILIO_URL)[0])]
    assert redelivery.redeliver_overdue(now=now + timedelta(seconds=121)) == (0, 0)  # once only


def test_the_redeliver_sms_command_runs_the_timeouts(
    api_client: APIClient, wire: responses.RequestsMock, settings: Any
) -> None:
    sign_up(api_client)
    settings.SMS_DELIVERY_TIMEOUT = timedelta(0)
    out = io.StringIO()
    call_command("redeliver_sms", stdout=out)
    assert out.getvalue() == "1 code(s) sent again, 0 expired sealed code(s) erased.\n"
    assert len(texts_to(wire, AT_URL)) == 1


def test_a_delivered_receipt_erases_the_sealed_code_and_nothing_is_sent_again(
    api_client: APIClient, wire: responses.RequestsMock
) -> None:
    sign_up(api_client)
    assert signed_twilio(twilio_form("delivered")).status_code == 204
    assert SmsRecord.objects.get().sealed_code == ""
    assert redelivery.redeliver_overdue(now=timezone.now() + timedelta(minutes=5)) == (0, 0)
    assert texts_to(wire, AT_URL) == []


def test_a_code_used_or_replaced_before_the_timeout_is_not_sent_again(
    api_client: APIClient, wire: responses.RequestsMock
) -> None:
    signup_token = sign_up(api_client)
    code = code_of(texts_to(wire, TWILIO_URL)[0])
    activation = {"phone": PHONE, "code": code, "signup_token": signup_token}
    assert api_client.post("/api/v1/auth/activate/", activation, format="json").status_code == 200
    assert redelivery.redeliver_overdue(now=timezone.now() + timedelta(seconds=61)) == (0, 0)
    assert texts_to(wire, AT_URL) == []
    assert SmsRecord.objects.get().sealed_code == ""  # erased all the same


def test_sealed_codes_past_the_code_lifetime_are_erased(api_client: APIClient, wire: responses.RequestsMock) -> None:
    sign_up(api_client)
    assert redelivery.redeliver_overdue(now=timezone.now() + timedelta(minutes=11)) == (0, 1)
    assert SmsRecord.objects.get().sealed_code == ""
    assert texts_to(wire, AT_URL) == []


def test_a_reset_code_is_sent_again_in_the_users_language_with_the_reset_text(
    wire: responses.RequestsMock,
) -> None:
    user = UserFactory(phone=PHONE, language="en")
    PasswordResetService.request_reset(user.phone)
    record = SmsRecord.objects.get()
    assert (record.purpose, record.sealed_code != "") == ("password_reset", True)
    assert signed_twilio(twilio_form("undelivered")).status_code == 204
    [first], [again] = texts_to(wire, TWILIO_URL), texts_to(wire, AT_URL)
    assert again == first
    assert again.startswith("WaterBill: your password reset code is")


def test_a_phone_change_code_is_sent_again(wire: responses.RequestsMock) -> None:
    from users.services import PhoneChangeService
    from users.tests.factories import PASSWORD as CURRENT

    user = UserFactory(phone="+237699111222")
    PhoneChangeService.request_change(user, new_phone=PHONE, current_password=CURRENT)
    assert SmsRecord.objects.get().purpose == "phone_change"
    assert signed_twilio(twilio_form("failed")).status_code == 204
    assert texts_to(wire, AT_URL) == texts_to(wire, TWILIO_URL)


def test_a_resend_stays_within_the_sms_allowance_and_a_refused_one_is_recorded(
    api_client: APIClient, wire: responses.RequestsMock, settings: Any
) -> None:
    settings.SMS_HOURLY_BUDGET_SIGNUPS = 1  # the sign-up takes it
    sign_up(api_client)
    assert signed_twilio(twilio_form("undelivered")).status_code == 204
    assert texts_to(wire, AT_URL) == []
    refused = SmsRecord.objects.get(retry_of__isnull=False)
    assert (refused.status, refused.provider) == ("sms_unavailable", "")


def test_a_record_is_sent_again_once_even_when_asked_twice(
    api_client: APIClient, wire: responses.RequestsMock
) -> None:
    sign_up(api_client)
    first = SmsRecord.objects.get()
    assert redelivery.redeliver(first.pk) is not None
    assert redelivery.redeliver(first.pk) is None
    assert len(texts_to(wire, AT_URL)) == 1


@pytest.mark.parametrize("setting", ["SMS_BACKEND", "PUBLIC_BASE_URL"])
def test_nothing_is_sealed_without_a_next_backend_or_without_receipts(
    api_client: APIClient, wire: responses.RequestsMock, settings: Any, setting: str
) -> None:
    setattr(settings, setting, "sms.backends.twilio.SmsBackend" if setting == "SMS_BACKEND" else "")
    sign_up(api_client)
    assert SmsRecord.objects.get().sealed_code == ""


def test_a_sealed_code_opens_only_with_the_same_secret_key(settings: Any) -> None:
    sealed = seal_code("012345")
    assert open_sealed_code(sealed) == "012345"
    assert seal_code("012345") != sealed  # a fresh nonce each time
    assert open_sealed_code("not sealed") is None
    settings.SECRET_KEY = "another-key"  # noqa: S105
    assert open_sealed_code(sealed) != "012345"


# --- A provider that delivers little is tried last ------------------------------------------------------


def undelivered_receipts(count: int, provider: str = "twilio") -> None:
    """`count` of `provider`'s SMS, each told undelivered by a receipt (through the service that applies them)."""
    from sms.receipts import Receipt
    from users.services.receipts import apply_receipt

    for n in range(count):
        SmsRecordFactory(provider=provider, provider_message_id=f"SMpoor{n}")
        apply_receipt(Receipt(provider, f"SMpoor{n}", "undelivered"))


def test_a_provider_below_the_delivered_ratio_is_tried_last_logged_and_shown_in_health(
    api_client: APIClient, wire: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    undelivered_receipts(sms_stats.MIN_RECEIPTS - 1)
    assert sms_stats.poor(["twilio"]) == set()  # too few receipts to judge
    with caplog.at_level(logging.ERROR, logger="users.services.sms_stats"):
        undelivered_receipts(1)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "SMS provider twilio delivered 0% of its last 50 receipts (below 50%): tried last from now on"
    ]
    sign_up(api_client)
    assert texts_to(wire, TWILIO_URL) == []
    assert User.objects.get(phone=PHONE).is_pending
    assert SmsRecord.objects.first().provider == "africastalking"  # the newest: the sign-up's
    body = api_client.get("/api/v1/health/").json()
    assert body["checks"]["sms"] == "degraded"
    assert [(b["name"], b["recent_delivered_ratio"], b["tried_last"]) for b in body["sms_backends"]] == [
        ("twilio", 0.0, True),
        ("africastalking", None, False),
    ]


def test_the_ratio_counts_the_last_50_receipts_and_a_provider_climbs_back(caplog: pytest.LogCaptureFixture) -> None:
    from sms.receipts import Receipt
    from users.services.receipts import apply_receipt

    undelivered_receipts(30)
    assert sms_stats.poor(["twilio"]) == {"twilio"}
    with caplog.at_level(logging.INFO, logger="users.services.sms_stats"):
        for n in range(26):  # 26 delivered of the last 50: 52%
            SmsRecordFactory(provider="twilio", provider_message_id=f"SMgood{n}")
            apply_receipt(Receipt("twilio", f"SMgood{n}", "delivered"))
    assert sms_stats.recent_ratio("twilio") == 26 / 50
    assert sms_stats.poor(["twilio"]) == set()
    assert "SMS provider twilio delivers again: back in its configured place" in caplog.messages


def test_the_health_answer_is_json_serialisable_with_every_figure(api_client: APIClient) -> None:
    undelivered_receipts(sms_stats.MIN_RECEIPTS, provider="locmem")
    body = api_client.get("/api/v1/health/").json()
    assert json.loads(json.dumps(body))["sms_backends"][0]["tried_last"] is True


def test_a_code_about_to_expire_is_not_sent_again(
    api_client: APIClient, wire: responses.RequestsMock, settings: Any
) -> None:
    """A resend needs redelivery.RESEND_MIN_TIME_LEFT of the code's life left: after that it would only arrive
    to a code that no longer works."""
    sign_up(api_client)
    almost_over = timezone.now() + settings.ACTIVATION_CODE_TTL - redelivery.RESEND_MIN_TIME_LEFT + timedelta(seconds=1)
    assert redelivery.redeliver_overdue(now=almost_over) == (0, 0)
    assert texts_to(wire, AT_URL) == []


def test_a_providers_standing_lasts_a_day_then_it_is_judged_anew() -> None:
    undelivered_receipts(10)
    assert sms_stats.poor(["twilio"]) == {"twilio"}
    key = cache.make_key(sms_stats._standing_key("twilio"))
    expire_info = getattr(cache, "_expire_info", None)
    if expire_info is not None:  # LocMemCache
        assert 0 < expire_info[key] - time.time() <= sms_stats.STANDING_SECONDS
    else:  # Redis
        assert 0 < cache._cache.get_client(key).ttl(key) <= sms_stats.STANDING_SECONDS  # type: ignore[attr-defined]
