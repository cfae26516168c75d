"""The GSM 03.38 default alphabet: which texts fit one 160-character SMS segment without UCS-2."""

from __future__ import annotations

# The basic character set (no escape-table characters such as €, [ or {, which cost two septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
SEGMENT_LENGTH = 160
# The escape table: each of these costs two septets (the escape, then the character).
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
# Past one segment, each part carries a 6- or 7-septet header (UDH): 153 GSM-7 characters or 67 UCS-2 units.
CONCATENATED_GSM7 = 153
UCS2_LENGTH = 70
CONCATENATED_UCS2 = 67


def non_gsm7_characters(text: str) -> set[str]:
    """The characters of `text` outside the GSM-7 basic set (each would force the whole SMS into UCS-2)."""
    return set(text) - GSM7_BASIC


def fits_one_segment(text: str) -> bool:
    """True when `text` is GSM-7 basic only and at most 160 characters: one SMS, billed once."""
    return len(text) <= SEGMENT_LENGTH and not non_gsm7_characters(text)


def segments(text: str) -> int:
    """How many SMS segments `text` is billed as: GSM-7 (escape-table characters count twice) when every
    character is in the default alphabet, else UCS-2 (UTF-16 code units). At least 1."""
    if set(text) <= GSM7_BASIC | GSM7_EXTENSION:
        length = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
        single, part = SEGMENT_LENGTH, CONCATENATED_GSM7
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, part = UCS2_LENGTH, CONCATENATED_UCS2
    return 1 if length <= single else -(-length // part)
