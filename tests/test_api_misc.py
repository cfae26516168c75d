"""Project-wide API behaviour: JSON 404s, the OpenAPI schema and docs, wrong methods, the test runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from waterbill.test_runner import expand_bare_verbosity, label_to_node_id

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


SEED_MODULE = "users.tests.test_atomic_registration"
SEED_TEST = f"{SEED_MODULE}.AtomicRegistrationTestCase.test_sms_failure_rolls_back_user_creation"


@pytest.mark.parametrize(
    ("args", "expanded"),
    [
        ([SEED_MODULE, "-v"], [SEED_MODULE, "-v", "2"]),
        ([SEED_TEST, "-v"], [SEED_TEST, "-v", "2"]),
        (["-v", SEED_MODULE], ["-v", "2", SEED_MODULE]),
        ([SEED_MODULE, "--verbosity"], [SEED_MODULE, "--verbosity", "2"]),
        (["-v", "-k", "atomic"], ["-v", "2", "-k", "atomic"]),
        ([SEED_MODULE, "-v", "2"], [SEED_MODULE, "-v", "2"]),
        ([SEED_MODULE, "-v", "0"], [SEED_MODULE, "-v", "0"]),
        ([SEED_MODULE, "-v2"], [SEED_MODULE, "-v2"]),
        ([SEED_MODULE, "--verbosity", "3"], [SEED_MODULE, "--verbosity", "3"]),
        ([SEED_MODULE, "--verbosity=3"], [SEED_MODULE, "--verbosity=3"]),
        ([SEED_MODULE, "-v", "7"], [SEED_MODULE, "-v", "7"]),  # a number: Django's parser refuses it itself
        (["--", "-v"], ["--", "-v"]),
        ([], []),
    ],
)
def test_a_bare_verbosity_flag_of_manage_py_test_means_verbose(args: list[str], expanded: list[str]) -> None:
    assert expand_bare_verbosity(args) == expanded


@pytest.mark.parametrize(
    ("args", "verbosity", "labels"),
    [
        ([SEED_MODULE, "-v"], 2, [SEED_MODULE]),
        ([SEED_TEST, "-v"], 2, [SEED_TEST]),
        (["-v", SEED_MODULE], 2, [SEED_MODULE]),
        ([SEED_MODULE, "-v", "2"], 2, [SEED_MODULE]),
        ([SEED_MODULE, "-v", "0"], 0, [SEED_MODULE]),
        ([SEED_MODULE, "-v2"], 2, [SEED_MODULE]),
        ([SEED_MODULE, "--verbosity", "3"], 3, [SEED_MODULE]),
        ([SEED_MODULE], 1, [SEED_MODULE]),
    ],
)
def test_djangos_test_command_parses_the_expanded_arguments(args: list[str], verbosity: int, labels: list[str]) -> None:
    from django.core.management.commands.test import Command

    options = Command().create_parser("manage.py", "test").parse_args(expand_bare_verbosity(args))
    assert options.verbosity == verbosity
    assert options.args == labels


def test_the_seeds_command_with_a_bare_v_runs_the_test_verbosely() -> None:
    root = Path(__file__).resolve().parent.parent
    # The child runs on its own SQLite in-memory database and local-memory cache: never on the database or
    # the Redis this run may be using (it would drop or flush them under it).
    unshared = ("DATABASE_URL", "WATERBILL_TEST_REDIS_URL", "WATERBILL_REQUIRE_POSTGRES")
    env = {name: value for name, value in os.environ.items() if name not in unshared}
    done = subprocess.run(  # noqa: S603 -- this interpreter with a fixed argument list
        [sys.executable, "manage.py", "test", SEED_TEST, "-v"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    node = (
        "users/tests/test_atomic_registration.py::AtomicRegistrationTestCase"
        "::test_sms_failure_rolls_back_user_creation"
    )
    assert f"{node} PASSED" in done.stdout
    assert "1 passed" in done.stdout


@pytest.mark.django_db
def test_the_schema_generates_without_warnings_and_validates() -> None:
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_a_post_without_the_trailing_slash_is_a_json_404_not_a_redirect(api_client: APIClient) -> None:
    response = api_client.post("/api/v1/auth/register", {}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_with_debug_on_a_path_without_its_slash_is_django_s_html_404(api_client: APIClient) -> None:
    """What docs/api.md says of development: Django's debug page, not the JSON 404 of production."""
    with override_settings(DEBUG=True):
        response = api_client.post("/api/v1/auth/register", {}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


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
        (
            __import__("django.core.exceptions", fromlist=["PermissionDenied"]).PermissionDenied(),
            403,
            "permission_denied",
        ),
    ],
)
def test_djangos_own_exceptions_get_the_same_shape(raised: Exception, status: int, code: str) -> None:
    from waterbill.exception_handler import api_exception_handler

    response = api_exception_handler(raised, {})
    assert response is not None
    assert response.status_code == status
    assert response.data["code"] == code
    assert "detail" in response.data


def test_an_unexpected_exception_is_left_to_djangos_500_handler() -> None:
    from waterbill.exception_handler import api_exception_handler

    assert api_exception_handler(KeyError("bug"), {}) is None


def test_a_server_error_answers_json() -> None:
    from django.test import RequestFactory

    from waterbill.views import server_error

    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert __import__("json").loads(response.content) == {
        "detail": "Une erreur interne est survenue.",
        "code": "server_error",
    }
