"""The sms app is a pure transport: nothing under sms/ imports the users app (the texts come by setting)."""

from __future__ import annotations

import ast
from pathlib import Path

import sms

SMS_DIR = Path(sms.__file__).parent


def imported_modules(tree: ast.AST) -> list[str]:
    """Every absolute module an `import` or `from ... import` statement of `tree` names (relative ones stay
    inside sms)."""
    names: list[str] = []
    for node in ast.walk(tree):  # walk, not the top level: imports inside functions and TYPE_CHECKING count too
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_no_module_under_sms_imports_users() -> None:
    offenders = {
        f"{path.relative_to(SMS_DIR.parent)}: {name}"
        for path in SMS_DIR.rglob("*.py")
        for name in imported_modules(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        if name == "users" or name.startswith("users.")
    }
    assert offenders == set()


def test_the_import_walk_sees_both_import_forms() -> None:
    # Guards the test above against passing vacuously: both spellings are recognised, even nested.
    tree = ast.parse("import users.phone\ndef f():\n    from users import texts\nfrom . import gsm\n")
    assert imported_modules(tree) == ["users.phone", "users"]
