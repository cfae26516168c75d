"""System checks: what the account limits rely on (a shared cache, the real client address), and code SMS that fit."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Info, Tags, Warning, register
from django.utils import translation

from users.models import CODE_DIGITS


@register(Tags.security, deploy=True)
def check_shared_cache(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """users.W001 under `check --deploy` when the cache is per process (local memory)."""
    if settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache":
        return [
            Warning(
                "The cache is local memory: per-IP throttles, login-failure limits and the SMS budget are "
                "counted separately by each worker process.",
                hint="Set CACHE_URL (or REDIS_URL) to a Redis server shared by every worker.",
                id="users.W001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_test_numbers(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """users.W010 under `check --deploy` while SMS_TEST_NUMBERS is set, naming them (users.I010 once
    SMS_TEST_NUMBERS_ACKNOWLEDGED: shown, not failing the start)."""
    numbers = sorted(settings.SMS_TEST_NUMBERS)
    if not numbers:
        return []
    text = (
        f"SMS_TEST_NUMBERS is set: {', '.join(numbers)} receive no SMS and accept a fixed code (app-store review). "
        "Anyone who knows a number and its code can sign up or reset with it."
    )
    if settings.SMS_TEST_NUMBERS_ACKNOWLEDGED:
        return [Info(text, id="users.I010")]
    return [
        Warning(
            text,
            hint="Remove them after the review, or set SMS_TEST_NUMBERS_ACKNOWLEDGED=1 while it lasts.",
            id="users.W010",
        )
    ]


@register(Tags.security, deploy=True)
def check_proxy_count(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """users.W002 under `check --deploy` when no proxy is declared: behind the TLS proxy production assumes,
    every client would share the proxy's address, and one client's failures would lock everyone out."""
    if settings.REST_FRAMEWORK.get("NUM_PROXIES", 0) == 0:
        return [
            Warning(
                "DJANGO_NUM_PROXIES is 0: per-IP limits count the address that connects, which behind the "
                "TLS-terminating proxy is the proxy's, shared by every client.",
                hint="Set DJANGO_NUM_PROXIES to the number of proxies that append to X-Forwarded-For.",
                id="users.W002",
            )
        ]
    return []


@register()
def check_code_texts_fit_one_segment(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """users.E001 when a code SMS (users.texts.CODE_TEXTS) in some language, with SMS_ANDROID_APP_HASH and
    SMS_OTP_DOMAIN as set and the longest code, is not one GSM-7 segment (160 characters, 140 bytes): it
    would be billed twice, and Android's SMS Retriever ignores a message over 140 bytes."""
    from sms.gsm import fits_one_segment
    from users.texts import CODE_TEXTS

    errors: list[CheckMessage] = []
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for text in CODE_TEXTS:
                sms = text("9" * CODE_DIGITS)
                if not fits_one_segment(sms):
                    errors.append(
                        Error(
                            f"The {language} {text.__name__} SMS is {len(sms)} characters with SMS_ANDROID_APP_HASH "
                            f"and SMS_OTP_DOMAIN as set: more than one GSM-7 segment (160).",
                            hint=f"Shorten SMS_OTP_DOMAIN ({len(settings.SMS_OTP_DOMAIN)} characters now) by at "
                            f"least {len(sms) - 160}, or leave it or SMS_ANDROID_APP_HASH unset.",
                            id="users.E001",
                        )
                    )
    return errors
