"""The `--days` argument of the purge commands: a whole number of days, at least 1."""

from __future__ import annotations

from argparse import ArgumentTypeError


def positive_days(value: str) -> int:
    """`value` as a number of days. Raises ArgumentTypeError below 1 (argparse shows it), ValueError if not a number."""
    days = int(value)
    if days < 1:
        raise ArgumentTypeError("must be at least 1")
    return days
