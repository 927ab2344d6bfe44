"""Failed logins, recorded before the vault is open and moved into the audit log after.

A failed login cannot write to the encrypted database, so it appends a line to a
journal beside it, sealed to the site's X25519 key (ephemeral X25519, HKDF,
ChaCha20-Poly1305): whoever reads the folder learns only that attempts happened.
The next successful unlock decrypts the lines into audit entries and empties it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"haven failed-login journal v1"
_CLAIMED = ".claimed-"  # suffix of a journal file a login has taken to read


@dataclass(frozen=True, slots=True)
class FailedLogin:
    at: datetime
    user: str


def _key(shared: bytes, ephemeral: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral, info=_INFO).derive(shared)


def record_failure(path: Path, journal_key: bytes, user: str) -> None:
    """Append one sealed record; losing it must never stop the login answer."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    try:
        recipient = X25519PublicKey.from_public_bytes(journal_key)
    except ValueError:  # a damaged keyslot file: the answer to the login still stands
        return
    shared = ephemeral.exchange(recipient)
    nonce = secrets.token_bytes(12)
    plain = json.dumps({"at": datetime.now(UTC).isoformat(), "user": user[:200]}).encode()
    sealed = ChaCha20Poly1305(_key(shared, ephemeral_public)).encrypt(nonce, plain, None)
    line = base64.b64encode(ephemeral_public + nonce + sealed) + b"\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        return


def drain(path: Path, site_key: X25519PrivateKey) -> tuple[list[FailedLogin], list[Path]]:
    """Claim the journal and decrypt its records; the caller audits them, then clear()s
    the claimed files it is given.

    Claiming renames the journal first, so a failed login meanwhile starts a new one
    instead of being cleared unread. Files that a login claimed but never cleared (it
    stopped before its audit entries were kept) are read again.
    """
    with contextlib.suppress(FileNotFoundError):
        os.rename(path, path.with_name(f"{path.name}{_CLAIMED}{secrets.token_hex(8)}"))
    found: list[FailedLogin] = []
    claimed: list[Path] = []
    for file in sorted(path.parent.glob(f"{path.name}{_CLAIMED}*")):
        try:
            lines = file.read_bytes().splitlines()
        except FileNotFoundError:  # another login took it meanwhile
            continue
        claimed.append(file)
        found += [_open_record(line, site_key) for line in lines]
    return found, claimed


def _open_record(line: bytes, site_key: X25519PrivateKey) -> FailedLogin:
    try:
        raw = base64.b64decode(line, validate=True)
        ephemeral_public, nonce, sealed = raw[:32], raw[32:44], raw[44:]
        shared = site_key.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        plain = ChaCha20Poly1305(_key(shared, ephemeral_public)).decrypt(nonce, sealed, None)
        record = json.loads(plain)
        return FailedLogin(datetime.fromisoformat(record["at"]), str(record["user"]))
    except (binascii.Error, ValueError, InvalidTag, KeyError, TypeError):
        return FailedLogin(datetime.now(UTC), "(unreadable journal line)")


def clear(claimed: Iterable[Path]) -> None:
    """Remove the claimed journal files whose records are now in the audit log."""
    for file in claimed:
        file.unlink(missing_ok=True)
