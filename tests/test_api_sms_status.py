"""The app follows its activation SMS: sms_status in the sign-up answer, then POST auth/activate/status/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from users.models import SmsRecord

pytestmark = pytest.mark.django_db

STATUS = "/api/v1/auth/activate/status/"
BODY = {
    "phone": "670123456",
    "first_name": "Awa",
    "last_name": "Mbarga",
    "password": "Tr0ub4dor&3-eau",
    "password_confirm": "Tr0ub4dor&3-eau",
}


def sign_up() -> dict[str, Any]:
    response = APIClient().post("/api/v1/auth/register/", BODY, format="json")
    assert response.status_code == 201
    return response.json()


def test_the_sign_up_answer_carries_the_sms_status(sms_outbox: list[SmsMessage]) -> None:
    assert sign_up()["sms_status"] == "accepted"


def test_the_status_follows_the_receipts_and_says_when_to_resend(sms_outbox: list[SmsMessage]) -> None:
    registered = sign_up()
    SmsRecord.objects.filter(phone="+237670123456").update(status="undelivered")
    response = APIClient().post(
        STATUS, {"phone": "6 70 12 34 56", "signup_token": registered["signup_token"]}, format="json"
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["sms_status"] == "undelivered"
    resend_at = parse_datetime(answer["resend_available_at"])
    expected = parse_datetime(registered["resend_available_at"])
    assert resend_at is not None
    assert expected is not None
    assert abs(resend_at - expected) < timedelta(seconds=1)  # the code's creation vs the request's clock


def test_a_stranger_learns_nothing_a_wrong_token_and_an_unknown_number_answer_alike(
    sms_outbox: list[SmsMessage],
) -> None:
    sign_up()
    wrong = APIClient().post(STATUS, {"phone": "670123456", "signup_token": "guess"}, format="json")
    unknown = APIClient().post(STATUS, {"phone": "699999999", "signup_token": "guess"}, format="json")
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())
    assert (wrong.status_code, wrong.json()["code"]) == (400, "signup_invalid")
