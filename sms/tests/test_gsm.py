"""The GSM-7 one-segment rule (sms.gsm): which texts an SMS carries in one 160-character segment."""

from __future__ import annotations

import pytest

from sms.gsm import fits_one_segment, non_gsm7_characters, segments


def test_gsm7_check_catches_characters_that_force_ucs2() -> None:
    assert non_gsm7_characters("Ça coûte très cher’") == {"û", "’"}
    assert not fits_one_segment("a" * 161)
    assert fits_one_segment("é" * 160)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),  # concatenated: 153 a part
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # escape-table characters cost two septets
        ("€" * 81, 2),
        ("’" * 70, 1),  # one character outside GSM-7: UCS-2, 70 a segment
        ("’" + "a" * 70, 2),
        ("", 1),
    ],
)
def test_segments_counts_what_the_provider_bills(text: str, expected: int) -> None:
    assert segments(text) == expected
