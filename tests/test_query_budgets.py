"""Query budgets of the hot endpoints, and the onboarding's single password hash (docs/performance.md).

Counted inside the test transaction, so each atomic block shows as SAVEPOINT/RELEASE pairs; in
production those are BEGIN/COMMIT, so the counts are the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from unittest.mock import patch

import pytest
from django.contrib.auth import hashers
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from users.models import User
from users.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
BODY = {
    "phone": "670123456",
    "first_name": "Awa",
    "last_name": "Ngono",
    "password": PASSWORD,
    "password_confirm": PASSWORD,
}


def onboard(client: APIClient, outbox: list[SmsMessage]) -> dict[str, Any]:
    registered = client.post("/api/v1/auth/register/", BODY, format="json").json()
    code = re.search(r"\b\d{6}\b", outbox[-1].text).group(0)  # type: ignore[union-attr]
    return client.post(
        "/api/v1/auth/activate/",
        {"phone": BODY["phone"], "code": code, "signup_token": registered["signup_token"]},
        format="json",
    ).json()


def test_register_queries(api_client: APIClient, django_assert_max_num_queries: Callable[..., Any]) -> None:
    # lookup; SAVEPOINT; SAVEPOINT; INSERT user; RELEASE; INSERT audit event; INSERT code; INSERT SMS record; RELEASE
    with django_assert_max_num_queries(9):
        assert api_client.post("/api/v1/auth/register/", BODY, format="json").status_code == 201


def test_activate_queries(
    api_client: APIClient, sms_outbox: list[SmsMessage], django_assert_max_num_queries: Callable[..., Any]
) -> None:
    registered = api_client.post("/api/v1/auth/register/", BODY, format="json").json()
    code = re.search(r"\b\d{6}\b", sms_outbox[-1].text).group(0)  # type: ignore[union-attr]
    body = {"phone": BODY["phone"], "code": code, "signup_token": registered["signup_token"]}
    # SAVEPOINT; SELECT user FOR UPDATE; SELECT code FOR UPDATE (user first, as every writer locks them);
    # UPDATE code; UPDATE user; INSERT audit event; RELEASE; INSERT the session; INSERT outstanding token
    with django_assert_max_num_queries(9):
        assert api_client.post("/api/v1/auth/activate/", body, format="json").status_code == 200


def test_login_queries(api_client: APIClient, django_assert_max_num_queries: Callable[..., Any]) -> None:
    User.objects.create_user("670123456", PASSWORD, is_active=True)
    # SELECT user; UPDATE last_login; INSERT audit event; INSERT the session; INSERT outstanding token
    with django_assert_max_num_queries(5):
        response = api_client.post("/api/v1/auth/login/", {"phone": "670123456", "password": PASSWORD}, format="json")
    assert response.status_code == 200


def test_me_queries(auth_client: APIClient, django_assert_max_num_queries: Callable[..., Any]) -> None:
    with django_assert_max_num_queries(1):  # the token's user, and whether its session is live
        assert auth_client.get("/api/v1/users/me/").status_code == 200


def test_refresh_queries(
    api_client: APIClient, sms_outbox: list[SmsMessage], django_assert_max_num_queries: Callable[..., Any]
) -> None:
    pair = onboard(api_client, sms_outbox)
    # blacklist check; SELECT user; SAVEPOINT; UPDATE the session's last use (refused if ended); SELECT
    # outstanding; SAVEPOINT; INSERT blacklisted; RELEASE; INSERT outstanding (the new token); RELEASE
    with django_assert_max_num_queries(10):
        refreshed = api_client.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
        assert refreshed.status_code == 200


def test_admin_user_list_has_no_n_plus_one(
    admin_user_client: APIClient, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    from users.tests.factories import ActivationTokenFactory

    ActivationTokenFactory.create_batch(30)
    with django_assert_max_num_queries(8):
        assert admin_user_client.get("/admin/users/user/").status_code == 200


@pytest.fixture
def admin_user_client() -> Any:
    from django.test import Client

    client = Client()
    client.force_login(User.objects.create_superuser("+237699000000", "admin-Pass-2026"))
    return client


def test_onboarding_costs_exactly_one_password_hash(api_client: APIClient, sms_outbox: list[SmsMessage]) -> None:
    """register -> activate -> first authenticated call: one hash, since activation answers the tokens."""
    with (
        patch.object(
            hashers.MD5PasswordHasher, "encode", autospec=True, side_effect=hashers.MD5PasswordHasher.encode
        ) as encode,
        patch.object(
            hashers.MD5PasswordHasher, "verify", autospec=True, side_effect=hashers.MD5PasswordHasher.verify
        ) as verify,
    ):
        pair = onboard(api_client, sms_outbox)
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
        assert api_client.get("/api/v1/users/me/").status_code == 200
    assert encode.call_count + verify.call_count == 1
