"""gunicorn.conf.py: the values gunicorn gets from the environment, and the values it refuses."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gunicorn.config import Config

from waterbill.server import ACCESS_LOG_FORMAT, DEFAULT_THREADS, DEFAULT_WORKERS

CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
VARIABLES = (
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_WORKER_CLASS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_GRACEFUL_TIMEOUT",
    "GUNICORN_KEEPALIVE",
    "GUNICORN_BIND",
    "GUNICORN_ACCESS_LOG",
    "GUNICORN_LOG_LEVEL",
)


def load(monkeypatch: pytest.MonkeyPatch, **environ: str) -> dict[str, Any]:
    """gunicorn.conf.py's settings with exactly `environ` set among its variables, as gunicorn's Config holds them."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    namespace = runpy.run_path(str(CONF))
    config = Config()
    names = [name for name in namespace if name in config.settings]
    for name in names:
        config.set(name, namespace[name])  # gunicorn's own validation of each value
    return {name: config.settings[name].get() for name in names}


def test_defaults_are_a_threaded_worker_with_many_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    values = load(monkeypatch)
    assert values == {
        "bind": ["0.0.0.0:8000"],
        "workers": DEFAULT_WORKERS,
        "worker_class": "gthread",
        "threads": DEFAULT_THREADS,
        "timeout": 30,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "loglevel": "info",
    }
    assert DEFAULT_THREADS >= 16


def test_every_value_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    values = load(
        monkeypatch,
        WEB_CONCURRENCY="3",
        GUNICORN_THREADS="32",
        GUNICORN_TIMEOUT="45",
        GUNICORN_GRACEFUL_TIMEOUT="10",
        GUNICORN_KEEPALIVE="2",
        GUNICORN_BIND="127.0.0.1:9000, unix:/run/api.sock",
        GUNICORN_ACCESS_LOG="off",
        GUNICORN_LOG_LEVEL="WARNING",
    )
    assert values["workers"] == 3
    assert values["threads"] == 32
    assert values["timeout"] == 45
    assert values["graceful_timeout"] == 10
    assert values["keepalive"] == 2
    assert values["bind"] == ["127.0.0.1:9000", "unix:/run/api.sock"]
    assert values["accesslog"] is None
    assert values["loglevel"] == "warning"


def test_the_sync_worker_reports_its_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    values = load(monkeypatch, GUNICORN_WORKER_CLASS="sync", GUNICORN_THREADS="32")
    assert (values["worker_class"], values["threads"]) == ("sync", 1)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEB_CONCURRENCY", "0"),
        ("WEB_CONCURRENCY", "two"),
        ("GUNICORN_THREADS", "-4"),
        ("GUNICORN_THREADS", "16.5"),
        ("GUNICORN_TIMEOUT", "0"),
        ("GUNICORN_TIMEOUT", "30s"),
        ("GUNICORN_GRACEFUL_TIMEOUT", "2.5"),
        ("GUNICORN_KEEPALIVE", "-1"),
        ("GUNICORN_WORKER_CLASS", "gevent"),
        ("GUNICORN_LOG_LEVEL", "verbose"),
    ],
)
def test_a_bad_value_stops_gunicorn_naming_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        load(monkeypatch, **{name: value})


def test_gunicorn_itself_reads_the_file() -> None:
    """The command the Dockerfile runs, with --print-config: the file's values are the ones gunicorn resolves."""
    environ = {
        "PATH": "/usr/bin:/bin",
        "GUNICORN_THREADS": "20",
        "WEB_CONCURRENCY": "3",
        # --print-config imports the application: the settings want these.
        "DJANGO_SECRET_KEY": "test-only-" + "x" * 50,
        "SMS_BACKEND": "sms.backends.locmem.SmsBackend",
    }
    command = [sys.executable, "-m", "gunicorn", "-c", str(CONF), "--print-config", "waterbill.wsgi:application"]
    printed = subprocess.run(  # noqa: S603 -- this interpreter with a fixed argument list
        command, env=environ, capture_output=True, text=True, check=True, cwd="/"
    ).stdout
    settings = dict(line.split(" = ", 1) for line in printed.splitlines() if " = " in line)
    assert {name.strip(): value.strip() for name, value in settings.items()}.items() >= {
        "threads": "20",
        "workers": "3",
        "worker_class": "gthread",
    }.items()

    refused = subprocess.run(  # noqa: S603 -- likewise
        [*command[:-2], "--check-config", command[-1]],
        env={**environ, "GUNICORN_THREADS": "many"},
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    assert refused.returncode != 0
    assert "GUNICORN_THREADS='many'" in refused.stderr


def test_the_access_log_never_holds_a_query_string() -> None:
    """The receipts' callback secret travels in the query string: gunicorn writes the path only."""
    from types import SimpleNamespace

    from gunicorn.glogging import Logger

    config = Config()
    config.set("access_log_format", ACCESS_LOG_FORMAT)
    request = SimpleNamespace(
        headers=[],
        method="POST",
        path="/api/v1/sms/status/orange/",
        query="secret=s3cr3t",
        version=(1, 1),
        uri="/api/v1/sms/status/orange/?secret=s3cr3t",
    )
    response = SimpleNamespace(status="204 No Content", sent=0, headers=[])
    environ = {
        "REMOTE_ADDR": "127.0.0.1",
        "RAW_URI": request.uri,
        "QUERY_STRING": request.query,
        "REQUEST_METHOD": "POST",
        "PATH_INFO": request.path,
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    atoms = Logger(config).atoms(response, request, environ, SimpleNamespace(seconds=0, microseconds=1000))
    line = ACCESS_LOG_FORMAT % atoms
    assert "/api/v1/sms/status/orange/" in line
    assert "s3cr3t" not in line
