"""The signed token on handoff sheets: round trip, tampering, foreign keys."""

from __future__ import annotations

import hashlib
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from desktop.sheet_token import (
    TOKEN_PREFIX,
    SheetClaims,
    SheetTokenError,
    make_sheet_token,
    verify_sheet_token,
)

SITE_ID = "9a1c0d6e5b4f4a3b8c7d6e5f4a3b2c1d"
CASE_ID = "3f2b9c1e-8d4a-4f6b-9c2d-1a2b3c4d5e6f"
DIGEST = hashlib.sha256(b"sheet content").digest()
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@pytest.fixture(scope="module")
def site_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _token(key: Ed25519PrivateKey, **overrides: str) -> str:
    fields = {
        "site_id": SITE_ID,
        "case_id": CASE_ID,
        "reference": "K7M-4PQ-X",
        "serial": "HS-000123",
    }
    fields.update(overrides)
    return make_sheet_token(content_digest=DIGEST, signing_key=key, **fields)


def test_round_trip_gives_back_every_claim(site_key: Ed25519PrivateKey) -> None:
    token = _token(site_key)
    claims = verify_sheet_token(token, {SITE_ID: site_key.public_key()})
    assert claims == SheetClaims(1, SITE_ID, CASE_ID, "K7M-4PQ-X", "HS-000123", DIGEST)


@pytest.mark.parametrize(
    ("site_id", "case_id"),
    [
        ("site-kyiv-1", "case 17"),
        ("ПУНКТ-1", "c-0001"),
        (SITE_ID.upper(), CASE_ID.upper()),  # not canonical UUID text: kept as written
        ("3F2B9C1E8D4A4F6B9C2D1A2B3C4D5E6F", "3f2b9c1e8d4a4f6b9c2d1a2b3c4d5e6f"),
    ],
)
def test_ids_of_any_form_come_back_exactly(
    site_key: Ed25519PrivateKey, site_id: str, case_id: str
) -> None:
    token = _token(site_key, site_id=site_id, case_id=case_id)
    claims = verify_sheet_token(token, {site_id: site_key.public_key()})
    assert (claims.site_id, claims.case_id) == (site_id, case_id)


def test_token_suits_a_small_alphanumeric_qr_code(site_key: Ed25519PrivateKey) -> None:
    token = _token(site_key)
    # QR alphanumeric mode: digits, upper case and " $%*+-./:" only.
    assert re.fullmatch(r"[0-9A-Z $%*+\-./:]+", token)
    assert token.startswith(TOKEN_PREFIX)
    assert len(token) <= 255  # fits a version 9 code at error correction M


def test_any_altered_character_is_refused(site_key: Ed25519PrivateKey) -> None:
    token = _token(site_key)
    trusted = {SITE_ID: site_key.public_key()}
    for index, character in enumerate(token):
        alphabet = BASE32 if index >= len(TOKEN_PREFIX) else "HAVEN2.X"
        replacement = next(c for c in alphabet if c != character)
        altered = token[:index] + replacement + token[index + 1 :]
        with pytest.raises(SheetTokenError):
            verify_sheet_token(altered, trusted)


def test_token_from_an_unknown_site_is_refused_as_foreign(site_key: Ed25519PrivateKey) -> None:
    stranger = Ed25519PrivateKey.generate()
    token = _token(stranger, site_id="site-elsewhere")
    with pytest.raises(SheetTokenError, match="unknown site 'site-elsewhere'"):
        verify_sheet_token(token, {SITE_ID: site_key.public_key()})


def test_token_signed_by_another_key_for_a_trusted_site_is_refused(
    site_key: Ed25519PrivateKey,
) -> None:
    forger = Ed25519PrivateKey.generate()
    with pytest.raises(SheetTokenError, match="does not match the key of site"):
        verify_sheet_token(_token(forger), {SITE_ID: site_key.public_key()})


@pytest.mark.parametrize(
    "token",
    [
        "",
        "HAVEN1.",
        "HAVEN1.AAAA",
        "HAVEN0.AEBAGBAF",
        "https://example.org/",
        "haven1.aebagbaf",
        "HAVEN1.AEBAGBAF====",
        "HAVEN1." + "A" * 200,
    ],
)
def test_malformed_tokens_are_refused_with_one_line(
    site_key: Ed25519PrivateKey, token: str
) -> None:
    with pytest.raises(SheetTokenError) as caught:
        verify_sheet_token(token, {SITE_ID: site_key.public_key()})
    assert "\n" not in str(caught.value)
    assert str(caught.value)


def test_truncated_token_is_refused(site_key: Ed25519PrivateKey) -> None:
    token = _token(site_key)
    for cut in (1, 8, 60, len(token) - len(TOKEN_PREFIX) - 1):
        with pytest.raises(SheetTokenError):
            verify_sheet_token(token[:-cut], {SITE_ID: site_key.public_key()})


def test_surrounding_whitespace_from_a_scanner_is_tolerated(site_key: Ed25519PrivateKey) -> None:
    token = _token(site_key)
    assert verify_sheet_token(f" {token}\n", {SITE_ID: site_key.public_key()}).serial == (
        "HS-000123"
    )


def test_a_token_typed_in_lower_case_by_a_scanner_is_the_same(
    site_key: Ed25519PrivateKey,
) -> None:
    token = _token(site_key)
    trusted = {SITE_ID: site_key.public_key()}
    assert verify_sheet_token(token.lower(), trusted) == verify_sheet_token(token, trusted)


def test_making_a_token_rejects_a_wrong_digest_or_oversized_field(
    site_key: Ed25519PrivateKey,
) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        make_sheet_token(
            site_id=SITE_ID,
            case_id=CASE_ID,
            reference="R",
            serial="S",
            content_digest=b"short",
            signing_key=site_key,
        )
    with pytest.raises(ValueError, match="longer than"):
        _token(site_key, reference="R" * 200)
