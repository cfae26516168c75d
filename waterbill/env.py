"""Reading configuration from the process environment (and, for local development, a `.env` file)."""

from __future__ import annotations

import os
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def load_dotenv(path: Path) -> None:
    """Copy `KEY=VALUE` lines of `path` into `os.environ`, never overriding a variable already set.

    Only `manage.py` calls this, so that `runserver` and `createsuperuser` pick up the developer's `.env`;
    production (gunicorn) and the test suite read the real environment only. Blank lines and `#` comments
    are skipped; one pair of surrounding quotes is stripped from a value.
    """
    if not path.is_file():
        return
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        os.environ.setdefault(key, value)


def env_str(name: str, default: str = "") -> str:
    """The variable's value stripped of surrounding whitespace, or `default` when unset or empty."""
    return os.environ.get(name, "").strip() or default


def env_bool(name: str, default: bool = False) -> bool:
    """A boolean variable (`1/true/yes/on` or `0/false/no/off`). Raises ValueError on anything else."""
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int) -> int:
    """An integer variable, or `default` when unset or empty. Raises ValueError when it is not an integer."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """A comma-separated variable as a list of non-empty, stripped items; `default` when unset or empty."""
    items = [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]
    return items or list(default or [])


def env_limit(name: str, default: str) -> tuple[int, int]:
    """A limit written `COUNT/SECONDS` (e.g. `5/300`: five per five minutes) as (count, seconds).

    Spelled in plain seconds on purpose: DRF's rate strings read only the first letter of the period,
    so "1/30s" would silently mean one per second. Raises ValueError on anything else.
    """
    value = os.environ.get(name, "").strip() or default
    count, sep, seconds = value.partition("/")
    if not sep or not count.strip().isdigit() or not seconds.strip().isdigit() or int(seconds) <= 0:
        raise ValueError(f"{name}={value!r} is not COUNT/SECONDS (e.g. 5/300)")
    return int(count), int(seconds)


_PERIODS = {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate `COUNT/PERIOD` with PERIOD one of second, minute, hour, day (or s, m, h, d).

    DRF reads only the period's first letter, so "5/30s" would mean five per second: such values are
    refused rather than silently misread. Raises ValueError.
    """
    value = os.environ.get(name, "").strip() or default
    count, sep, period = value.partition("/")
    if not sep or not count.strip().isdigit() or period.strip() not in _PERIODS:
        raise ValueError(f"{name}={value!r} is not COUNT/PERIOD with PERIOD in second, minute, hour, day")
    return value


def env_count(name: str, default: int, minimum: int = 1) -> int:
    """A whole number of at least `minimum` (a worker, thread or connection count), or `default` when unset.

    Raises ValueError naming the variable on anything else: a typo must stop the process, not run it on a
    guessed size.
    """
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < minimum:
        raise ValueError(f"{name}={value!r} is not a whole number of at least {minimum}")
    return int(value)


def env_seconds(name: str, default: float) -> float:
    """A positive duration in seconds (`30`, `2.5`), or `default` when unset. Raises ValueError otherwise."""
    seconds = _env_float(name, default)
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"{name}={os.environ[name].strip()!r} is not a positive number of seconds")
    return seconds


def env_ratio(name: str, default: float) -> float:
    """A share from 0 to 1 (`0.5`), or `default` when unset. Raises ValueError naming the variable otherwise."""
    ratio = _env_float(name, default)
    if not 0 <= ratio <= 1:
        raise ValueError(f"{name}={os.environ[name].strip()!r} is not a share from 0 to 1 (e.g. 0.5)")
    return ratio


def _env_float(name: str, default: float) -> float:
    """The variable as a float (NaN when it is not a number: every range check refuses it), or `default`."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        return float("nan")
