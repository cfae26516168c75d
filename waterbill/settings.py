"""Django settings for WaterBill API, read from the environment (see README and .env.example)."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key
from django.utils.translation import gettext_lazy as _

from waterbill.env import (
    env_bool,
    env_count,
    env_int,
    env_limit,
    env_list,
    env_rate,
    env_ratio,
    env_seconds,
    env_str,
)
from waterbill.server import AFTER_RESPONSE_THREADS, DEFAULT_THREADS, DEFAULT_WORKERS
from waterbill.server import threads as gunicorn_threads

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core -----------------------------------------------------------------------------------------

DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        # Fail closed: a production process must never run on a guessable or throw-away key.
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is not set (and DJANGO_DEBUG is off): refusing to start.")
    # Development only: a per-process key. Tokens and sessions do not survive a restart; `scripts/run`
    # writes a stable key into .env so this branch is rarely taken.
    SECRET_KEY = get_random_secret_key()

# 10.0.2.2 is how the Android emulator reaches the developer's machine.
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "10.0.2.2"] if DEBUG else []
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",  # for its translations
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served by us, not by a CDN
    "users",
    "sms",
]

MIDDLEWARE = [
    "waterbill.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves the collected admin and API-docs assets in production (runserver serves them in DEBUG).
    *([] if DEBUG else ["whitenoise.middleware.WhiteNoiseMiddleware"]),
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "waterbill.urls"
# URLs end with a slash; a POST without it gets a JSON 404 rather than a redirect that turns it into a GET.
APPEND_SLASH = False
# A cookie-authenticated POST (the admin) without its CSRF token answers JSON like every other refusal.
CSRF_FAILURE_VIEW = "waterbill.views.csrf_failure"
WSGI_APPLICATION = "waterbill.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database host that stops answering must not hang requests (nor the health check) indefinitely.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    if env_bool("DATABASE_POOL", default=True):
        # Django 5.2's psycopg pool, one per worker process. Every thread may hold a connection for a provider
        # round trip (a sign-up's transaction), and so may the after-response threads: sized to them, no thread
        # ever waits for a connection; PostgreSQL's max_connections must then cover workers x this x instances
        # (docs/operations.md, "Database connections"). A wait past DATABASE_POOL_TIMEOUT answers 503.
        _pool_max = env_count("DATABASE_POOL_MAX_SIZE", gunicorn_threads() + AFTER_RESPONSE_THREADS)
        _pool_min = env_count("DATABASE_POOL_MIN_SIZE", min(2, _pool_max), minimum=0)
        if _pool_min > _pool_max:
            raise ImproperlyConfigured(
                f"DATABASE_POOL_MIN_SIZE={_pool_min} is above DATABASE_POOL_MAX_SIZE={_pool_max}: refusing to start."
            )
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": _pool_min,
            "max_size": _pool_max,
            "timeout": env_seconds("DATABASE_POOL_TIMEOUT", 5.0),
        }
        # Django refuses persistent connections beside a pool: the pool keeps them. CONN_HEALTH_CHECKS stays on,
        # and makes the pool check each connection it hands out (a connection killed by a restart is replaced).
        DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A sign-up holds its transaction through the bounded SMS call (up to ~10 s): other writers wait
    # longer than that instead of failing with "database is locked", and take the write lock up front
    # (IMMEDIATE) so that a read-then-write transaction never has to upgrade its lock and deadlock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users and passwords ----------------------------------------------------------------------------

AUTH_USER_MODEL = "users.User"
# Phone and password, behind the failed-login limits: the API's login and the admin's go through it alike.
AUTHENTICATION_BACKENDS = ["users.backends.PhoneBackend"]

# Argon2id first (new hashes); PBKDF2 still verifies older hashes, which are upgraded at the next login.
# Argon2id through waterbill.hashers, which lets at most PASSWORD_HASH_CONCURRENCY hashes run at once per
# process (default: the cores), so that a sign-up flood cannot occupy every thread with hashing. Only one
# "argon2" hasher may be listed: Django keeps the last of those sharing an algorithm name.
PASSWORD_HASHERS = [
    "waterbill.hashers.BoundedArgon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("phone", "first_name", "last_name")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Phone numbers: parsed in this region when written without a country code; only numbers of the
# allowed regions are accepted (an SMS to a foreign premium number is how SMS-pumping fraud pays).
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "CM").upper()
PHONE_ALLOWED_REGIONS = [r.upper() for r in env_list("PHONE_ALLOWED_REGIONS", [PHONE_DEFAULT_REGION])]

# Activation codes: lifetime, wrong attempts allowed per code, and the per-phone resend limits.
ACTIVATION_CODE_TTL = timedelta(minutes=10)
ACTIVATION_MAX_ATTEMPTS = 5
ACTIVATION_RESEND_COOLDOWN = timedelta(seconds=60)
ACTIVATION_RESEND_MAX_PER_HOUR = 5
# Phone-change codes to one destination number per clock hour, across all accounts.
PHONE_CHANGE_MAX_PER_DESTINATION = 5
# Notices ("your password was changed", "your number was moved") per purpose and number per clock hour: past
# them a notice is logged, not sent, so that chaining changes on one's own account cannot spend the active
# accounts' SMS allowance that everyone's reset codes need.
NOTICES_PER_NUMBER_PER_HOUR = env_int("NOTICES_PER_NUMBER_PER_HOUR", 3)
# Wrong guesses, one mechanism for passwords and SMS codes (users.services.limits.Guesses): each limit is an
# allowance COUNT/SECONDS, COUNT wrong guesses at once, then one more every SECONDS / COUNT, so every lock ends
# by itself within that interval. Counted per number from one address (as django-axes does: a stranger's
# failures lock the stranger's address, not the owner's), per number from every address (the backstop that
# bounds guesses spread over many addresses) and, for logins, per address.
# Passwords: 5 from one address (allauth's 5 in 5 minutes: one back a minute), 50 per number (one back every
# 72 s: at most 1,250 a day), 10 per address (one back every 6 s).
LOGIN_FAILURE_LIMIT_PHONE = env_limit("LOGIN_FAILURE_LIMIT_PHONE", "5/300")
LOGIN_FAILURE_LIMIT_PHONE_ALL = env_limit("LOGIN_FAILURE_LIMIT_PHONE_ALL", "50/3600")
LOGIN_FAILURE_LIMIT_IP = env_limit("LOGIN_FAILURE_LIMIT_IP", "100/300")
# SMS codes, on each of four paths apart (activation with the sign-up token, claims, password reset, phone
# change): 6 from one address (one back an hour; one more than a code's attempts, so that its owner sees
# it die and asks for another), 12 per number (one back every 40 minutes). A day then holds
# at most 12 + 36 = 48 wrong codes per number and path, 192 over the four: under the 200 of issue 9
# (docs/security.md, "How many guesses"), and a lock lasts at most an hour.
CODE_FAILURE_LIMIT_PHONE = env_limit("CODE_FAILURE_LIMIT_PHONE", "6/21600")
CODE_FAILURE_LIMIT_PHONE_ALL = env_limit("CODE_FAILURE_LIMIT_PHONE_ALL", "12/28800")
for _name in ("LOGIN_FAILURE_LIMIT_PHONE", "LOGIN_FAILURE_LIMIT_PHONE_ALL", "LOGIN_FAILURE_LIMIT_IP",
              "CODE_FAILURE_LIMIT_PHONE", "CODE_FAILURE_LIMIT_PHONE_ALL"):
    if globals()[_name][0] < 1:  # an allowance of nothing would refuse every guess, the right one included
        raise ImproperlyConfigured(f"{_name} must allow at least one guess (COUNT/SECONDS with COUNT >= 1)")

# --- SMS ----------------------------------------------------------------------------------------------

# Development prints each SMS on the console; production must name its backend (fail closed: printing
# codes to the logs instead of sending them would create accounts nobody can activate).
SMS_BACKEND = env_str("SMS_BACKEND", "sms.backends.console.SmsBackend" if DEBUG else "")
if not SMS_BACKEND:
    raise ImproperlyConfigured("SMS_BACKEND is not set (and DJANGO_DEBUG is off): refusing to start.")
# The activation SMS: a dotted path to a callable `code -> str` (in the active language), imported at each
# send. The account app owns its words; the transport only carries them and never imports it (sms.E002).
SMS_ACTIVATION_TEXT = "users.texts.activation_text"
# Autofill-ready code SMS (users/texts.py, docs/mobile-autofill.md): the Android app's 11-character SMS Retriever
# hash, and the domain of the `@domain #code` last line that WebOTP and iOS fill in. Both optional; a value that
# is not one stops the process, and one that would make a code SMS two segments fails the system check users.E001.
SMS_ANDROID_APP_HASH = env_str("SMS_ANDROID_APP_HASH")
if SMS_ANDROID_APP_HASH and not re.fullmatch(r"[A-Za-z0-9+/]{11}", SMS_ANDROID_APP_HASH):
    raise ImproperlyConfigured(
        f"SMS_ANDROID_APP_HASH={SMS_ANDROID_APP_HASH!r} is not an SMS Retriever app hash (11 of A-Z a-z 0-9 + /)."
    )
SMS_OTP_DOMAIN = env_str("SMS_OTP_DOMAIN").lower()
if SMS_OTP_DOMAIN and not re.fullmatch(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}", SMS_OTP_DOMAIN):
    raise ImproperlyConfigured(
        f"SMS_OTP_DOMAIN={SMS_OTP_DOMAIN!r} is not a host name (the app's domain, e.g. waterbill.cm, no scheme)."
    )
# Numbers for app-store review (`+237699999999:123456`, comma-separated, E.164): they receive no SMS and their
# codes are the fixed one, so that a store reviewer can sign up. `check --deploy` warns while any is set (and
# the Docker image then refuses to start) unless SMS_TEST_NUMBERS_ACKNOWLEDGED=1, which keeps it as a notice.
SMS_TEST_NUMBERS: dict[str, str] = {}
for _entry in env_list("SMS_TEST_NUMBERS"):
    if not re.fullmatch(r"\+[1-9]\d{7,14}:\d{6}", _entry):
        raise ImproperlyConfigured(
            f"SMS_TEST_NUMBERS entry {_entry!r} is not NUMBER:CODE (an E.164 number, a colon, six digits)."
        )
    _number, _code = _entry.split(":")
    SMS_TEST_NUMBERS[_number] = _code
SMS_TEST_NUMBERS_ACKNOWLEDGED = env_bool("SMS_TEST_NUMBERS_ACKNOWLEDGED", default=False)
# The health check's delivery figures per SMS backend: a dotted path to a callable `(now, names) -> {name: {...}}`
# (the sending app's records; waterbill names it by string, as it names every piece of `users`).
HEALTH_SMS_FIGURES = "users.services.sms_stats.health_figures"
# The API's public https origin (https://api.waterbill.cm): the providers post delivery receipts under it
# (sms/receipts.py). Unset: no callback is asked for, and records stay "accepted" (docs/sms-gateways.md).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL").rstrip("/")
if PUBLIC_BASE_URL and not DEBUG and not PUBLIC_BASE_URL.startswith("https://"):
    raise ImproperlyConfigured("PUBLIC_BASE_URL must be an https:// origin (receipts carry our callback secrets).")
# Delivery-aware failover (users.services.redelivery): a code with no "delivered" receipt this long after its send
# (or an "undelivered"/"failed" one sooner) goes once more through the next backend; `manage.py redeliver_sms`,
# run every minute, finds the late ones. Shorter than the code's lifetime, or the resend would carry a dead code.
SMS_DELIVERY_TIMEOUT = timedelta(seconds=env_seconds("SMS_DELIVERY_TIMEOUT", 60.0))
if SMS_DELIVERY_TIMEOUT >= ACTIVATION_CODE_TTL:
    raise ImproperlyConfigured(f"SMS_DELIVERY_TIMEOUT must be shorter than the code lifetime ({ACTIVATION_CODE_TTL}).")
# A provider whose delivered share of its last 50 receipts falls below this is tried last (and logged at ERROR).
SMS_MIN_DELIVERED_RATIO = env_ratio("SMS_MIN_DELIVERED_RATIO", 0.5)
# Secrets of ours in the callback URLs of the providers that sign nothing (?secret=...).
AFRICASTALKING_CALLBACK_SECRET = env_str("AFRICASTALKING_CALLBACK_SECRET")
ORANGE_CALLBACK_SECRET = env_str("ORANGE_CALLBACK_SECRET")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER")
TWILIO_API_URL = env_str("TWILIO_API_URL", "https://api.twilio.com").rstrip("/")
ORANGE_CLIENT_ID = env_str("ORANGE_CLIENT_ID")
ORANGE_CLIENT_SECRET = env_str("ORANGE_CLIENT_SECRET")
ORANGE_SENDER_ADDRESS = env_str("ORANGE_SENDER_ADDRESS")  # tel:+237... (the number the account sends from)
ORANGE_SENDER_NAME = env_str("ORANGE_SENDER_NAME")  # optional, approved by Orange
ORANGE_API_URL = env_str("ORANGE_API_URL", "https://api.orange.com").rstrip("/")
AFRICASTALKING_USERNAME = env_str("AFRICASTALKING_USERNAME")
AFRICASTALKING_API_KEY = env_str("AFRICASTALKING_API_KEY")
AFRICASTALKING_SENDER_ID = env_str("AFRICASTALKING_SENDER_ID")  # optional
AFRICASTALKING_API_URL = env_str("AFRICASTALKING_API_URL", "https://api.africastalking.com").rstrip("/")
# SMS per clock hour, all numbers together, in two allowances (sms/budget.py, docs/security.md#the-sms-allowances):
# past one, its sends are refused (503) and an ERROR is logged, so an SMS-pumping attack cannot run up the bill,
# and sign-ups (which anyone can cause with random numbers) cannot spend what active accounts need for their
# reset codes and notices. SMS_HOURLY_BUDGET, the one pool before, is now the total both default from (1000,
# 60% for sign-ups): an existing .env keeps its bill; each allowance set replaces its share.
_SMS_HOURLY_TOTAL = env_int("SMS_HOURLY_BUDGET", 1000)
SMS_HOURLY_BUDGET_SIGNUPS = env_int("SMS_HOURLY_BUDGET_SIGNUPS", _SMS_HOURLY_TOTAL * 6 // 10)
SMS_HOURLY_BUDGET_ACCOUNTS = env_int("SMS_HOURLY_BUDGET_ACCOUNTS", _SMS_HOURLY_TOTAL - _SMS_HOURLY_TOTAL * 6 // 10)
# Sign-up SMS (codes to never-verified numbers) per block of 1,000 consecutive numbers per clock hour: one
# customer's five codes an hour and a neighbour's, never a range walked by a pumper (users/services/blocks.py).
SIGNUP_SMS_PER_BLOCK_PER_HOUR = env_int("SIGNUP_SMS_PER_BLOCK_PER_HOUR", 10)
# Days an SMS record (users.SmsRecord: number, purpose, provider, status; never the code) is kept before
# `manage.py purge_sms_records` deletes it: numbers are personal data, kept no longer than support needs them.
SMS_RECORD_RETENTION_DAYS = env_count("SMS_RECORD_RETENTION_DAYS", 90)
# The version of the privacy notice a sign-up must accept (`privacy_notice_version` in the register body, equal
# to this; the account records it, its language and the time). Unset: nothing is asked.
PRIVACY_NOTICE_VERSION = env_str("PRIVACY_NOTICE_VERSION", "")
# Days between a customer deleting the account (DELETE /users/me/: disabled at once) and `manage.py
# erase_deleted_accounts`, run daily, erasing its personal data; the support desk can restore it meanwhile.
ACCOUNT_DELETION_GRACE_DAYS = env_count("ACCOUNT_DELETION_GRACE_DAYS", 7)
# Days an audit event (users.AuditEvent: what was done to an account, when, from which network) is kept before
# `manage.py purge_audit_events`, run daily, deletes it.
AUDIT_RETENTION_DAYS = env_count("AUDIT_RETENTION_DAYS", 365)

# --- Cache: shared by every worker for throttles, login-failure counters and the SMS budget ----------

CACHE_URL = env_str("CACHE_URL") or env_str("REDIS_URL")
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"CACHE_URL must be a redis://, rediss:// or unix:// URL, not {CACHE_URL!r}")
    CACHES = {
        "default": {
            "BACKEND": "waterbill.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "waterbill",
            # Bounded like the SMS call: a stalled Redis must not hang requests.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    # Per process: fine for runserver and tests; production with several workers needs CACHE_URL
    # (`check --deploy` says so).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Internationalisation -----------------------------------------------------------------------------

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Africa/Douala"
USE_TZ = True

# --- Static files (admin and API docs) ----------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- REST API -------------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["users.authentication.SessionJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["waterbill.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "waterbill.exception_handler.api_exception_handler",
    # Per client IP, per endpoint, counted in the shared cache. Generous: Cameroonian mobile networks put
    # many subscribers behind one carrier-grade NAT address.
    "DEFAULT_THROTTLE_RATES": {
        # Per address, only a high backstop: Cameroon's operators put thousands of subscribers behind one
        # carrier-grade NAT address, so a launch looks like one address (issue 10: at least 300 sign-ups and
        # 1,000 logins an hour from one). What an abuser cannot share cheaply bounds abuse: per number, per
        # number block, the SMS allowances, the wrong-guess allowances (docs/security.md).
        "register": env_rate("THROTTLE_REGISTER", "400/hour"),
        "activate": env_rate("THROTTLE_ACTIVATE", "1200/hour"),
        "resend": env_rate("THROTTLE_RESEND", "600/hour"),
        "login": env_rate("THROTTLE_LOGIN", "2000/hour"),
        # The providers' delivery receipts: a few addresses post one or more per SMS sent.
        "sms_status": env_rate("THROTTLE_SMS_STATUS", "20000/hour"),
    },
    # How many proxies in front append to X-Forwarded-For; the client IP is the address they saw.
    # Default 0 (REMOTE_ADDR): trusting the header without a proxy would let any client pick its IP.
    # Never unset: DRF would then trust a client-written header.
    "NUM_PROXIES": env_int("DJANGO_NUM_PROXIES", 0),
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=30),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "WaterBill API",
    "DESCRIPTION": (
        "Accounts for the WaterBill mobile app: phone sign-up with SMS activation, JWT login. "
        "Errors are `{detail, code}` or, for invalid fields, `{field: [{message, code}]}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The 413, the parse error, the bad Host and the CSRF failure: answered before any view, documented here.
    # The operations in the order of users/urls.py, which is the app's flow, grouped by step in this order.
    "SORT_OPERATIONS": False,
    "TAGS": [
        {"name": "sign-up", "description": "Sign up, activate with the SMS code, resend it, follow its SMS."},
        {"name": "session", "description": "Log in, refresh the pair, log out."},
        {"name": "account", "description": "The logged-in account: read it, change the names, the password."},
        {"name": "password reset", "description": "A forgotten password: a code by SMS, then a new password."},
        {"name": "phone change", "description": "Move the account to a new number: a code by SMS to it."},
        {"name": "sms", "description": "The SMS providers' delivery receipts (not for the app)."},
    ],
    # Examples rendered as the API answers (users.schema); request bodies take their listed keys only
    # (users.serializers.RequestSerializer refuses the others).
    "POSTPROCESSING_HOOKS": [
        "users.schema.render_examples",
        "drf_spectacular.hooks.postprocess_schema_enums",
        "users.http.document_refusals",
        "users.http.close_request_bodies",
    ],
}

# --- Security (production runs behind a TLS-terminating proxy that sets X-Forwarded-Proto) -------------

if not DEBUG:
    # X-Forwarded-Proto is believed only from a declared proxy: without one, any client could claim https.
    if REST_FRAMEWORK["NUM_PROXIES"]:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe over plain HTTP, inside the private network.
    SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/$"]
    SECURE_HSTS_SECONDS = 31_536_000
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [f"https://{host}" for host in ALLOWED_HOSTS if host and not host.startswith(".")]
# HSTS for subdomains and preload list membership are decisions for the owner of the whole domain,
# not for this API; everything else `check --deploy` asks for is set above.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
if not DEBUG and not SECURE_SSL_REDIRECT:
    # Turned off on purpose (DJANGO_SECURE_SSL_REDIRECT=0: a local stack without TLS): not a forgotten setting.
    SILENCED_SYSTEM_CHECKS.append("security.W008")

# --- Logging: the project's loggers at INFO on stderr, phone numbers masked by the code that logs -------

# "json" in production (one object per line, for the log collector); "plain" is the default.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "waterbill.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "{asctime} {levelname} {name} [{request_id}] -- {message}", "style": "{"},
        "json": {"()": "waterbill.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        # No handler of their own: records propagate to the root handler (and to pytest's caplog).
        # "django" loses the handlers Django gives it by default, so no record is printed twice.
        **{name: {"level": "INFO"} for name in ("waterbill", "users", "sms")},
        "django": {"level": "INFO", "handlers": []},
    },
}

# --- Server capacity (issue 10; the gunicorn side is gunicorn.conf.py, docs/operations.md "Server configuration") --

# Argon2id hashes allowed to run at once in one worker process (waterbill.hashers); the others wait for a slot,
# logins first. Default: the cores this process may run on (its CPU affinity, which a container's cpuset narrows)
# shared among the WEB_CONCURRENCY workers, at least one each: the machine hashes on as many threads as it has
# cores, never more, and a cheap request finds a core between two hashes.
PASSWORD_HASH_CONCURRENCY = env_count(
    "PASSWORD_HASH_CONCURRENCY",
    max(1, (len(os.sched_getaffinity(0)) or 1) // env_count("WEB_CONCURRENCY", DEFAULT_WORKERS)),
)
# Code sends in flight per process (a bulkhead): a slow provider (1 s, or hanging up to ~10 s) can hold at most
# this many of a worker's GUNICORN_THREADS; past it a sign-up or a code is shed at once with 503 `sms_busy`
# (Retry-After 5) instead of queueing, and the other threads keep serving users/me/ and login. Default: two
# thirds of the threads (16 of 24).
SMS_SENDS_IN_FLIGHT = env_count("SMS_SENDS_IN_FLIGHT", max(1, env_count("GUNICORN_THREADS", DEFAULT_THREADS) * 2 // 3))
