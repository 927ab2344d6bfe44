"""Phone numbers: E.164 storage form and the digit strings an operator searches by.

Numbers are stored in E.164 ("+380671234567"). The search index holds every digit string an
operator is likely to start typing for that number (international, national significant
number, national with trunk prefix), so a prefix query on plain digits finds it whichever
way it was dictated.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult
from phonenumbers.phonemetadata import PhoneMetadata

MIN_QUERY_DIGITS = 5
_UKRAINE = 380

_PHONE_QUERY = re.compile(r"[\d\s+\-()]+")
_NON_DIGITS = re.compile(r"\D+")
# Before 2010 Ukrainian long-distance numbers were dialled "8 0XX ..."; callers still say so.
_LEGACY_UA_TRUNK = re.compile(r"\s*8[\s\-(]*0")


def _parse_possible(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        return None
    # Local-only numbers lack an area code, so they have no E.164 form.
    if phonenumbers.is_possible_number_with_reason(number) != ValidationResult.IS_POSSIBLE:
        return None
    return number


def _parse_number(raw: str, default_region: str) -> phonenumbers.PhoneNumber | None:
    number = _parse_possible(raw, default_region)
    if number is None and default_region == "UA" and _LEGACY_UA_TRUNK.match(raw):
        number = _parse_possible(raw.replace("8", "", 1), default_region)
    return number


def has_extension(raw: str, default_region: str = "UA") -> bool:
    """Whether `raw` is a phone number followed by an extension ("доб. 2", "ext. 12")."""
    number = _parse_number(raw, default_region)
    return number is not None and bool(number.extension)


def normalize_phone(raw: str, default_region: str = "UA") -> str | None:
    """Return `raw` in E.164, or None when it cannot be a complete phone number.

    A number with an extension is None too: E.164 has no place for the extension, and the
    number stored without it would not reach the person (see has_extension).
    """
    number = _parse_number(raw, default_region)
    if number is None or number.extension:
        return None
    # Ukraine's numbering plan is known to the digit: a number with a digit missing or one
    # too many can still be "possible" by length, but is not a number anyone answers.
    if number.country_code == _UKRAINE and not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


_E164 = re.compile(r"\+([1-9]\d{0,2})(\d{2,17})")


def _parse_e164(e164: str) -> phonenumbers.PhoneNumber:
    """phonenumbers.parse(e164, None), four times faster for the stored form.

    Importing a transfer file indexes every phone it brings, so this is on a hot path.
    The shortcut builds the number directly when parse could do nothing more than split
    off the country code: no leading zero to keep, and no national prefix to strip.
    """
    match = _E164.fullmatch(e164)
    if match is not None:
        digits = match.group(1) + match.group(2)
        for length in (1, 2, 3):
            code = int(digits[:length])
            if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                national = digits[length:]
                metadata = PhoneMetadata.metadata_for_region_or_calling_code(
                    code, phonenumbers.region_code_for_country_code(code)
                )
                prefix = None if metadata is None else metadata.national_prefix_for_parsing
                if (
                    metadata is not None
                    and 2 <= len(national) <= 17
                    and not national.startswith("0")
                    and (prefix is None or re.match(prefix, national) is None)
                ):
                    return phonenumbers.PhoneNumber(
                        country_code=code, national_number=int(national)
                    )
                break
    return phonenumbers.parse(e164, None)


def phone_search_keys(e164: str) -> list[str]:
    """Return the digit strings to index for an E.164 number, most complete first.

    For "+380671234567": ["380671234567", "671234567", "0671234567"]. The last form uses the
    country's own trunk prefix ("0" in Ukraine, "8" in Russia) and is absent where there is none.
    """
    number = _parse_e164(e164)
    international = f"{number.country_code}{phonenumbers.national_significant_number(number)}"
    national = phonenumbers.national_significant_number(number)
    keys = [international, national]
    region = phonenumbers.region_code_for_number(number)
    metadata = PhoneMetadata.metadata_for_region(region) if region else None
    trunk = metadata.national_prefix if metadata is not None else None
    if trunk and trunk.isdigit():
        keys.append(trunk + national)
    return list(dict.fromkeys(keys))


def query_phone_digits(text: str) -> str | None:
    """Return the digits of a search query that looks like a phone number, else None.

    A query qualifies when it holds only digits, spaces, "+", "-" and parentheses, with at
    least five digits. A leading international "00" is dropped so that the rest matches the
    international search key.
    """
    if not _PHONE_QUERY.fullmatch(text):
        return None
    digits = _NON_DIGITS.sub("", text)
    if len(digits) < MIN_QUERY_DIGITS:
        return None
    if digits.startswith("00") and not text.lstrip().startswith("+"):
        digits = digits[2:]
    return digits
