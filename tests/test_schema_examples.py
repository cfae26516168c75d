"""The OpenAPI schema's examples are real: every request example is accepted by the API in the state it presumes
(a 2xx), and every response example validates against the schema of its answer."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from users.models import ActivationToken, User, VerificationCode
from users.phone import normalize_phone
from users.tokens import token_pair

pytestmark = pytest.mark.django_db

#: The providers' receipts are documented from the providers' own formats, not by examples of ours.
RECEIPTS = "/api/v1/sms/status/"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _schema(language: str = "fr") -> dict[str, Any]:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return dict(response.json())


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The schema in French (the default), generated once: it takes a second."""
    return _schema()


def app_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if not path.startswith(RECEIPTS)
    ]


# --- The state each request example presumes -------------------------------------------------------------------


def active(body: dict[str, Any], phone_key: str = "phone") -> User:
    """The active account of the example's number (the sample's), whose password is the example's."""
    phone = normalize_phone(body[phone_key]) if phone_key in body else "+237670123456"
    password = body.get("password") or body.get("current_password") or "Lac-Municipal-2026"
    return User.objects.create_user(phone, password, is_active=True, first_name="Awa", last_name="Ngono")


def pending(body: dict[str, Any]) -> User:
    """The pending sign-up that the example's token proves, with a live code that is the example's."""
    user = User.objects.create_user(normalize_phone(body["phone"]), "Lac-Municipal-2026", first_name="Awa")
    user.signup_token_hash = User.hash_signup_token(body.get("signup_token", "not-shown"))
    user.save(update_fields=["signup_token_hash"])
    if "code" in body:
        ActivationToken.objects.create(
            user=user,
            code_hash=ActivationToken.hash_code(body["code"]),
            expires_at=timezone.now() + timedelta(minutes=9),
        )
    return user


def code_sent(user: User, purpose: str, phone: str, code: str) -> None:
    VerificationCode.objects.create(
        user=user,
        purpose=purpose,
        phone=phone,
        code_hash=VerificationCode.hash_code(purpose, code),
        expires_at=timezone.now() + timedelta(minutes=9),
    )


def reset_code(body: dict[str, Any]) -> User:
    user = active({"phone": body["phone"]})
    code_sent(user, VerificationCode.Purpose.PASSWORD_RESET, user.phone, body["code"])
    return user


def phone_change_code(body: dict[str, Any]) -> User:
    user = active({})
    code_sent(user, VerificationCode.Purpose.PHONE_CHANGE, "+237699001122", body["code"])
    return user


def with_refresh(body: dict[str, Any]) -> User:
    """A refresh token cannot be an example (it is signed and expires): the test swaps in a real one."""
    user = active({})
    body["refresh"] = token_pair(user)["refresh"]
    return user


Prepare = Callable[[dict[str, Any]], User | None]
PREPARED: dict[tuple[str, str], Prepare] = {
    ("post", "/api/v1/auth/register/"): lambda body: None,
    ("post", "/api/v1/auth/activate/"): pending,
    ("post", "/api/v1/auth/activate/resend/"): pending,
    ("post", "/api/v1/auth/activate/status/"): pending,
    ("post", "/api/v1/auth/login/"): active,
    ("post", "/api/v1/auth/token/refresh/"): with_refresh,
    ("post", "/api/v1/auth/logout/"): with_refresh,
    ("patch", "/api/v1/users/me/"): active,
    ("post", "/api/v1/users/me/password/"): active,
    ("post", "/api/v1/auth/password/reset/"): active,
    ("post", "/api/v1/auth/password/reset/confirm/"): reset_code,
    ("post", "/api/v1/users/me/phone/"): active,
    ("post", "/api/v1/users/me/phone/confirm/"): phone_change_code,
}


def request_examples(document: dict[str, Any], method: str, path: str) -> dict[str, dict[str, Any]]:
    operation = document["paths"][path][method]
    return {
        name: copy.deepcopy(example["value"])
        for name, example in operation["requestBody"]["content"]["application/json"].get("examples", {}).items()
    }


def test_every_operation_with_a_body_has_a_request_example_and_a_prepared_state(document: dict[str, Any]) -> None:
    with_body = {(method, path) for path, method, operation in app_operations(document) if "requestBody" in operation}
    assert with_body == set(PREPARED)
    assert all(request_examples(document, method, path) for method, path in with_body)


@pytest.mark.parametrize(("method", "path"), list(PREPARED))
def test_every_request_example_is_accepted(
    document: dict[str, Any], method: str, path: str, sms_outbox: list[Any]
) -> None:
    """Each example in the state it presumes, prepared from the example itself, and cleared after it."""
    for name, body in request_examples(document, method, path).items():
        user = PREPARED[(method, path)](body)
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair(user)['access']}")
        response = client.generic(method.upper(), path, json.dumps(body), content_type="application/json")
        assert 200 <= response.status_code < 300, (name, response.status_code, response.content)
        User.objects.all().delete()  # the next example presumes its own state (codes and tokens go with it)
        cache.clear()


