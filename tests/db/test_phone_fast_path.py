"""The E.164 shortcut in phone_search_keys gives exactly what phonenumbers.parse gives."""

from __future__ import annotations

import phonenumbers
from hypothesis import example, given, settings
from hypothesis import strategies as st

from db import phones

CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@settings(max_examples=3000, derandomize=True)
@given(st.sampled_from([*CODES, 7, 380, 1, 39, 44, 49]), st.text("0123456789", max_size=16))
@example(39, "0612345678")  # Italy keeps a leading zero
@example(7, "89161234567")  # a Russian trunk prefix written after the country code
@example(380, "0671234567")  # a Ukrainian trunk prefix likewise
@example(54, "91123456789")  # Argentina's national prefix for parsing is a pattern
def test_shortcut_equals_parse(code: int, national: str) -> None:
    text = f"+{code}{national}"
    try:
        expected = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        try:
            phones._parse_e164(text)
        except phonenumbers.NumberParseException:
            return
        raise AssertionError(f"{text} parsed by the shortcut only") from None
    assert phones._parse_e164(text) == expected
