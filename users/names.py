"""The rule for a person's name, in one place: the model fields, the admin's forms and the API apply it."""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

#: Unicode categories a name may not contain: controls (NUL, newlines, escapes), format characters (bidi
#: overrides such as U+202E, zero-width ones), line and paragraph separators, lone surrogates, private-use and
#: unassigned code points. Each can make a name display as something else in the admin or in an SMS.
FORBIDDEN_NAME_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
#: Letters and symbols that draw nothing: a name made of them looks blank, or like another name.
INVISIBLE_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
#: More combining marks in a row than any real name needs stack into unreadable ("Zalgo") text.
MAX_COMBINING_MARKS = 3


def validate_name(value: str) -> None:
    """A person's name: none of FORBIDDEN_NAME_CATEGORIES or INVISIBLE_CHARACTERS, and at most
    MAX_COMBINING_MARKS combining marks in a row.

    Raises django.core.exceptions.ValidationError with code `invalid_characters`.
    """
    marks = 0
    for char in value:
        marks = marks + 1 if unicodedata.category(char) in {"Mn", "Me"} else 0
        if unicodedata.category(char) in FORBIDDEN_NAME_CATEGORIES or char in INVISIBLE_CHARACTERS or (
            marks > MAX_COMBINING_MARKS
        ):
            raise ValidationError(_("This name contains characters that are not allowed."), code="invalid_characters")
