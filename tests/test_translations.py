"""The French and English catalogs are complete and their compiled .mo files match the .po sources."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_message_is_translated(language: str) -> None:
    po = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    missing = [entry.msgid for entry in po if not entry.obsolete and (not entry.translated() or "fuzzy" in entry.flags)]
    assert not missing, f"untranslated in {language}: {missing}"


@pytest.mark.parametrize("language", ["fr", "en"])
def test_compiled_catalog_matches_its_source(language: str) -> None:
    folder = LOCALE / language / "LC_MESSAGES"
    po = polib.pofile(str(folder / "django.po"))
    mo = polib.mofile(str(folder / "django.mo"))

    def entries(catalog: polib._BaseFile) -> set[tuple[str, str]]:
        return {
            (entry.msgid, entry.msgstr or repr(sorted(entry.msgstr_plural.items())))
            for entry in catalog
            if entry.msgid and not entry.obsolete
        }

    assert entries(po) == entries(mo), "run `manage.py compilemessages --ignore=.venv` and commit the .mo files"


GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"}


def source_messages() -> set[str]:
    """Every literal msgid passed to a gettext function in the project's own code."""
    import ast

    found: set[str] = set()
    for app in ("waterbill", "users", "sms"):
        for path in (Path(settings.BASE_DIR) / app).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in GETTEXT_NAMES
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    found.add(node.args[0].value)
    return found


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_message_in_the_code_is_in_the_catalog(language: str) -> None:
    catalog = {entry.msgid for entry in polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))}
    missing = source_messages() - catalog
    assert not missing, f"run makemessages (see docs/operations.md); missing in {language}: {sorted(missing)}"
