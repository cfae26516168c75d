"""The GSM-7 one-segment rule (sms.gsm): which texts an SMS carries in one 160-character segment."""

from __future__ import annotations

from sms.gsm import fits_one_segment, non_gsm7_characters


def test_gsm7_check_catches_characters_that_force_ucs2() -> None:
    assert non_gsm7_characters("Ça coûte très cher’") == {"û", "’"}
    assert not fits_one_segment("a" * 161)
    assert fits_one_segment("é" * 160)
