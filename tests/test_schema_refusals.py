"""The OpenAPI schema documents the refusals that come before any view (413, parse error, bad Host, CSRF) as
the API really answers them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from users.models import User

pytestmark = pytest.mark.django_db

OVER_SIZE = json.dumps({"phone": "6" * 20_000})
MALFORMED = '{"phone": '


def _schema() -> dict[str, Any]:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return dict(response.json())


def _example(operation: dict[str, Any], status: str, code: str) -> dict[str, Any]:
    """The operation's documented answer `code` under `status`, failing if it is not there."""
    response = operation["responses"].get(status)
    assert response is not None, f"{operation['operationId']}: no {status}"
    examples = response["content"]["application/json"].get("examples", {})
    assert code in examples, f"{operation['operationId']}: no {code} example under {status}"
    return dict(examples[code]["value"])


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_every_operation_with_a_body_documents_the_413_and_the_parse_error_it_answers(auth_client: APIClient) -> None:
    with_body = [
        (path, method, operation)
        for path, operations in _schema()["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert len(with_body) >= 12
    for path, method, operation in with_body:
        assert "application/json" in operation["requestBody"]["content"], path
        too_large = _example(operation, "413", "request_too_large")
        parse_error = _example(operation, "400", "parse_error")
        # The bearer token gets the users/me/ operations past authentication; the public ones ignore it.
        answer = auth_client.generic(method.upper(), path, OVER_SIZE, content_type="application/json")
        assert (answer.status_code, answer.json()) == (413, too_large), f"{method} {path}"
        answer = auth_client.generic(method.upper(), path, MALFORMED, content_type="application/json")
        assert (answer.status_code, answer.json()) == (400, parse_error), f"{method} {path}"


def test_the_description_quotes_the_bad_host_and_csrf_answers() -> None:
    description = _schema()["info"]["description"]
    bad_host = APIClient().post("/api/v1/auth/login/", {}, format="json", HTTP_HOST="evil.example")
    csrf = APIClient(enforce_csrf_checks=True).post("/api/v1/health/", {}, format="json")
    for answer, status in ((bad_host, 400), (csrf, 403)):
        assert answer.status_code == status
        assert f"{status} `{json.dumps(answer.json(), ensure_ascii=False)}`" in description


def test_no_operation_answers_csrf_failed_even_to_a_session_cookie() -> None:
    """Why the schema's operations document no 403 `csrf_failed`: DRF's views are csrf_exempt and JWT-only."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(User.objects.create_user("670000001", "Csrf-Pass-2026", is_active=True, is_staff=True))
    for path, operations in _schema()["paths"].items():
        for method in operations:
            answer = client.generic(method.upper(), path, "{}", content_type="application/json")
            assert answer.json().get("code") != "csrf_failed", f"{method} {path}"
