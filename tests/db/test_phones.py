from __future__ import annotations

import pytest

from db.phones import has_extension, normalize_phone, phone_search_keys, query_phone_digits


@pytest.mark.parametrize(
    "raw",
    [
        "+380671234567",
        "+38 (067) 123-45-67",
        "+380 67 123 45 67",
        "0671234567",
        "067 123 45 67",
        "(067) 123-45-67",
        "380671234567",
        "00380671234567",
        "8 067 123 45 67",
        "80671234567",
    ],
)
def test_ukrainian_mobile_in_every_dictated_form(raw: str) -> None:
    assert normalize_phone(raw) == "+380671234567"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(044) 123-45-67", "UA", "+380441234567"),
        ("+7 912 345-67-89", "UA", "+79123456789"),
        ("8 912 345 67 89", "RU", "+79123456789"),
        ("+48 601 234 567", "UA", "+48601234567"),
        ("+49 30 123456", "UA", "+4930123456"),
        ("+1 650 253 0000", "UA", "+16502530000"),
        ("+39 06 1234 5678", "UA", "+390612345678"),
    ],
)
def test_other_numbers(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "Іванов",
        "1234",
        "12345",  # a local number without its area code has no E.164 form
        "044 123 45 67 89 01 23",
        "+999 123 456 789",
        "8 912 345 67 89",  # a Russian national number is not Ukrainian
        # A Ukrainian number with a digit missing or one too many, as typed at 4 a.m.
        "067 555 12 3",
        "8 067 555 12 3",
        "067 555 12 345",
        "+380 67 555 12 345",
    ],
)
def test_not_a_possible_number(raw: str) -> None:
    assert normalize_phone(raw) is None


@pytest.mark.parametrize(
    "raw", ["+380 44 123 4567 доб. 2", "044 123 45 67 ext. 12", "(044) 123-45-67 x3"]
)
def test_a_number_with_an_extension_is_not_stored_without_it(raw: str) -> None:
    # E.164 has no place for the extension: stored, the number would ring the switchboard.
    assert normalize_phone(raw) is None
    assert has_extension(raw)


def test_a_plain_number_has_no_extension() -> None:
    assert not has_extension("044 123 45 67")
    assert not has_extension("Іванов")


def test_normalized_number_is_stable() -> None:
    e164 = normalize_phone("067 123 45 67")
    assert e164 is not None
    assert normalize_phone(e164) == e164


@pytest.mark.parametrize(
    ("e164", "keys"),
    [
        ("+380671234567", ["380671234567", "671234567", "0671234567"]),
        ("+380441234567", ["380441234567", "441234567", "0441234567"]),
        ("+79123456789", ["79123456789", "9123456789", "89123456789"]),
        ("+4930123456", ["4930123456", "30123456", "030123456"]),
        # Italy keeps its leading zero in the national number and has no trunk prefix.
        ("+390612345678", ["390612345678", "0612345678"]),
        # In North America the trunk "1" is the country code, so there is nothing to add.
        ("+16502530000", ["16502530000", "6502530000"]),
    ],
)
def test_search_keys(e164: str, keys: list[str]) -> None:
    assert phone_search_keys(e164) == keys


@pytest.mark.parametrize(
    "typed",
    ["+380 67 123", "380671", "067 123 4", "0671234567", "67123", "(067) 12", "8 912 345"],
)
def test_what_an_operator_types_is_a_prefix_of_some_key(typed: str) -> None:
    digits = query_phone_digits(typed)
    assert digits is not None
    keys = phone_search_keys("+380671234567") + phone_search_keys("+79123456789")
    assert any(key.startswith(digits) for key in keys)


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("067 123 45 67", "0671234567"),
        ("+38 (067) 123-45-67", "380671234567"),
        ("00380 67", "38067"),
        ("12345", "12345"),
        (" 0671 ", None),
        ("1234", None),
        ("K7-M4QX-P", None),
        ("Іванов 067 123 45", None),
        ("067.123.45.67", None),
        ("", None),
        ("+-() ", None),
    ],
)
def test_query_phone_digits(text: str, digits: str | None) -> None:
    assert query_phone_digits(text) == digits


def test_search_keys_of_a_normalized_number_round_trip() -> None:
    e164 = normalize_phone("0671234567")
    assert e164 is not None
    for key in phone_search_keys(e164):
        assert normalize_phone(key) == e164
