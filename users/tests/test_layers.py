"""The account flows decide and write without HTTP: nothing under users/services/ imports DRF."""

from __future__ import annotations

import ast
from pathlib import Path

import users.services
from sms.tests.test_independence import imported_modules

SERVICES_DIR = Path(users.services.__file__).parent


def test_no_service_module_imports_drf() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in SERVICES_DIR.rglob("*.py")
        for name in imported_modules(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        if name == "rest_framework" or name.startswith(("rest_framework.", "drf_spectacular"))
    }
    assert offenders == set()


def test_every_flow_module_is_checked() -> None:
    # The walk above must see the modules the package docstring names, or it would pass on an empty folder.
    names = {path.stem for path in SERVICES_DIR.glob("*.py")}
    assert {"registration", "activation", "login", "recovery", "delivery", "limits"} <= names
