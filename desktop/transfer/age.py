"""age v1 file encryption (https://age-encryption.org/v1, C2SP age spec).

Built on pyca/cryptography primitives. Supports X25519 recipients and identities
(``age1...`` / ``AGE-SECRET-KEY-1...``), passphrase (scrypt) recipients, ASCII
armor, and the STREAM payload. Encryption and decryption stream in 64 KiB chunks,
so memory use does not depend on the size of the file.

Decryption is strict: any deviation from the canonical encoding is rejected with a
subclass of :class:`AgeError`. The stream API writes each 64 KiB chunk once it is
authenticated, so a :class:`PayloadError` can follow genuine but incomplete plaintext;
use :func:`decrypt_to_path` (or :func:`decrypt`) to get all of it or nothing.
"""

from __future__ import annotations

import binascii
import contextlib
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

__all__ = [
    "DEFAULT_SCRYPT_WORK_FACTOR",
    "MAX_SCRYPT_WORK_FACTOR",
    "AgeError",
    "ArmorError",
    "BinaryReader",
    "BinaryWriter",
    "HMACError",
    "HeaderError",
    "Identity",
    "NoIdentityMatch",
    "PayloadError",
    "Recipient",
    "ScryptIdentity",
    "ScryptRecipient",
    "X25519Identity",
    "X25519Recipient",
    "decrypt",
    "decrypt_stream",
    "decrypt_to_path",
    "encrypt",
    "encrypt_stream",
    "generate_identity",
    "parse_identities",
]

DEFAULT_SCRYPT_WORK_FACTOR = 18
# The reference implementation's limit; 2**22 with r=8 already needs 4 GiB.
MAX_SCRYPT_WORK_FACTOR = 22

_VERSION_PREFIX = b"age-encryption.org/"
_VERSION_LINE = b"age-encryption.org/v1\n"
_FILE_KEY_SIZE = 16
_CHUNK_SIZE = 64 * 1024
_TAG_SIZE = 16
_CHUNK_CIPHERTEXT_SIZE = _CHUNK_SIZE + _TAG_SIZE
_ZERO_NONCE = bytes(12)
_X25519_LABEL = b"age-encryption.org/v1/X25519"
_SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
_X25519_HRP = "age"
_IDENTITY_HRP = "AGE-SECRET-KEY-"
_BODY_COLUMNS = 64
# Bounds on what a hostile header can make us buffer; real headers are a few KiB.
_MAX_HEADER_LINE = 64 * 1024
_MAX_HEADER_SIZE = 4 * 1024 * 1024
_READ_SIZE = 256 * 1024

_ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
_ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"
_ARMOR_COLUMNS = 64
_ARMOR_WHITESPACE = b" \t\r\n"
# Longest line the armor decoder buffers: a data line or the END marker, plus slack for
# the whitespace allowed after it.
_MAX_ARMOR_LINE = 1024
_ARMOR_READ_SIZE = 64 * 1024

_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/]*")
_STANZA_ARGUMENT = re.compile(rb"[\x21-\x7e]+")
_WORK_FACTOR = re.compile(r"[1-9][0-9]?")


class AgeError(Exception):
    """Base class for every age decryption failure."""


class HeaderError(AgeError):
    """The header is malformed, truncated, or uses something this implementation refuses."""


class WorkFactorRefused(HeaderError):
    """An scrypt stanza asks for more work than the identity allows."""


class NoIdentityMatch(AgeError):
    """None of the given identities can unwrap the file key."""


class HMACError(AgeError):
    """The header MAC does not match: the header was altered."""


class PayloadError(AgeError):
    """The encrypted payload is truncated, altered, or has trailing data."""


class ArmorError(AgeError):
    """The ASCII armor is not the strict encoding the spec requires."""


class BinaryReader(Protocol):
    """Anything with a binary ``read(size)``, such as an open file or ``io.BytesIO``."""

    def read(self, size: int = -1, /) -> bytes:
        """Return up to ``size`` bytes; an empty result means end of file."""
        ...


class BinaryWriter(Protocol):
    """Anything with a binary ``write(data)``."""

    def write(self, data: bytes, /) -> int | None:
        """Write all of ``data``."""
        ...


# --- Bech32 (BIP 173, without its length limit) -------------------------------------

