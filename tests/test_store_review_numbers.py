"""SMS_TEST_NUMBERS: a store reviewer's number gets no SMS and its fixed code works; every use is audited, and
`check --deploy` names the numbers."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from tests.conftest import code_in, settings_printed
from users.models import AuditEvent, SmsRecord, User
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
REVIEWER = "+237699999999"
CODE = "123456"


@pytest.fixture(autouse=True)
def test_number(settings: Any) -> None:
    settings.SMS_TEST_NUMBERS = {REVIEWER: CODE}


def test_a_reviewer_signs_up_with_the_fixed_code_and_no_sms(
    api_client: APIClient, payload: dict[str, str], sms_outbox: list[SmsMessage]
) -> None:
    registered = api_client.post("/api/v1/auth/register/", {**payload, "phone": REVIEWER}, format="json")
    assert registered.status_code == 201
    assert sms_outbox == []
    body = {"phone": REVIEWER, "code": CODE, "signup_token": registered.json()["signup_token"]}
    assert api_client.post("/api/v1/auth/activate/", body, format="json").status_code == 200
    assert User.objects.get(phone=REVIEWER).is_active
    assert list(SmsRecord.objects.values_list("provider", "status")) == [("test-number", "accepted")]
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.TEST_NUMBER).count() == 1


def test_a_reviewers_reset_uses_the_fixed_code_and_no_sms(api_client: APIClient, sms_outbox: list[SmsMessage]) -> None:
    UserFactory(phone=REVIEWER)
    assert api_client.post("/api/v1/auth/password/reset/", {"phone": REVIEWER}, format="json").status_code == 202
    body = {"phone": REVIEWER, "code": CODE, "new_password": "Nouveau-Robinet-77"}
    assert api_client.post("/api/v1/auth/password/reset/confirm/", body, format="json").status_code == 200
    assert sms_outbox == []  # neither the code nor the notice
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.TEST_NUMBER).count() == 2


def test_every_other_number_gets_a_random_code_by_sms(
    api_client: APIClient, payload: dict[str, str], sms_outbox: list[SmsMessage]
) -> None:
    assert api_client.post("/api/v1/auth/register/", payload, format="json").status_code == 201
    assert len(sms_outbox) == 1
    assert len(code_in(sms_outbox[0])) == 6  # a random code, by SMS as always
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.TEST_NUMBER).exists()


def test_check_deploy_warns_naming_the_numbers_until_acknowledged(settings: Any) -> None:
    messages = {m.id: m for m in run_checks(include_deployment_checks=True)}
    assert "users.W010" in messages
    assert REVIEWER in messages["users.W010"].msg
    settings.SMS_TEST_NUMBERS_ACKNOWLEDGED = True
    messages = {m.id: m for m in run_checks(include_deployment_checks=True)}
    assert "users.W010" not in messages
    assert REVIEWER in messages["users.I010"].msg
    settings.SMS_TEST_NUMBERS = {}
    assert not {"users.W010", "users.I010"} & {m.id for m in run_checks(include_deployment_checks=True)}


@pytest.mark.parametrize("value", ["699999999:123456", "+237699999999:12345", "+237699999999", "+237699999999:abcdef"])
def test_a_test_number_that_is_not_number_colon_code_stops_the_process(value: str) -> None:
    result = settings_printed("import waterbill.settings", DJANGO_DEBUG="1", SMS_TEST_NUMBERS=value)
    assert result.returncode != 0
    assert "SMS_TEST_NUMBERS" in result.stderr


def test_test_numbers_are_read_from_the_environment() -> None:
    result = settings_printed(
        "import waterbill.settings as s; print(sorted(s.SMS_TEST_NUMBERS.items()))",
        DJANGO_DEBUG="1",
        SMS_TEST_NUMBERS="+237699999999:123456, +237699999998:654321",
    )
    assert result.stdout.strip() == "[('+237699999998', '654321'), ('+237699999999', '123456')]", result.stderr
