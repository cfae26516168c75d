"""Settings fail closed: production refuses to start without a secret key or an SMS backend."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import SECRET, settings_printed


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    """Import waterbill.settings in a fresh interpreter with exactly these variables (plus PATH)."""
    return settings_printed("import waterbill.settings as s; print(s.DEBUG, s.SMS_BACKEND, s.ALLOWED_HOSTS)", **env)


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"SMS_BACKEND": "sms.backends.twilio.SmsBackend"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": SECRET}, "SMS_BACKEND"),
        ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": SECRET}, "SMS_BACKEND"),
    ],
)
def test_production_refuses_to_start_without(env: dict[str, str], missing: str) -> None:
    result = load_settings(**env)
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr


def test_production_starts_with_both() -> None:
    result = load_settings(DJANGO_SECRET_KEY=SECRET, SMS_BACKEND="sms.backends.twilio.SmsBackend")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "sms.backends.twilio.SmsBackend", "[]"]


def test_development_defaults_to_the_console_backend_and_local_hosts() -> None:
    result = load_settings(DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("True sms.backends.console.SmsBackend ")
    assert "10.0.2.2" in result.stdout


def test_a_malformed_boolean_is_refused() -> None:
    result = load_settings(DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a boolean" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("THROTTLE_LOGIN", "5/30s", "is not COUNT/PERIOD"),
        ("LOGIN_FAILURE_LIMIT_PHONE", "5/5m", "is not COUNT/SECONDS"),
        ("CODE_FAILURE_LIMIT_PHONE_ALL", "0/300", "must allow at least one guess"),
        ("CODE_FAILURE_LIMIT_PHONE", "six/3600", "is not COUNT/SECONDS"),
        ("CACHE_URL", "memcached://x", "must be a redis://"),
    ],
)
def test_limits_and_cache_urls_that_would_be_misread_are_refused(variable: str, value: str, message: str) -> None:
    result = load_settings(DJANGO_DEBUG="1", **{variable: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_redis_url_selects_the_redis_cache() -> None:
    code_env = {"DJANGO_DEBUG": "1", "REDIS_URL": "redis://127.0.0.1:6379/3"}
    result = settings_printed("import waterbill.settings as s; print(s.CACHES['default']['BACKEND'])", **code_env)
    assert result.stdout.strip() == "waterbill.cache.RedisCache", result.stderr


def test_log_format_json_is_accepted_and_anything_else_refused() -> None:
    assert load_settings(DJANGO_DEBUG="1", LOG_FORMAT="json").returncode == 0
    refused = load_settings(DJANGO_DEBUG="1", LOG_FORMAT="xml")
    assert refused.returncode != 0
    assert "LOG_FORMAT must be plain or json" in refused.stderr


@pytest.mark.parametrize(("proxies", "header"), [("0", "None"), ("1", "('HTTP_X_FORWARDED_PROTO', 'https')")])
def test_x_forwarded_proto_is_believed_only_from_a_declared_proxy(proxies: str, header: str) -> None:
    code = "import waterbill.settings as s; print(getattr(s, 'SECURE_PROXY_SSL_HEADER', None))"
    result = settings_printed(
        code, DJANGO_SECRET_KEY=SECRET, SMS_BACKEND="sms.backends.twilio.SmsBackend", DJANGO_NUM_PROXIES=proxies
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == header


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "600 400 10"),
        ({"SMS_HOURLY_BUDGET": "200"}, "120 80 10"),  # the one pool before: its total is kept, split
        ({"SMS_HOURLY_BUDGET": "200", "SMS_HOURLY_BUDGET_ACCOUNTS": "500"}, "120 500 10"),
        ({"SMS_HOURLY_BUDGET_SIGNUPS": "50", "SIGNUP_SMS_PER_BLOCK_PER_HOUR": "3"}, "50 400 3"),
    ],
)
def test_the_sms_allowances_default_to_a_split_of_the_old_budget(env: dict[str, str], expected: str) -> None:
    code = (
        "import waterbill.settings as s; "
        "print(s.SMS_HOURLY_BUDGET_SIGNUPS, s.SMS_HOURLY_BUDGET_ACCOUNTS, s.SIGNUP_SMS_PER_BLOCK_PER_HOUR)"
    )
    result = settings_printed(code, DJANGO_DEBUG="1", **env)
    assert result.stdout.strip() == expected, result.stderr


def test_production_refuses_a_public_base_url_that_is_not_https() -> None:
    production = {"DJANGO_SECRET_KEY": SECRET, "SMS_BACKEND": "sms.backends.twilio.SmsBackend"}
    refused = load_settings(**production, PUBLIC_BASE_URL="http://api.waterbill.cm")
    assert refused.returncode != 0
    assert "PUBLIC_BASE_URL must be an https:// origin" in refused.stderr
    assert load_settings(**production, PUBLIC_BASE_URL="https://api.waterbill.cm/").returncode == 0


def test_the_delivery_timeout_and_ratio_default_to_60_seconds_and_half() -> None:
    code = "import waterbill.settings as s; print(s.SMS_DELIVERY_TIMEOUT.total_seconds(), s.SMS_MIN_DELIVERED_RATIO)"
    result = settings_printed(code, DJANGO_DEBUG="1")
    assert result.stdout.split() == ["60.0", "0.5"], result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SMS_DELIVERY_TIMEOUT": "600"}, "SMS_DELIVERY_TIMEOUT must be shorter than the code lifetime"),
        ({"SMS_DELIVERY_TIMEOUT": "soon"}, "SMS_DELIVERY_TIMEOUT='soon' is not a positive number of seconds"),
        ({"SMS_MIN_DELIVERED_RATIO": "1.5"}, "SMS_MIN_DELIVERED_RATIO='1.5' is not a share from 0 to 1"),
        ({"SMS_MIN_DELIVERED_RATIO": "half"}, "SMS_MIN_DELIVERED_RATIO='half' is not a share from 0 to 1"),
        ({"SMS_ANDROID_APP_HASH": "short"}, "SMS_ANDROID_APP_HASH='short' is not an SMS Retriever app hash"),
        ({"SMS_ANDROID_APP_HASH": "Ab3+/Zx9Qw0!"}, "is not an SMS Retriever app hash (11 of A-Z a-z 0-9 + /)"),
        ({"SMS_ANDROID_APP_HASH": "Ab3-_Zx9Qw0"}, "is not an SMS Retriever app hash"),
        ({"SMS_OTP_DOMAIN": "https://waterbill.cm"}, "SMS_OTP_DOMAIN='https://waterbill.cm' is not a host name"),
        ({"SMS_OTP_DOMAIN": "waterbill"}, "is not a host name"),
        ({"SMS_OTP_DOMAIN": "eau potable.cm"}, "is not a host name"),
    ],
)
def test_a_delivery_or_autofill_setting_of_the_wrong_shape_stops_the_process(env: dict[str, str], message: str) -> None:
    result = load_settings(DJANGO_DEBUG="1", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_the_autofill_settings_are_read_as_given_the_domain_in_lower_case() -> None:
    code = "import waterbill.settings as s; print(s.SMS_ANDROID_APP_HASH, s.SMS_OTP_DOMAIN)"
    env = {"SMS_ANDROID_APP_HASH": "Ab3+/Zx9Qw0", "SMS_OTP_DOMAIN": "App.WaterBill.cm"}
    result = settings_printed(code, DJANGO_DEBUG="1", **env)
    assert result.stdout.split() == ["Ab3+/Zx9Qw0", "app.waterbill.cm"], result.stderr
