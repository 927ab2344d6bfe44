"""The signed token a handoff sheet carries in its QR code.

A receiving unit, or `haven-admin sheet verify`, checks offline that a sheet was
issued by a known site and names the case, reference, serial and content it
claims. The token is meant for paper: a fixed binary layout, an Ed25519
signature, and unpadded upper-case base32, which QR codes store in their dense
alphanumeric mode.

Layout (all inside the base32 part, after the ``HAVEN1.`` prefix)::

    version      1 byte
    site_id      field
    case_id      field
    reference    field
    serial       field
    digest       32 bytes, SHA-256 of the sheet's content
    signature    64 bytes, Ed25519 over SIGNING_CONTEXT + everything above

A field is one tag byte then its value: tags 0x00-0x7f give the length of a
UTF-8 string that follows; UUIDs, the likely form of site and case ids, take
16 bytes instead of 32 or 36 characters (tag 0x80: 32 hex digits,
0x81: the hyphenated form), so the QR code stays small.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

TOKEN_PREFIX = "HAVEN1."  # noqa: S105 - a format marker, not a secret
TOKEN_VERSION = 1
DIGEST_SIZE = 32
SIGNATURE_SIZE = 64
# Bound to the signature so that a site key's signature over some other kind
# of data can never pass for a sheet token.
SIGNING_CONTEXT = b"haven-sheet-token-v1\x00"

_MAX_TEXT_FIELD = 0x7F
_TAG_UUID_HEX = 0x80
_TAG_UUID_HYPHENATED = 0x81
_UUID_HEX = re.compile(r"[0-9a-f]{32}")
_UUID_HYPHENATED = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_BASE32_TEXT = re.compile(r"[A-Z2-7]+")


class SheetTokenError(ValueError):
    """A sheet token that is malformed, altered, or from a site we do not trust."""


class UnknownSigner(SheetTokenError):
    """A well-formed token that names a site whose key is not among the trusted ones."""

    def __init__(self, site_id: str) -> None:
        super().__init__(f"sheet token comes from unknown site {site_id!r}: not a trusted peer")
        self.site_id = site_id


@dataclass(frozen=True, slots=True)
class SheetClaims:
    """What a verified sheet token vouches for."""

    version: int
    site_id: str
    case_id: str
    reference: str
    serial: str
    content_digest: bytes


def make_sheet_token(
    *,
    site_id: str,
    case_id: str,
    reference: str,
    serial: str,
    content_digest: bytes,
    signing_key: Ed25519PrivateKey,
) -> str:
    """Sign the sheet's claims with the site key and encode them for a QR code."""
    if len(content_digest) != DIGEST_SIZE:
        raise ValueError(f"content digest must be {DIGEST_SIZE} bytes, not {len(content_digest)}")
    payload = bytes([TOKEN_VERSION]) + b"".join(
        _encode_field(value) for value in (site_id, case_id, reference, serial)
    )
    payload += content_digest
    signature = signing_key.sign(SIGNING_CONTEXT + payload)
    return TOKEN_PREFIX + base64.b32encode(payload + signature).decode("ascii").rstrip("=")


def verify_sheet_token(token: str, trusted_keys: Mapping[str, Ed25519PublicKey]) -> SheetClaims:
    """Check a token against the signing keys of trusted sites, keyed by site id.

    Raises SheetTokenError when the token is malformed, altered, or names a site
    that is not in ``trusted_keys``.
    """
    # A scanner set to lower case (or with Caps Lock on) types the same base32 letters.
    raw = _decode_text(token.strip().upper())
    if len(raw) < 1 + SIGNATURE_SIZE:
        raise SheetTokenError("sheet token is too short")
    payload, signature = raw[:-SIGNATURE_SIZE], raw[-SIGNATURE_SIZE:]
    claims = _parse_payload(payload)
    public_key = trusted_keys.get(claims.site_id)
    if public_key is None:
        raise UnknownSigner(claims.site_id)
    try:
        public_key.verify(signature, SIGNING_CONTEXT + payload)
    except InvalidSignature:
        raise SheetTokenError(
            f"sheet token signature does not match the key of site {claims.site_id!r}: "
            "altered or forged"
        ) from None
    return claims


def _encode_field(value: str) -> bytes:
    if _UUID_HEX.fullmatch(value):
        return bytes([_TAG_UUID_HEX]) + bytes.fromhex(value)
    if _UUID_HYPHENATED.fullmatch(value):
        return bytes([_TAG_UUID_HYPHENATED]) + uuid.UUID(value).bytes
    encoded = value.encode("utf-8")
    if len(encoded) > _MAX_TEXT_FIELD:
        raise ValueError(f"sheet token field longer than {_MAX_TEXT_FIELD} bytes: {value[:20]!r}…")
    return bytes([len(encoded)]) + encoded


def _decode_text(token: str) -> bytes:
    if not token.startswith(TOKEN_PREFIX):
        raise SheetTokenError(f"not a Haven sheet token (expected it to start with {TOKEN_PREFIX})")
    body = token[len(TOKEN_PREFIX) :]
    if not _BASE32_TEXT.fullmatch(body):
        raise SheetTokenError("sheet token holds characters outside base32")
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except binascii.Error:
        raise SheetTokenError("sheet token is not valid base32") from None
    # base32 leaves spare bits in the last character; insisting on the one
    # canonical spelling means no altered character can slip through unnoticed.
    if base64.b32encode(raw).decode("ascii").rstrip("=") != body:
        raise SheetTokenError("sheet token is not in canonical form: altered")
    return raw


def _parse_payload(payload: bytes) -> SheetClaims:
    version = payload[0]
    if version != TOKEN_VERSION:
        raise SheetTokenError(f"sheet token version {version} is not supported")
    position = 1
    values: list[str] = []
    for _ in range(4):
        value, position = _decode_field(payload, position)
        values.append(value)
    digest = payload[position:]
    if len(digest) != DIGEST_SIZE:
        raise SheetTokenError("sheet token has a malformed content digest")
    site_id, case_id, reference, serial = values
    return SheetClaims(version, site_id, case_id, reference, serial, digest)


def _decode_field(payload: bytes, position: int) -> tuple[str, int]:
    if position >= len(payload):
        raise SheetTokenError("sheet token is truncated")
    tag = payload[position]
    position += 1
    if tag in (_TAG_UUID_HEX, _TAG_UUID_HYPHENATED):
        size = 16
    elif tag <= _MAX_TEXT_FIELD:
        size = tag
    else:
        raise SheetTokenError("sheet token has a malformed field")
    chunk = payload[position : position + size]
    if len(chunk) != size:
        raise SheetTokenError("sheet token is truncated")
    position += size
    if tag == _TAG_UUID_HEX:
        return chunk.hex(), position
    if tag == _TAG_UUID_HYPHENATED:
        return str(uuid.UUID(bytes=chunk)), position
    try:
        return chunk.decode("utf-8"), position
    except UnicodeDecodeError:
        raise SheetTokenError("sheet token has a field that is not UTF-8") from None