# --- Response examples -----------------------------------------------------------------------------------------


def as_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: `nullable` becomes a null alternative, and every object with listed
    properties takes no others (so that an example with a misspelt key fails)."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: as_json_schema(value) for key, value in node.items()}
    if "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def response_examples(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], Any]]:
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                content = response.get("content", {}).get("application/json", {})
                for name, example in content.get("examples", {}).items():
                    found.append((f"{method} {path} {status} {name}", status, content["schema"], example["value"]))
    return found


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_response_example_validates_against_its_schema(document: dict[str, Any], language: str) -> None:
    components = as_json_schema(document["components"])
    examples = response_examples(document if language == "fr" else _schema(language))
    assert len(examples) > 100
    for name, status, response_schema, value in examples:
        resolver = {"components": components, **as_json_schema(response_schema)}
        jsonschema.validate(value, resolver, cls=jsonschema.Draft7Validator)
        assert value, name  # never `{}`
        if status == "400" and isinstance(value, dict) and "detail" not in value:
            assert all(errors for errors in value.values()), name


def dates_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [date for value in node.values() for date in dates_in(value)]
    if isinstance(node, list):
        return [date for value in node for date in dates_in(value)]
    return [node] if isinstance(node, str) and DATE.match(node) else []


def test_response_examples_show_dates_as_the_api_answers_them(document: dict[str, Any]) -> None:
    dates = [date for *_rest, value in response_examples(document) for date in dates_in(value)]
    assert dates
    assert all(date.endswith("+01:00") for date in dates), dates


def test_every_documented_answer_of_the_app_has_an_example(document: dict[str, Any]) -> None:
    missing = [
        f"{method} {path} {status}"
        for path, method, operation in app_operations(document)
        for status, response in operation["responses"].items()
        if status != "204" and not response.get("content", {}).get("application/json", {}).get("examples")
    ]
    assert missing == []


def test_the_examples_follow_the_request_language(document: dict[str, Any]) -> None:
    french = document["paths"]["/api/v1/auth/login/"]["post"]["responses"]["401"]["content"]["application/json"]
    english = _schema("en")["paths"]["/api/v1/auth/login/"]["post"]["responses"]["401"]["content"]["application/json"]
    assert french["examples"]["InvalidCredentials"]["value"] == {
        "detail": "Numéro de téléphone ou mot de passe incorrect.",
        "code": "invalid_credentials",
    }
    assert english["examples"]["InvalidCredentials"]["value"]["detail"] == "Wrong phone number or password."


def test_the_operations_are_listed_in_the_order_of_the_flow(document: dict[str, Any]) -> None:
    order = [(method, path.removeprefix("/api/v1/")) for path, method, _operation in app_operations(document)]
    assert order == [
        ("post", "auth/register/"),
        ("post", "auth/activate/"),
        ("post", "auth/activate/resend/"),
        ("post", "auth/activate/status/"),
        ("post", "auth/login/"),
        ("post", "auth/token/refresh/"),
        ("post", "auth/logout/"),
        ("get", "users/me/"),
        ("patch", "users/me/"),
        ("delete", "users/me/"),
        ("post", "users/me/password/"),
        ("post", "auth/password/reset/"),
        ("post", "auth/password/reset/confirm/"),
        ("post", "users/me/phone/"),
        ("post", "users/me/phone/confirm/"),
        ("get", "users/me/export/"),
        ("get", "users/me/sessions/"),
        ("post", "users/me/sessions/revoke-others/"),
        ("delete", "users/me/sessions/{session_id}/"),
    ]
    assert all(operation.get("summary") for _path, _method, operation in app_operations(document))
    assert [tag["name"] for tag in document["tags"]][:5] == [
        "sign-up",
        "session",
        "account",
        "password reset",
        "phone change",
    ]


def test_the_examples_the_issue_found_wrong(document: dict[str, Any]) -> None:
    """Issue 13: the activate example sent both proofs (a 400), the sign-up's showed an active user, dates `Z`."""
    activate = document["paths"]["/api/v1/auth/activate/"]["post"]["requestBody"]["content"]["application/json"]
    for example in activate["examples"].values():
        assert len({"signup_token", "password"} & set(example["value"])) == 1
    register = document["paths"]["/api/v1/auth/register/"]["post"]["responses"]["201"]["content"]["application/json"]
    (created,) = register["examples"].values()
    assert created["value"]["user"]["is_active"] is False
    assert created["value"]["user"]["date_joined"].endswith("+01:00")


def test_the_yaml_schema_carries_the_rendered_examples() -> None:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Wrong phone number or password." in response.content.decode()
