"""Domain errors: what a service refuses, with the HTTP status and stable code the API answers with.

Services raise these; they never import DRF. `waterbill.exception_handler` renders them in DRF's own
shapes. Every domain error is a ValueError, so callers outside HTTP (the admin, scripts, the seed's
tests) can catch them with `except ValueError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Message = str | Promise


class DomainError(ValueError):
    """A refusal with a human message, a stable `code` and an HTTP `status_code`.

    `field` names the input field at fault (rendered as a field error), or is None for a refusal of the
    request as a whole (rendered as `{"detail", "code"}`). `retry_after` (seconds) becomes a
    `Retry-After` header.
    """

    status_code: int = 400
    default_code: str = "invalid"
    default_detail: Message = _("Invalid request.")
    field: str | None = None

    def __init__(
        self,
        detail: Message | None = None,
        *,
        code: str | None = None,
        field: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.detail: Message = detail if detail is not None else self.default_detail
        self.code: str = code or self.default_code
        if field is not None:
            self.field = field
        self.retry_after = retry_after
        super().__init__(self.detail)

    def __str__(self) -> str:
        # Resolved at display time, in the language active then (a lazy message stays lazy until here).
        return str(self.detail)


class ValidationFailed(DomainError):
    """Several invalid fields at once: `errors` maps each field to its `(message, code)` pairs."""

    default_code = "invalid"
    default_detail = _("Invalid input.")

    def __init__(self, errors: Mapping[str, Sequence[tuple[Message, str]]]) -> None:
        self.errors = {field: list(items) for field, items in errors.items()}
        first_field, first_items = next(iter(self.errors.items()))
        message, code = first_items[0]
        super().__init__(message, code=code, field=first_field)
