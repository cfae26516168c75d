"""What the chaos run and the benchmark share: a fresh PostgreSQL database and gunicorn as production runs it."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def recreate_database(url: str) -> None:
    """Drop and create the database named in `url`, connecting to the server's `postgres` database."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers: the master's children, read from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            children.append(int(stat.parent.name))
    return sorted(children)


def wait_until_serving(base: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/api/schema/", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start serving")


def production_like_env(default_database: str, **overrides: str) -> dict[str, str]:
    """Environment for a production-like server (DEBUG off, Twilio backend) on a fresh, migrated database.

    The database is DATABASE_URL's (PostgreSQL only), else `default_database` on the local server; it is
    dropped and re-created. Per-IP throttles and the SMS budget are lifted: every client here is 127.0.0.1.
    """
    database_url = os.environ.get("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{default_database}")
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("this script needs PostgreSQL: set DATABASE_URL=postgres://...")
    recreate_database(database_url)
    env = {
        # As the Docker image sets it (Dockerfile): two malloc arenas per process, not one per thread.
        "MALLOC_ARENA_MAX": "2",
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_NUM_PROXIES": "0",
        "DATABASE_URL": database_url,
        "SMS_BACKEND": "sms.backends.twilio.SmsBackend",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "stub",
        "TWILIO_FROM_NUMBER": "WaterBill",
        "SMS_HOURLY_BUDGET": "100000000",  # both allowances
        "SIGNUP_SMS_PER_BLOCK_PER_HOUR": "100000000",
        **{f"THROTTLE_{scope}": "100000000/hour" for scope in ("REGISTER", "ACTIVATE", "RESEND", "LOGIN")},
        **overrides,
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    return env


def start_gunicorn(
    env: dict[str, str], workers: int, log: IO[str] | int = subprocess.DEVNULL
) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn as the Dockerfile runs it (gunicorn.conf.py, so the same threads, timeouts and pool), with
    `workers` processes on a free local port; returns it and its URL. Other GUNICORN_* variables in `env`
    (GUNICORN_THREADS...) apply as they would in production."""
    port = free_port()
    env = {**env, "WEB_CONCURRENCY": str(workers), "GUNICORN_BIND": f"127.0.0.1:{port}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "waterbill.wsgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base)
    return process, base


def server_shape(env: dict[str, str], workers: int) -> str:
    """"W workers x T threads (class)" as gunicorn.conf.py reads `env` with `workers`, for the reports."""
    saved = dict(os.environ)
    os.environ.update({**env, "WEB_CONCURRENCY": str(workers)})
    try:
        from waterbill.server import ServerConfig

        config = ServerConfig.from_environ()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return f"{config.workers} workers x {config.threads} threads ({config.worker_class})"
