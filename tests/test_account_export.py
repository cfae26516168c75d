"""GET /users/me/export/: everything held about the caller, and nothing about anyone else, never a code."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from tests.conftest import Registered, code_in
from users.models import SmsRecord, User
from users.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
EXPORT = "/api/v1/users/me/export/"
NEW_NUMBER = "+237699887766"


def test_the_export_holds_the_account_its_sessions_sms_numbers_and_events_but_no_code(
    api_client: APIClient, registered: Registered, sms_outbox: list[SmsMessage]
) -> None:
    pair = api_client.post("/api/v1/auth/activate/", registered.activation(), format="json").json()
    api_client.post("/api/v1/auth/login/", {"phone": registered.phone, "password": "wrong-Pass-99"}, format="json")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    moved = client.post(
        "/api/v1/users/me/phone/", {"new_phone": NEW_NUMBER, "current_password": PASSWORD}, format="json"
    )
    assert moved.status_code == 202
    phone_code = code_in(sms_outbox[-1])
    UserFactory(phone="+237670000009")  # someone else
    APIClient().post("/api/v1/auth/login/", {"phone": "+237670000009", "password": "wrong-Pass-99"}, format="json")

    response = client.get(EXPORT)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"] == 'attachment; filename="waterbill-account.json"'
    document = response.json()
    assert document["account"]["phone"] == registered.phone
    assert (document["account"]["first_name"], document["account"]["last_name"]) == ("Awa", "Ngono")
    assert len(document["sessions"]) == 1
    assert [(sms["phone"], sms["purpose"]) for sms in document["sms"]] == [
        (registered.phone, "activation"),
        (NEW_NUMBER, "phone_change"),
    ]
    assert [change["phone"] for change in document["phone_change_codes"]] == [NEW_NUMBER]
    assert [event["kind"] for event in document["audit_events"]] == ["signup", "activation", "login_failed"]
    text = json.dumps(document)
    for secret in (registered.code, phone_code, registered.signup_token, PASSWORD, pair["refresh"], pair["access"]):
        assert secret not in text
    assert "+237670000009" not in text  # nothing of the other account
    user = User.objects.get(phone=registered.phone)
    assert document["account"]["id"] == user.pk


def test_a_number_that_changed_hands_keeps_its_former_holders_sms_out(api_client: APIClient) -> None:
    user = UserFactory(phone="+237670000001", date_joined=timezone.now())
    SmsRecord.objects.create(
        phone=user.phone, purpose="activation", status="delivered", created_at=user.date_joined - timedelta(days=40)
    )
    client = APIClient()
    client.force_authenticate(user)
    assert client.get(EXPORT).json()["sms"] == []


def test_the_export_needs_a_token(api_client: APIClient) -> None:
    response = api_client.get(EXPORT)
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


def test_the_export_is_in_the_schema() -> None:
    schema = APIClient().get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/users/me/export/"]["get"]
    reference = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][reference.rsplit("/", 1)[1]]
    assert set(component["properties"]) == {
        "exported_at",
        "account",
        "sessions",
        "sms",
        "phone_change_codes",
        "audit_events",
    }
