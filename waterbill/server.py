"""The server's shape, read from the environment: what gunicorn.conf.py applies and the database pool follows."""

from __future__ import annotations

from dataclasses import dataclass

from waterbill.env import env_count, env_list, env_str

# Two processes, as the image always ran: set WEB_CONCURRENCY to the cores the container really gets
# (os.cpu_count() reads the host's, which would open a pool per worker sized for a machine it does not have).
DEFAULT_WORKERS = 2
# Threads per worker. A sign-up waits for the SMS provider while holding its thread (and its transaction):
# by Little's law, in-flight sign-ups = rate x time in the server. The hash ceiling of 2 cores is ~33 sign-ups/s
# through the API (docs/performance.md); with a 1 s provider each takes ~1.05 s, so ~35 are in flight, ~18 per
# worker. 24 leaves ~6 threads per worker for logins and GET /users/me/ while sign-ups saturate the hash ceiling.
DEFAULT_THREADS = 24
# waterbill.tasks' per-process pool: each of its threads may hold a database connection too.
AFTER_RESPONSE_THREADS = 2
WORKER_CLASSES = ("gthread", "sync")
# gunicorn's default access line with the path instead of the request line (`%(r)s`): the delivery-receipt
# callbacks of Africa's Talking and Orange carry our secret in their query string (docs/sms-gateways.md), and a
# log is read by more people than the secret may be.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s"'
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def threads() -> int:
    """GUNICORN_THREADS (default DEFAULT_THREADS). Raises ValueError on anything but a whole number >= 1."""
    return env_count("GUNICORN_THREADS", DEFAULT_THREADS)


@dataclass(frozen=True)
class ServerConfig:
    """gunicorn's settings, named as gunicorn names them (docs/operations.md, "Server configuration")."""

    bind: list[str]
    workers: int
    worker_class: str
    threads: int
    timeout: int
    graceful_timeout: int
    keepalive: int
    accesslog: str | None
    access_log_format: str
    loglevel: str

    @classmethod
    def from_environ(cls) -> ServerConfig:
        """Read the environment; raises ValueError naming the variable when a value is not usable."""
        worker_class = env_str("GUNICORN_WORKER_CLASS", "gthread")
        if worker_class not in WORKER_CLASSES:
            # gevent and the like are not installed, and the pool and the hash semaphore assume threads.
            raise ValueError(f"GUNICORN_WORKER_CLASS={worker_class!r} is not one of {', '.join(WORKER_CLASSES)}")
        loglevel = env_str("GUNICORN_LOG_LEVEL", "info").lower()
        if loglevel not in LOG_LEVELS:
            raise ValueError(f"GUNICORN_LOG_LEVEL={loglevel!r} is not one of {', '.join(LOG_LEVELS)}")
        accesslog = env_str("GUNICORN_ACCESS_LOG", "-")
        return cls(
            bind=env_list("GUNICORN_BIND", ["0.0.0.0:8000"]),  # noqa: S104 -- in a container, for the proxy
            workers=env_count("WEB_CONCURRENCY", DEFAULT_WORKERS),
            worker_class=worker_class,
            # The sync worker serves one request at a time whatever this says: say so rather than pretend.
            threads=threads() if worker_class == "gthread" else 1,
            # Whole seconds: gunicorn takes nothing else.
            timeout=env_count("GUNICORN_TIMEOUT", 30),
            graceful_timeout=env_count("GUNICORN_GRACEFUL_TIMEOUT", 30),
            keepalive=env_count("GUNICORN_KEEPALIVE", 5),
            accesslog=None if accesslog == "off" else accesslog,
            access_log_format=ACCESS_LOG_FORMAT,
            loglevel=loglevel,
        )