_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _bech32_polymod(values: Iterable[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = ((checksum & 0x1FFFFFF) << 5) ^ value
        for bit, generator in enumerate(_BECH32_GENERATOR):
            if (top >> bit) & 1:
                checksum ^= generator
    return checksum


def _bech32_hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: Iterable[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    accumulator = 0
    bits = 0
    out: list[int] = []
    mask = (1 << to_bits) - 1
    for value in data:
        accumulator = (accumulator << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((accumulator >> bits) & mask)
        accumulator &= (1 << bits) - 1
    if pad:
        if bits:
            out.append((accumulator << (to_bits - bits)) & mask)
    elif bits >= from_bits or accumulator:
        raise ValueError("Bech32 data has invalid padding")
    return out


def _bech32_encode(hrp: str, data: bytes) -> str:
    hrp = hrp.lower()
    values = _convert_bits(data, 8, 5, pad=True)
    polymod = _bech32_polymod([*_bech32_hrp_expand(hrp), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> (5 * (5 - i))) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32_CHARSET[v] for v in values + checksum)


def _bech32_decode(text: str) -> tuple[str, bytes]:
    if text != text.lower() and text != text.upper():
        raise ValueError("Bech32 string mixes upper and lower case")
    text = text.lower()
    separator = text.rfind("1")
    if separator < 1 or separator + 7 > len(text):
        raise ValueError("Bech32 string has no valid separator")
    hrp = text[:separator]
    if any(not 33 <= ord(c) <= 126 for c in hrp):
        raise ValueError("Bech32 prefix has invalid characters")
    try:
        values = [_BECH32_CHARSET.index(c) for c in text[separator + 1 :]]
    except ValueError:
        raise ValueError("Bech32 data has invalid characters") from None
    if _bech32_polymod(_bech32_hrp_expand(hrp) + values) != 1:
        raise ValueError("Bech32 checksum is wrong")
    return hrp, bytes(_convert_bits(values[:-6], 5, 8, pad=False))


# --- Primitives -----------------------------------------------------------------------


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def _header_mac(file_key: bytes, header: bytes) -> hmac.HMAC:
    mac = hmac.HMAC(_hkdf(file_key, b"", b"header"), hashes.SHA256())
    mac.update(header)
    return mac


def _chunk_nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _b64encode_raw(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=")


def _b64decode_raw(text: bytes, what: str) -> bytes:
    """Decode canonical unpadded base64, raising HeaderError otherwise."""
    if not _BASE64_TEXT.fullmatch(text) or len(text) % 4 == 1:
        raise HeaderError(f"{what} is not unpadded base64")
    try:
        decoded = binascii.a2b_base64(text + b"=" * (-len(text) % 4), strict_mode=True)
    except binascii.Error as exc:
        raise HeaderError(f"{what} is not valid base64") from exc
    # Non-zero unused bits would let one value have several encodings.
    if _b64encode_raw(decoded) != text:
        raise HeaderError(f"{what} is not canonical base64")
    return decoded


def _read_full(reader: BinaryReader, size: int) -> bytes:
    """Read exactly ``size`` bytes, or fewer only at end of file."""
    data = reader.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    remaining = size - len(data)
    while remaining:
        more = reader.read(remaining)
        if not more:
            break
        parts.append(more)
        remaining -= len(more)
    return b"".join(parts)


# --- Recipients and identities ----------------------------------------------------------


@dataclass(frozen=True)
class _Stanza:
    args: tuple[str, ...]
    body: bytes

    def encode(self) -> bytes:
        lines = [b"-> " + " ".join(self.args).encode("ascii")]
        encoded = _b64encode_raw(self.body)
        lines += [encoded[i : i + _BODY_COLUMNS] for i in range(0, len(encoded), _BODY_COLUMNS)]
        # The body always ends with a line shorter than 64 columns, possibly empty.
        if len(encoded) % _BODY_COLUMNS == 0:
            lines.append(b"")
        return b"\n".join(lines) + b"\n"


def _seal_file_key(wrap_key: bytes, file_key: bytes) -> bytes:
    return ChaCha20Poly1305(wrap_key).encrypt(_ZERO_NONCE, file_key, None)


def _open_file_key(wrap_key: bytes, body: bytes) -> bytes | None:
    try:
        return ChaCha20Poly1305(wrap_key).decrypt(_ZERO_NONCE, body, None)
    except InvalidTag:
        return None


@dataclass(frozen=True)
class X25519Recipient:
    """An X25519 public key that files can be encrypted to, written ``age1...``."""

    public_key: bytes

    def __post_init__(self) -> None:
        if len(self.public_key) != 32:
            raise ValueError("an X25519 public key is 32 bytes")

    @classmethod
    def parse(cls, text: str) -> X25519Recipient:
        """Parse an ``age1...`` recipient string."""
        try:
            hrp, data = _bech32_decode(text.strip())
        except ValueError as exc:
            raise ValueError(f"not an age recipient: {exc}") from None
        if hrp != _X25519_HRP or len(data) != 32:
            raise ValueError("not an age X25519 recipient (age1...)")
        return cls(data)

    @classmethod
    def from_key(cls, key: X25519PublicKey) -> X25519Recipient:
        """Wrap a pyca/cryptography X25519 public key."""
        return cls(key.public_bytes_raw())

    def encode(self) -> str:
        """Return the ``age1...`` string."""
        return _bech32_encode(_X25519_HRP, self.public_key)

    def __str__(self) -> str:
        return self.encode()

    def _wrap(self, file_key: bytes) -> _Stanza:
        ephemeral = X25519PrivateKey.generate()
        share = ephemeral.public_key().public_bytes_raw()
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(self.public_key))
        wrap_key = _hkdf(shared, share + self.public_key, _X25519_LABEL)
        body = _seal_file_key(wrap_key, file_key)
        return _Stanza(("X25519", _b64encode_raw(share).decode("ascii")), body)


class X25519Identity:
    """An X25519 private key that decrypts files, written ``AGE-SECRET-KEY-1...``."""

    def __init__(self, private_key: X25519PrivateKey) -> None:
        self._key = private_key
        self._public = private_key.public_key().public_bytes_raw()

    @classmethod
    def generate(cls) -> X25519Identity:
        """Create a new random identity."""
        return cls(X25519PrivateKey.generate())

    @classmethod
    def parse(cls, text: str) -> X25519Identity:
        """Parse an ``AGE-SECRET-KEY-1...`` identity string."""
        try:
            hrp, data = _bech32_decode(text.strip())
        except ValueError as exc:
            raise ValueError(f"not an age identity: {exc}") from None
        if hrp != _IDENTITY_HRP.lower() or len(data) != 32:
            raise ValueError("not an age X25519 identity (AGE-SECRET-KEY-1...)")
        return cls(X25519PrivateKey.from_private_bytes(data))

    @property
    def private_key(self) -> X25519PrivateKey:
        """The underlying pyca/cryptography key."""
        return self._key

    def encode(self) -> str:
        """Return the secret ``AGE-SECRET-KEY-1...`` string."""
        return _bech32_encode(_IDENTITY_HRP, self._key.private_bytes_raw()).upper()

    def recipient(self) -> X25519Recipient:
        """Return the matching recipient."""
        return X25519Recipient(self._public)

    def __repr__(self) -> str:
        return f"X25519Identity(recipient={self.recipient().encode()!r})"

    def _unwrap(self, stanzas: Sequence[_Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.args[0] != "X25519":
                continue
            if len(stanza.args) != 2:
                raise HeaderError("an X25519 stanza must have exactly one argument")
            share = _b64decode_raw(stanza.args[1].encode("ascii"), "X25519 share")
            if len(share) != 32:
                raise HeaderError("an X25519 share must be 32 bytes")
            # Checked before decrypting, to avoid partitioning oracles.
            if len(stanza.body) != _FILE_KEY_SIZE + _TAG_SIZE:
                raise HeaderError("an X25519 stanza body must be 32 bytes")
            try:
                shared = self._key.exchange(X25519PublicKey.from_public_bytes(share))
            except ValueError:
                raise HeaderError("X25519 share is a low-order point") from None
            if shared == bytes(32):
                raise HeaderError("X25519 share is a low-order point")
            file_key = _open_file_key(
                _hkdf(shared, share + self._public, _X25519_LABEL), stanza.body
            )
            if file_key is not None:
                return file_key
        return None


def _passphrase_bytes(passphrase: str | bytes) -> bytes:
    data = passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)
    if not data:
        raise ValueError("the passphrase is empty")
    return data


def _scrypt_key(passphrase: bytes, salt: bytes, work_factor: int) -> bytes:
    kdf = Scrypt(salt=_SCRYPT_LABEL + salt, length=32, n=1 << work_factor, r=8, p=1)
    return kdf.derive(passphrase)


class ScryptRecipient:
    """A passphrase to encrypt to; it must be a file's only recipient."""

    def __init__(
        self, passphrase: str | bytes, work_factor: int = DEFAULT_SCRYPT_WORK_FACTOR
    ) -> None:
        if not 1 <= work_factor <= MAX_SCRYPT_WORK_FACTOR:
            raise ValueError(f"scrypt work factor must be 1..{MAX_SCRYPT_WORK_FACTOR}")
        self._passphrase = _passphrase_bytes(passphrase)
        self._work_factor = work_factor

    def __repr__(self) -> str:
        return f"ScryptRecipient(work_factor={self._work_factor})"

    def _wrap(self, file_key: bytes) -> _Stanza:
        salt = os.urandom(16)
        wrap_key = _scrypt_key(self._passphrase, salt, self._work_factor)
        salt_text = _b64encode_raw(salt).decode("ascii")
        return _Stanza(
            ("scrypt", salt_text, str(self._work_factor)), _seal_file_key(wrap_key, file_key)
        )


class ScryptIdentity:
    """A passphrase to decrypt with; refuses work factors above ``max_work_factor``."""

    def __init__(
        self, passphrase: str | bytes, max_work_factor: int = MAX_SCRYPT_WORK_FACTOR
    ) -> None:
        if not 1 <= max_work_factor <= MAX_SCRYPT_WORK_FACTOR:
            raise ValueError(f"scrypt work factor limit must be 1..{MAX_SCRYPT_WORK_FACTOR}")
        self._passphrase = _passphrase_bytes(passphrase)
        self._max_work_factor = max_work_factor

    def __repr__(self) -> str:
        return f"ScryptIdentity(max_work_factor={self._max_work_factor})"

    def _unwrap(self, stanzas: Sequence[_Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.args[0] != "scrypt":
                continue
            if len(stanza.args) != 3:
                raise HeaderError("an scrypt stanza must have exactly two arguments")
            salt = _b64decode_raw(stanza.args[1].encode("ascii"), "scrypt salt")
            if len(salt) != 16:
                raise HeaderError("an scrypt salt must be 16 bytes")
            if not _WORK_FACTOR.fullmatch(stanza.args[2]):
                raise HeaderError("scrypt work factor is not a small positive decimal number")
            work_factor = int(stanza.args[2])
            if work_factor > self._max_work_factor:
                raise WorkFactorRefused(
                    f"scrypt work factor {work_factor} is above the limit of"
                    f" {self._max_work_factor}"
                )
            if len(stanza.body) != _FILE_KEY_SIZE + _TAG_SIZE:
                raise HeaderError("an scrypt stanza body must be 32 bytes")
            wrap_key = _scrypt_key(self._passphrase, salt, work_factor)
            file_key = _open_file_key(wrap_key, stanza.body)
            if file_key is not None:
                return file_key
        return None


Recipient = X25519Recipient | ScryptRecipient
Identity = X25519Identity | ScryptIdentity


def generate_identity() -> tuple[str, str]:
    """Create a new X25519 key pair as (``AGE-SECRET-KEY-1...``, ``age1...``) strings."""
    identity = X25519Identity.generate()
    return identity.encode(), identity.recipient().encode()


def parse_identities(text: str) -> list[X25519Identity]:
    """Parse an identity file as written by ``age-keygen``: one key a line, ``#`` comments."""
    identities = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            identities.append(X25519Identity.parse(stripped))
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
    return identities


def _as_recipient(value: Recipient | str) -> Recipient:
    return X25519Recipient.parse(value) if isinstance(value, str) else value


def _as_identity(value: Identity | str) -> Identity:
    return X25519Identity.parse(value) if isinstance(value, str) else value


# --- Buffered reading -------------------------------------------------------------------


class _Source:
    """A buffered reader that can peek and read bounded lines from a ``read`` callable."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read
        self._buffer = bytearray()
        self._eof = False

    def _fill(self, size: int) -> None:
        while len(self._buffer) < size and not self._eof:
            data = self._read(max(size - len(self._buffer), _READ_SIZE))
            if data:
                self._buffer += data
            else:
                self._eof = True

    def peek(self, size: int) -> bytes:
        """Return up to ``size`` bytes without consuming them."""
        self._fill(size)
        return bytes(self._buffer[:size])

    def read(self, size: int) -> bytes:
        """Return exactly ``size`` bytes, or fewer only at end of file."""
        if not self._buffer and not self._eof:
            # Once the header is consumed, payload chunks pass through without copies.
            data = self._read(size)
            if len(data) == size:
                return data
            self._buffer += data
            self._eof = not data
        while len(self._buffer) < size and not self._eof:
            more = self._read(size - len(self._buffer))
            self._buffer += more
            self._eof = not more
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def readline(self, limit: int) -> bytes:
        """Return bytes through the next LF; without one, at most ``limit`` bytes."""
        searched = 0
        while True:
            end = self._buffer.find(b"\n", searched, limit)
            if end >= 0:
                return self.read(end + 1)
            if len(self._buffer) >= limit or self._eof:
                return self.read(limit)
            searched = len(self._buffer)
            self._fill(len(self._buffer) + 1)


# --- ASCII armor ------------------------------------------------------------------------


class _ArmorWriter:
    """Encodes to strict PEM with 64-column lines as data is written."""

    def __init__(self, out: BinaryWriter) -> None:
        self._out = out
        self._pending = bytearray()
        out.write(_ARMOR_BEGIN + b"\n")

    def write(self, data: bytes) -> int:
        self._pending += data
        # 48 bytes make one 64-column line; keep the remainder for later.
        whole = len(self._pending) - len(self._pending) % 48
        if whole:
            encoded = binascii.b2a_base64(self._pending[:whole], newline=False)
            lines = [
                encoded[i : i + _ARMOR_COLUMNS] for i in range(0, len(encoded), _ARMOR_COLUMNS)
            ]
            lines.append(b"")
            self._out.write(b"\n".join(lines))
            del self._pending[:whole]
        return len(data)

    def close(self) -> None:
        if self._pending:
            self._out.write(binascii.b2a_base64(self._pending, newline=False) + b"\n")
        self._out.write(_ARMOR_END + b"\n")


class _ArmorReader:
    """Decodes strict PEM armor incrementally, raising ArmorError on any deviation."""

    def __init__(self, source: _Source) -> None:
        self._source = source
        self._decoded = bytearray()
        self._eol = b""
        self._tail = b""
        self._last_line: bytes | None = None
        self._state = "begin"

    def read(self, size: int) -> bytes:
        while len(self._decoded) < size and self._state != "done":
            self._advance()
        data = bytes(self._decoded[:size])
        del self._decoded[:size]
        return data

    def _advance(self) -> None:
        if self._state == "begin":
            self._read_begin()
            return
        data = self._source.read(_ARMOR_READ_SIZE)
        if self._state == "trailer":
            if data.strip(_ARMOR_WHITESPACE):
                raise ArmorError("data follows the end of the armor")
            if not data:
                self._state = "done"
            return
        if not data:
            self._finish()
            return
        lines = (self._tail + data).split(self._eol)
        self._tail = lines.pop()
        self._take_lines(lines)
        if self._state == "trailer":
            if self._tail.strip(_ARMOR_WHITESPACE):
                raise ArmorError("data follows the end of the armor")
            self._tail = b""
        elif len(self._tail) > _MAX_ARMOR_LINE:
            raise ArmorError("armor line is too long")

    def _read_begin(self) -> None:
        while True:
            line = self._source.readline(_MAX_ARMOR_LINE)
            if not line.endswith(b"\n"):
                raise ArmorError("no armor begin line")
            line = line.lstrip(_ARMOR_WHITESPACE)
            if line:
                break
        if line == _ARMOR_BEGIN + b"\n":
            self._eol = b"\n"
        elif line == _ARMOR_BEGIN + b"\r\n":
            self._eol = b"\r\n"
        else:
            raise ArmorError("not an age armor begin line")
        self._state = "data"

    def _take_lines(self, lines: list[bytes]) -> None:
        index = 0
        count = len(lines)
        while index < count:
            if self._state == "trailer":
                if any(line.strip(_ARMOR_WHITESPACE) for line in lines[index:]):
                    raise ArmorError("data follows the end of the armor")
                return
            # Runs of full lines, except the last one seen, are never the final line.
            if set(map(len, lines[index:])) == {_ARMOR_COLUMNS}:
                run_end = count
            else:
                run_end = index
                while run_end < count and len(lines[run_end]) == _ARMOR_COLUMNS:
                    run_end += 1
            if run_end - index >= 2:
                self._take_data_line(lines[index])
                self._decode_inner(b"".join(lines[index : run_end - 1]))
                self._last_line = lines[run_end - 1]
                index = run_end
                continue
            self._take_line(lines[index])
            index += 1

    def _take_line(self, line: bytes) -> None:
        if line.rstrip(_ARMOR_WHITESPACE) == _ARMOR_END:
            if self._last_line is not None:
                self._decode_last(self._last_line)
                self._last_line = None
            self._state = "trailer"
            return
        self._take_data_line(line)

    def _take_data_line(self, line: bytes) -> None:
        if not line:
            raise ArmorError("empty line in armor")
        if len(line) > _ARMOR_COLUMNS:
            raise ArmorError("armor line is longer than 64 columns")
        if self._last_line is not None:
            if len(self._last_line) != _ARMOR_COLUMNS:
                raise ArmorError("only the last armor line may be shorter than 64 columns")
            self._decode_inner(self._last_line)
        self._last_line = line

    def _decode_inner(self, text: bytes) -> None:
        if b"=" in text:
            raise ArmorError("base64 padding before the last armor line")
        try:
            self._decoded += binascii.a2b_base64(text, strict_mode=True)
        except binascii.Error as exc:
            raise ArmorError(f"invalid base64 in armor: {exc}") from None

    def _decode_last(self, line: bytes) -> None:
        if len(line) % 4:
            raise ArmorError("armor base64 is not padded")
        try:
            decoded = binascii.a2b_base64(line, strict_mode=True)
        except binascii.Error as exc:
            raise ArmorError(f"invalid base64 in armor: {exc}") from None
        if binascii.b2a_base64(decoded, newline=False) != line:
            raise ArmorError("armor base64 is not canonical")
        self._decoded += decoded

    def _finish(self) -> None:
        if self._tail.rstrip(_ARMOR_WHITESPACE) != _ARMOR_END:
            raise ArmorError("armor has no end line")
        self._take_line(self._tail)
        self._state = "done"


def _looks_armored(source: _Source) -> bool:
    return source.peek(1024).lstrip(_ARMOR_WHITESPACE).startswith(b"-----")


# --- Header -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    stanzas: tuple[_Stanza, ...]
    mac: bytes
    mac_input: bytes


class _HeaderLines:
    def __init__(self, source: _Source) -> None:
        self._source = source
        self.consumed = bytearray()

    def next(self) -> bytes:
        line = self._source.readline(_MAX_HEADER_LINE)
        if not line.endswith(b"\n"):
            raise HeaderError("header is truncated or has an overlong line")
        self.consumed += line
        if len(self.consumed) > _MAX_HEADER_SIZE:
            raise HeaderError("header is too large")
        return line


def _read_header(source: _Source) -> _Header:
    lines = _HeaderLines(source)
    if not source.peek(1):
        raise HeaderError("file is empty")
    version = lines.next()
    if version != _VERSION_LINE:
        if version.rstrip(b"\r\n") == _VERSION_LINE.rstrip(b"\n"):
            raise HeaderError("header lines must end with LF only")
        if version.startswith(_VERSION_PREFIX):
            raise HeaderError("unsupported age format version")
        raise HeaderError("not an age file")
    stanzas: list[_Stanza] = []
    while True:
        line = lines.next()
        if line.startswith(b"-> "):
            stanzas.append(_read_stanza(line, lines))
        elif line.startswith(b"--- "):
            if not stanzas:
                raise HeaderError("header has no recipient stanzas")
            encoded_mac = line[4:-1]
            if len(encoded_mac) != 43:
                raise HeaderError("header MAC has the wrong length")
            mac = _b64decode_raw(encoded_mac, "header MAC")
            mac_input = bytes(lines.consumed[: -len(line)]) + b"---"
            return _Header(tuple(stanzas), mac, mac_input)
        else:
            raise HeaderError("unexpected line in header")


def _read_stanza(first_line: bytes, lines: _HeaderLines) -> _Stanza:
    args = first_line[3:-1].split(b" ")
    if not all(_STANZA_ARGUMENT.fullmatch(arg) for arg in args):
        raise HeaderError("stanza arguments must be non-empty printable ASCII")
    body_lines = []
    while True:
        line = lines.next()[:-1]
        if len(line) > _BODY_COLUMNS:
            raise HeaderError("stanza body line is longer than 64 columns")
        if not _BASE64_TEXT.fullmatch(line):
            raise HeaderError("stanza body is not unpadded base64")
        body_lines.append(line)
        if len(line) < _BODY_COLUMNS:
            break
    body = _b64decode_raw(b"".join(body_lines), "stanza body")
    return _Stanza(tuple(arg.decode("ascii") for arg in args), body)


def _unwrap_file_key(stanzas: Sequence[_Stanza], identities: Sequence[Identity]) -> bytes:
    if len(stanzas) > 1 and any(stanza.args[0] == "scrypt" for stanza in stanzas):
        raise HeaderError("an scrypt stanza must be the only stanza in the header")
    for identity in identities:
        file_key = identity._unwrap(stanzas)
        if file_key is not None:
            return file_key
    raise NoIdentityMatch("none of the identities can decrypt this file")


# --- Encryption and decryption ----------------------------------------------------------


def _write_payload(source: BinaryReader, out: BinaryWriter, file_key: bytes, nonce: bytes) -> None:
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    counter = 0
    chunk = _read_full(source, _CHUNK_SIZE)
    while True:
        # A full chunk is the last one only if nothing follows it.
        following = _read_full(source, _CHUNK_SIZE) if len(chunk) == _CHUNK_SIZE else b""
        last = not following
        out.write(aead.encrypt(_chunk_nonce(counter, last), chunk, None))
        if last:
            return
        counter += 1
        chunk = following


def _read_payload(source: _Source, out: BinaryWriter, file_key: bytes, nonce: bytes) -> None:
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    counter = 0
    while True:
        chunk = source.read(_CHUNK_CIPHERTEXT_SIZE)
        if not chunk:
            raise PayloadError("payload ends without a final chunk")
        if len(chunk) < _TAG_SIZE:
            raise PayloadError("payload is truncated")
        plaintext = None
        last = len(chunk) < _CHUNK_CIPHERTEXT_SIZE
        if not last:
            # A full chunk is usually an inner one; only if that fails can it be the final.
            with contextlib.suppress(InvalidTag):
                plaintext = aead.decrypt(_chunk_nonce(counter, False), chunk, None)
            last = plaintext is None
        if plaintext is None:
            try:
                plaintext = aead.decrypt(_chunk_nonce(counter, True), chunk, None)
            except InvalidTag:
                raise PayloadError(f"payload chunk {counter} is altered or truncated") from None
        if last and not plaintext and counter:
            raise PayloadError("final payload chunk is empty")
        out.write(plaintext)
        if last:
            if source.read(1):
                raise PayloadError("data follows the final payload chunk")
            return
        counter += 1


def encrypt_stream(
    source: BinaryReader,
    destination: BinaryWriter,
    recipients: Iterable[Recipient | str],
    *,
    armor: bool = False,
) -> None:
    """Encrypt ``source`` to ``destination`` for ``recipients`` (``age1...`` strings allowed).

    Reads and writes in 64 KiB chunks. With ``armor``, writes PEM-armored text.
    """
    recipient_list = [_as_recipient(r) for r in recipients]
    if not recipient_list:
        raise ValueError("at least one recipient is required")
    if len(recipient_list) > 1 and any(isinstance(r, ScryptRecipient) for r in recipient_list):
        raise ValueError("a passphrase recipient must be the only recipient")
    file_key = os.urandom(_FILE_KEY_SIZE)
    header = _VERSION_LINE + b"".join(r._wrap(file_key).encode() for r in recipient_list)
    header += b"---"
    mac = _header_mac(file_key, header).finalize()
    out: BinaryWriter = _ArmorWriter(destination) if armor else destination
    out.write(header + b" " + _b64encode_raw(mac) + b"\n")
    nonce = os.urandom(16)
    out.write(nonce)
    _write_payload(source, out, file_key, nonce)
    if isinstance(out, _ArmorWriter):
        out.close()


def _checked(header: _Header, file_key: bytes) -> bytes:
    """The file key, once the header's MAC holds under it."""
    try:
        _header_mac(file_key, header.mac_input).verify(header.mac)
    except InvalidSignature:
        raise HMACError("header MAC does not match") from None
    return file_key


def _unwrapped(reader: _Source, identities: Sequence[Identity]) -> bytes:
    """Read the header; the file key the first matching identity unwraps, MAC checked."""
    header = _read_header(reader)
    return _checked(header, _unwrap_file_key(header.stanzas, identities))


def _payload_source(source: BinaryReader, armored: bool | None) -> _Source:
    raw = _Source(source.read)
    if armored is None:
        armored = _looks_armored(raw)
    return _Source(_ArmorReader(raw).read) if armored else raw


def _decrypt_payload(reader: _Source, destination: BinaryWriter, file_key: bytes) -> None:
    nonce = reader.read(16)
    if len(nonce) != 16:
        raise HeaderError("file ends before the payload nonce")
    _read_payload(reader, destination, file_key, nonce)


def decrypt_stream(
    source: BinaryReader,
    destination: BinaryWriter,
    identities: Iterable[Identity | str],
    *,
    armored: bool | None = None,
) -> None:
    """Decrypt ``source`` to ``destination`` with the first identity that matches.

    ``armored=None`` detects PEM armor from the first bytes. Plaintext is written chunk
    by chunk as each one is authenticated; on :class:`PayloadError` the chunks already
    written are genuine but incomplete, so discard them (see :func:`decrypt_to_path`).
    """
    identity_list = [_as_identity(i) for i in identities]
    reader = _payload_source(source, armored)
    _decrypt_payload(reader, destination, _unwrapped(reader, identity_list))


def read_file_key(source: BinaryReader, identities: Iterable[Identity | str]) -> bytes:
    """The file key of an age file (binary, not armored), its header's MAC checked.

    With it, :func:`decrypt_stream_with_key` opens this one file and no other, so a
    helper that decrypts never needs the identity itself.
    """
    return _unwrapped(_Source(source.read), [_as_identity(i) for i in identities])


def decrypt_stream_with_key(
    source: BinaryReader, destination: BinaryWriter, file_key: bytes
) -> None:
    """:func:`decrypt_stream` of a binary age file whose file key is known."""
    reader = _Source(source.read)
    _decrypt_payload(reader, destination, _checked(_read_header(reader), file_key))


def encrypt(
    plaintext: bytes, recipients: Iterable[Recipient | str], *, armor: bool = False
) -> bytes:
    """Encrypt ``plaintext`` in memory; see :func:`encrypt_stream`."""
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(plaintext), out, recipients, armor=armor)
    return out.getvalue()


def decrypt(
    ciphertext: bytes, identities: Iterable[Identity | str], *, armored: bool | None = None
) -> bytes:
    """Decrypt ``ciphertext`` in memory, returning all of the plaintext or raising AgeError."""
    out = io.BytesIO()
    decrypt_stream(io.BytesIO(ciphertext), out, identities, armored=armored)
    return out.getvalue()


def decrypt_to_path(
    source: BinaryReader,
    destination: str | os.PathLike[str],
    identities: Iterable[Identity | str],
    *,
    armored: bool | None = None,
) -> None:
    """Decrypt ``source`` into the file ``destination``, all or nothing.

    Plaintext goes to a private temporary file next to ``destination`` that replaces it
    only once the whole file has been authenticated; on any failure the temporary file
    is removed and ``destination`` is left as it was.
    """
    target = Path(destination)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as temp:
            decrypt_stream(source, temp, identities, armored=armored)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
