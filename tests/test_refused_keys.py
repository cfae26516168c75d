"""Keys a request body may not carry (read-only or unknown) are refused with 400 on each such key, never ignored."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import field_codes
from users.models import User

pytestmark = pytest.mark.django_db

#: Provider callbacks (form fields the providers choose), not the app's API: they take whatever the provider sends.
RECEIPTS = "/api/v1/sms/status/"


def test_patch_me_names_each_read_only_and_unknown_key_and_changes_nothing(
    auth_client: APIClient, active_user: User
) -> None:
    body = {"first_name": "Changed", "is_staff": True, "is_active": False, "phone": "+237699000000", "id": 7}
    response = auth_client.patch("/api/v1/users/me/", body, format="json")

    assert response.status_code == 400
    assert field_codes(response.json()) == {
        "is_staff": ["unknown_field"],
        "is_active": ["read_only"],
        "phone": ["read_only"],
        "id": ["read_only"],
    }
    first_name = active_user.first_name
    active_user.refresh_from_db()
    assert (active_user.first_name, active_user.is_staff, active_user.is_active) == (first_name, False, True)


def test_the_refusal_is_worded_in_the_request_language(auth_client: APIClient) -> None:
    french = auth_client.patch("/api/v1/users/me/", {"is_staff": True}, format="json").json()
    english = auth_client.patch(
        "/api/v1/users/me/", {"is_staff": True, "phone": "1"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    ).json()
    assert french["is_staff"][0]["message"] == "Ce champ est inconnu ici : retirez-le."
    assert english["is_staff"][0]["message"] == "This field is unknown here: remove it."
    assert english["phone"][0]["message"] == "This field is read-only: it cannot be set here."


def test_a_patch_of_writable_fields_only_still_works(auth_client: APIClient) -> None:
    response = auth_client.patch("/api/v1/users/me/", {"first_name": "Awa", "language": "en"}, format="json")
    assert response.status_code == 200
    assert (response.json()["first_name"], response.json()["language"]) == ("Awa", "en")


def test_register_reports_an_unknown_key_with_the_other_fields_errors(
    api_client: APIClient, payload: dict[str, str]
) -> None:
    body = {**payload, "phone": "12", "is_staff": True, "language": "en"}
    response = api_client.post("/api/v1/auth/register/", body, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {
        "phone": ["phone_invalid"],
        "is_staff": ["unknown_field"],
        "language": ["unknown_field"],
    }
    assert not User.objects.exists()


def test_login_with_an_extra_key_is_refused_before_any_password_check(api_client: APIClient, active_user: User) -> None:
    from users.tests.factories import PASSWORD

    body = {"phone": active_user.phone, "password": PASSWORD, "remember_me": True}
    response = api_client.post("/api/v1/auth/login/", body, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {"remember_me": ["unknown_field"]}


def test_activate_reports_an_extra_key_with_the_missing_proof(api_client: APIClient) -> None:
    body = {"phone": "670123456", "code": "123456", "token": "abc"}
    response = api_client.post("/api/v1/auth/activate/", body, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {"signup_token": ["required"], "token": ["unknown_field"]}


def _operations_with_a_json_body() -> list[tuple[str, str, dict[str, Any]]]:
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    return [
        (path, method, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation and not path.startswith(RECEIPTS)
    ]


def test_every_operation_with_a_body_refuses_an_extra_key_and_documents_it(auth_client: APIClient) -> None:
    operations = _operations_with_a_json_body()
    assert len(operations) >= 12
    schemas = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()["components"]["schemas"]
    for path, method, operation in operations:
        answer = auth_client.generic(method.upper(), path, '{"not_a_field": 1}', content_type="application/json")
        assert answer.status_code == 400, f"{method} {path}: {answer.status_code}"
        assert field_codes(answer.json())["not_a_field"] == ["unknown_field"], f"{method} {path}"
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert schemas[ref.rsplit("/", 1)[-1]]["additionalProperties"] is False, f"{method} {path}"
