"""The GSM 03.38 default alphabet: which texts fit one 160-character SMS segment without UCS-2."""

from __future__ import annotations

# The basic character set (no escape-table characters such as €, [ or {, which cost two septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
SEGMENT_LENGTH = 160


def non_gsm7_characters(text: str) -> set[str]:
    """The characters of `text` outside the GSM-7 basic set (each would force the whole SMS into UCS-2)."""
    return set(text) - GSM7_BASIC


def fits_one_segment(text: str) -> bool:
    """True when `text` is GSM-7 basic only and at most 160 characters: one SMS, billed once."""
    return len(text) <= SEGMENT_LENGTH and not non_gsm7_characters(text)
