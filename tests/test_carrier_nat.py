"""A launch behind one carrier-grade NAT address (issue 10): the default limits let it through."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from tests.conftest import code_in
from users.models import User
from users.tests.factories import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clear_of_window_edges")]

NAT = "10.20.0.1"


def test_one_address_makes_300_sign_ups_and_activations_of_distinct_numbers_in_an_hour(
    api_client: APIClient, sms_outbox: list[SmsMessage]
) -> None:
    """Real customers' numbers spread over the numbering plan: here 30 blocks of 1,000 numbers, 10 in each."""
    numbers = [f"67{block:04d}{n:03d}" for block in range(30) for n in range(0, 1000, 100)]
    assert len(set(numbers)) == 300
    statuses = []
    for number in numbers:
        body = {
            "phone": number,
            "first_name": "Awa",
            "last_name": "Ngono",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        }
        signed = api_client.post("/api/v1/auth/register/", body, format="json", REMOTE_ADDR=NAT)
        statuses.append(signed.status_code)
        if signed.status_code != 201:
            continue
        activation = {"phone": number, "code": code_in(sms_outbox[-1]), "signup_token": signed.json()["signup_token"]}
        statuses.append(
            api_client.post("/api/v1/auth/activate/", activation, format="json", REMOTE_ADDR=NAT).status_code
        )
    assert statuses == [201, 200] * 300
    assert User.objects.filter(is_active=True).count() == 300


def test_one_address_logs_in_to_1000_distinct_accounts_in_an_hour(api_client: APIClient) -> None:
    password = make_password(PASSWORD)
    User.objects.bulk_create(
        User(phone=f"+2376{70 + n // 1000}{n % 1000:06d}", password=password, is_active=True) for n in range(1000)
    )
    statuses = [
        api_client.post(
            "/api/v1/auth/login/", {"phone": phone, "password": PASSWORD}, format="json", REMOTE_ADDR=NAT
        ).status_code
        for phone in User.objects.values_list("phone", flat=True)
    ]
    assert statuses == [200] * 1000
