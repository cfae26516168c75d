"""Every answer is JSON and nothing crashes: deep nesting, over-size bodies, bad hosts, CSRF; token answers are
never cached; names cannot spoof."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from users.tests.factories import PASSWORD, UserFactory

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


def test_token_answers_are_never_stored(client: APIClient) -> None:
    UserFactory(phone="+237670123456")
    login = client.post("/api/v1/auth/login/", {"phone": "670123456", "password": PASSWORD}, format="json")
    assert login["Cache-Control"] == "no-store"
    refreshed = client.post("/api/v1/auth/token/refresh/", {"refresh": login.json()["refresh"]}, format="json")
    assert refreshed.status_code == 200
    assert refreshed["Cache-Control"] == "no-store"


@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\u2028", "\u2029", "\x1b"], ids=ascii)
def test_names_refuse_spoofing_characters(client: APIClient, char: str) -> None:
    body = {"phone": "670123456", "first_name": f"A{char}wa", "last_name": "Ngono",
            "password": PASSWORD, "password_confirm": PASSWORD}
    response = client.post("/api/v1/auth/register/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "first_name": [{"message": "Ce nom contient des caractères non autorisés.", "code": "invalid_characters"}]
    }
