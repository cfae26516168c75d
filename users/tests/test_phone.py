"""Phone parsing: every accepted spelling gives one E.164 number; the refusals each have their code."""

from __future__ import annotations

import pytest

from users.phone import InvalidPhoneNumber, mask_phone, normalize_phone


@pytest.mark.parametrize(
    "raw", ["670123456", "+237 6 70 12 34 56", "00237670123456", "+237670123456", " 6-70-12-34-56 "]
)
def test_accepted_spellings_give_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+237670123456"


@pytest.mark.parametrize("raw", ["", "   ", "12", "6701234567", "abc", "+", "6" * 40, "+237 1 23"])
def test_invalid_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_phone(raw)
    assert caught.value.code == "phone_invalid"
    assert caught.value.field == "phone"


def test_numbers_of_other_regions_are_refused() -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_phone("+33612345678")
    assert caught.value.code == "phone_region_not_allowed"


def test_allowed_regions_come_from_settings(settings: object) -> None:
    settings.PHONE_ALLOWED_REGIONS = ["CM", "FR"]  # type: ignore[attr-defined]
    assert normalize_phone("+33612345678") == "+33612345678"


def test_default_region_comes_from_settings(settings: object) -> None:
    settings.PHONE_DEFAULT_REGION = "FR"  # type: ignore[attr-defined]
    settings.PHONE_ALLOWED_REGIONS = ["FR"]  # type: ignore[attr-defined]
    assert normalize_phone("06 12 34 56 78") == "+33612345678"


def test_fixed_lines_cannot_receive_sms() -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_phone("222123456")  # a Yaoundé landline
    assert caught.value.code == "phone_not_mobile"


def test_non_strings_are_refused() -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(670123456)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("phone", "masked"), [("+237670123456", "+237******456"), ("+33612345678", "+33******678"), ("", "")]
)
def test_mask_keeps_country_code_and_last_three_digits(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked
