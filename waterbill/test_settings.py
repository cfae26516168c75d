"""Test overlay on waterbill.settings: in-memory SMS outbox, fast password hashing, no .env involved."""

import os
import secrets

# A fresh random key per test run: tests must not depend on a known secret.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("SMS_BACKEND", "sms.backends.locmem.SmsBackend")

from waterbill.settings import *  # noqa: E402,F403

SMS_BACKEND = "sms.backends.locmem.SmsBackend"
# Hashing cost is measured by the benchmarks, not paid by every test.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# Static files are not collected for tests: WhiteNoise would only warn about the missing STATIC_ROOT.
MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("whitenoise.")]  # noqa: F405
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
TEST_RUNNER = "waterbill.test_runner.PytestTestRunner"
# Work handed to waterbill.tasks runs at once, on the test's thread and database transaction.
AFTER_RESPONSE_INLINE = True
# Tests clear the cache before each test (FLUSHDB on Redis): never the one CACHE_URL/REDIS_URL names, only a
# Redis given for tests on purpose (CI's PostgreSQL run), else local memory.
if os.environ.get("WATERBILL_TEST_REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "waterbill.cache.RedisCache",
            "LOCATION": os.environ["WATERBILL_TEST_REDIS_URL"],
            "KEY_PREFIX": "waterbill-test",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
