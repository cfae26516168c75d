"""Project-wide API behaviour: JSON 404s, the OpenAPI schema and docs, wrong methods, the test runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from waterbill.test_runner import label_to_node_id

ENDPOINTS = {
    "/api/v1/auth/register/": {"post"},
    "/api/v1/auth/activate/": {"post"},
    "/api/v1/auth/activate/resend/": {"post"},
    "/api/v1/auth/login/": {"post"},
    "/api/v1/auth/token/refresh/": {"post"},
    "/api/v1/auth/logout/": {"post"},
    "/api/v1/users/me/": {"get", "patch"},
}


def test_unknown_urls_answer_json_404(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/nope/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Introuvable.", "code": "not_found"}


def test_wrong_method_is_405_with_a_code(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/auth/register/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_the_schema_documents_every_endpoint_with_its_errors(api_client: APIClient) -> None:
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path, methods in ENDPOINTS.items():
        assert set(schema["paths"][path]) >= methods, path
    register = schema["paths"]["/api/v1/auth/register/"]["post"]["responses"]
    assert {"201", "400", "503"} <= set(register)
    assert "phone_taken" in register["400"]["description"]
    login = schema["paths"]["/api/v1/auth/login/"]["post"]["responses"]
    assert {"200", "400", "401", "403"} <= set(login)


@pytest.mark.django_db
def test_swagger_ui_is_served() -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


@pytest.mark.parametrize(
    ("label", "node"),
    [
        ("users.tests.test_atomic_registration", "users/tests/test_atomic_registration.py"),
        (
            "users.tests.test_atomic_registration.AtomicRegistrationTestCase.test_sms_failure_rolls_back_user_creation",
            "users/tests/test_atomic_registration.py::AtomicRegistrationTestCase::test_sms_failure_rolls_back_user_creation",
        ),
        ("users.tests", "users/tests"),
        ("tests/test_api_misc.py", "tests/test_api_misc.py"),
    ],
)
def test_manage_py_test_labels_become_pytest_node_ids(label: str, node: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    assert label_to_node_id(label) == node


@pytest.mark.django_db
def test_the_schema_generates_without_warnings_and_validates() -> None:
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_a_post_without_the_trailing_slash_is_a_json_404_not_a_redirect(api_client: APIClient) -> None:
    response = api_client.post("/api/v1/auth/register", {}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_malformed_json_gets_a_translated_message(api_client: APIClient) -> None:
    response = api_client.post("/api/v1/auth/login/", '{"phone": ', content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Requête malformée.", "code": "parse_error"}
    english = api_client.post(
        "/api/v1/auth/login/", '{"phone": ', content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert english.json()["detail"] == "Malformed request."


@pytest.mark.django_db
def test_swagger_ui_assets_are_served_locally() -> None:
    page = Client().get("/api/docs/").content.decode()
    assert "cdn.jsdelivr.net" not in page
    assert "/static/drf_spectacular_sidecar/" in page


@pytest.mark.parametrize(
    ("raised", "status", "code"),
    [
        (__import__("django.http", fromlist=["Http404"]).Http404("gone"), 404, "not_found"),
        (__import__("django.core.exceptions", fromlist=["PermissionDenied"]).PermissionDenied(), 403, "permission_denied"),
    ],
)
def test_djangos_own_exceptions_get_the_same_shape(raised: Exception, status: int, code: str) -> None:
    from waterbill.exception_handler import api_exception_handler

    response = api_exception_handler(raised, {})
    assert response is not None
    assert response.status_code == status
    assert response.data["code"] == code and "detail" in response.data


def test_an_unexpected_exception_is_left_to_djangos_500_handler() -> None:
    from waterbill.exception_handler import api_exception_handler

    assert api_exception_handler(KeyError("bug"), {}) is None


def test_a_server_error_answers_json() -> None:
    from django.test import RequestFactory

    from waterbill.views import server_error

    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert __import__("json").loads(response.content) == {"detail": "Une erreur interne est survenue.", "code": "server_error"}
