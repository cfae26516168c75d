"""`manage.py test` runs the pytest suite, so both commands run the same tests with the same fixtures."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest


def label_to_node_id(label: str) -> str:
    """Turn a Django test label (`users.tests.test_x.SomeTestCase.test_y`) into a pytest node id.

    Paths and node ids pass through. The longest dotted prefix naming a module file or a package
    directory (relative to the current directory) becomes its path; the remaining parts (class, method)
    are joined with `::`. Nothing is imported, so pytest can still rewrite the test modules' asserts.
    """
    if "/" in label or "::" in label or Path(label).exists():
        return label
    parts = label.split(".")
    for cut in range(len(parts), 0, -1):
        base = Path(*parts[:cut])
        if base.with_suffix(".py").is_file():
            return "::".join([str(base.with_suffix(".py")), *parts[cut:]])
        if cut == len(parts) and base.is_dir():
            return str(base)
    return label


_VERBOSITY_FLAGS = ("-v", "--verbosity")


def expand_bare_verbosity(args: Sequence[str]) -> list[str]:
    """The arguments of `manage.py test` with each bare `-v`/`--verbosity` turned into `-v 2`/`--verbosity 2`.

    A flag is bare when the next argument is missing or not a number: `test LABEL -v` and `test -v LABEL`
    mean "verbose" as they do for pytest. A flag followed by a number (`-v 0`, `--verbosity 3`, even an
    out-of-range `-v 7`, which Django then refuses), the joined spellings (`-v2`, `--verbosity=3`) and
    everything after `--` are left as they are. Never raises; returns a new list.
    """
    expanded: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return expanded + list(args[i:])
        expanded.append(arg)
        following = args[i + 1] if i + 1 < len(args) else ""
        # isdecimal() is what int() accepts, so Django's own parser judges every number.
        if arg in _VERBOSITY_FLAGS and not following.isdecimal():
            expanded.append("2")
    return expanded


class PytestTestRunner:
    """A Django TEST_RUNNER that delegates to pytest (the pytest-django recipe), in the same process."""

    def __init__(
        self, verbosity: int = 1, failfast: bool = False, keepdb: bool = False, keyword: str = "", **_: Any
    ) -> None:
        self.verbosity = verbosity
        self.failfast = failfast
        self.keepdb = keepdb
        self.keyword = keyword

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """The options of Django's runner that have a pytest equivalent."""
        parser.add_argument("--keepdb", action="store_true", help="Reuse the test database (pytest --reuse-db).")
        parser.add_argument("-k", dest="keyword", default="", help="Only tests matching this pytest expression.")

    def run_tests(self, test_labels: list[str], **_: Any) -> int:
        """Run pytest on the labels (all of `testpaths` when none); returns pytest's exit code."""
        argv: list[str] = []
        if self.verbosity == 0:
            argv.append("--quiet")
        elif self.verbosity > 1:
            argv.append("-" + "v" * (self.verbosity - 1))
        if self.failfast:
            argv.append("--exitfirst")
        if self.keepdb:
            argv.append("--reuse-db")
        if self.keyword:
            argv += ["-k", self.keyword]
        argv += [label_to_node_id(label) for label in test_labels]
        return int(pytest.main(argv))
