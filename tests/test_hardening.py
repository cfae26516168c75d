"""Every answer is JSON and nothing crashes: deep nesting, over-size bodies, bad hosts, CSRF; token answers are
never cached; names cannot spoof."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from tests.conftest import code_in
from users.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> APIClient:
    return APIClient(raise_request_exception=False)


@pytest.mark.parametrize("path", ["/api/v1/auth/token/refresh/", "/api/v1/auth/logout/", "/api/v1/auth/login/"])
@pytest.mark.parametrize("depth", [945, 100_000])
def test_any_nesting_depth_is_a_parse_error(client: APIClient, path: str, depth: int) -> None:
    response = client.post(path, "[" * depth, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_an_over_size_body_is_413_json(client: APIClient) -> None:
    body = json.dumps({"phone": "6" * 20_000})
    response = client.post("/api/v1/auth/register/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"detail": "Le corps de la requête est trop volumineux.", "code": "request_too_large"}


def test_a_host_not_allowed_is_400_json(client: APIClient) -> None:
    response = client.post("/api/v1/auth/login/", {}, format="json", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_a_csrf_failure_is_403_json() -> None:
    response = APIClient(enforce_csrf_checks=True).post("/api/v1/health/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


def test_token_answers_are_never_stored(client: APIClient, sms_outbox: list[SmsMessage]) -> None:
    registered = client.post(
        "/api/v1/auth/register/",
        {"phone": "670123456", "first_name": "Awa", "last_name": "Ngono",
         "password": PASSWORD, "password_confirm": PASSWORD},
        format="json",
    ).json()
    activate = {"phone": "670123456", "code": code_in(sms_outbox[-1]), "signup_token": registered["signup_token"]}
    activated = client.post("/api/v1/auth/activate/", activate, format="json")
    login = client.post("/api/v1/auth/login/", {"phone": "670123456", "password": PASSWORD}, format="json")
    refreshed = client.post("/api/v1/auth/token/refresh/", {"refresh": login.json()["refresh"]}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    new_password = {"current_password": PASSWORD, "new_password": "Nouveau-Robinet-77"}
    changed = client.post("/api/v1/users/me/password/", new_password, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {changed.json()['access']}")
    client.post("/api/v1/users/me/phone/", {"new_phone": "699001122", "current_password": "Nouveau-Robinet-77"},
                format="json")
    moved = client.post("/api/v1/users/me/phone/confirm/", {"code": code_in(sms_outbox[-1])}, format="json")
    for answer in (activated, login, refreshed, changed, moved):
        assert answer.status_code == 200, answer.content
        assert answer["Cache-Control"] == "no-store"


def test_names_with_a_few_accents_are_accepted(client: APIClient, sms_outbox: list[SmsMessage]) -> None:
    body = {"phone": "670123456", "first_name": "Ngo\u0301no", "last_name": "Bîkîm Éyénga",
            "password": PASSWORD, "password_confirm": PASSWORD}
    assert client.post("/api/v1/auth/register/", body, format="json").status_code == 201


def test_a_permission_denied_outside_drf_is_403_json(client: APIClient) -> None:
    from django.core.exceptions import PermissionDenied
    from django.test import RequestFactory

    from waterbill.views import permission_denied

    response = permission_denied(RequestFactory().get("/"), PermissionDenied())
    assert response.status_code == 403
    assert json.loads(response.content) == {
        "detail": "Vous n'avez pas la permission d'effectuer cette action.", "code": "permission_denied",
    }


@pytest.mark.parametrize(
    "char",
    ["\u202e", "\u200b", "\u2028", "\u2029", "\x1b", "\u3164", "\u115f", "\u2800", "\ue000", "\ufffe",
     "\u0301" * 4],
    ids=ascii,
)
def test_names_refuse_spoofing_characters(client: APIClient, char: str) -> None:
    body = {"phone": "670123456", "first_name": f"A{char}wa", "last_name": "Ngono",
            "password": PASSWORD, "password_confirm": PASSWORD}
    response = client.post("/api/v1/auth/register/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "first_name": [{"message": "Ce nom contient des caractères non autorisés.", "code": "invalid_characters"}]
    }
