"""Keyslots: the vault's database key sealed once per user, LUKS-style.

The keyslot file is JSON beside the database. Each slot holds an X25519 key pair of
its own: the private key sealed with AES-256-GCM under a key derived from the user's
password (Argon2id) or from the recovery key (HKDF: it already has 256 bits of
entropy), the public key in the clear, and the 32-byte database key sealed to that
public key (an envelope: ephemeral X25519, HKDF-SHA256, AES-256-GCM). So an admin who
re-keys the database after revoking a user can seal the new key to every remaining
slot without knowing anyone's password. The associated data binds the vault id,
user, slot id, public key and KDF parameters, so a slot cannot be moved to another
vault or user, nor its parameters weakened.

While a re-keying runs, a slot holds two envelopes (the new key first); the key that
opens the database is the one used. Slots written before key pairs existed seal the
database key itself; they still open, and are given a key pair at their next use.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import shlex
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT = "haven-keyslots-v1"
RECOVERY_USER = "@recovery"
KEY_BYTES = 32

# OWASP's floor for Argon2id; parameters below it are refused even when read from a file.
MIN_MEMORY_KIB = 19 * 1024
MIN_ITERATIONS = 2
# And a ceiling, so that a slot edited to cost more would not hang every login.
MAX_MEMORY_KIB = 4096 * 1024
MAX_ITERATIONS = 100


class KeyslotError(Exception):
    """The keyslot file or a slot in it cannot be used."""


class WrongPassword(KeyslotError):
    """No slot of this user opens with the password given."""


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost parameters stored in each password slot."""

    memory_kib: int = 256 * 1024
    iterations: int = 3
    lanes: int = 4

    def check(self) -> None:
        if self.memory_kib < MIN_MEMORY_KIB or self.iterations < MIN_ITERATIONS:
            raise KeyslotError(
                "Argon2id parameters below the safe minimum "
                f"({MIN_MEMORY_KIB // 1024} MiB, {MIN_ITERATIONS} passes)"
            )
        if self.memory_kib > MAX_MEMORY_KIB or self.iterations > MAX_ITERATIONS:
            raise KeyslotError(
                "Argon2id parameters above the ceiling "
                f"({MAX_MEMORY_KIB // 1024} MiB, {MAX_ITERATIONS} passes)"
            )
        if not 1 <= self.lanes <= 64:
            raise KeyslotError("Argon2id lanes must be between 1 and 64")


# Strong enough to be legal, quick enough for a demo site; never the default.
DEMO_KDF = KdfParams(memory_kib=MIN_MEMORY_KIB, iterations=MIN_ITERATIONS, lanes=1)


@dataclass(frozen=True, slots=True)
class Envelope:
    """The database key sealed to a slot's public key."""

    ephemeral: bytes  # X25519 public key made for this envelope alone
    nonce: bytes
    sealed_key: bytes


@dataclass(frozen=True, slots=True)
class Slot:
    slot_id: str
    user: str
    kind: str  # "password" or "recovery"
    salt: bytes
    nonce: bytes
    sealed_key: bytes  # the slot's private key; in a slot without a key pair, the database key
    kdf: KdfParams | None  # None for the recovery slot
    public_key: bytes = b""  # empty in a slot written before key pairs existed
    envelopes: tuple[Envelope, ...] = ()  # the database key(s) sealed to it, newest first

    @property
    def can_be_rewrapped(self) -> bool:
        """Whether a new database key can be sealed to this slot without its secret."""
        return bool(self.public_key)


class Opened(NamedTuple):
    """What a slot gave: the database keys it holds (newest first), and how it opened."""

    keys: tuple[bytes, ...]
    slot: Slot
    wrapping: bytes  # the key derived from the password or recovery key


@dataclass(frozen=True, slots=True)
class KeyslotFile:
    vault_id: str
    slots: tuple[Slot, ...]
    journal_key: bytes  # X25519 public key that failed-login records are sealed to
    broken: tuple[str, ...] = ()  # descriptions of slots that could not be parsed
    broken_users: frozenset[str] = frozenset()  # the users those slots name

    def slots_for(self, user: str) -> list[Slot]:
        return [slot for slot in self.slots if slot.user == user]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("expected base64 text")
    return base64.b64decode(text, validate=True)


def _associated_data(vault_id: str, slot: Slot) -> bytes:
    bound: dict[str, Any] = {
        "format": FORMAT,
        "vault_id": vault_id,
        "user": slot.user,
        "slot_id": slot.slot_id,
        "kind": slot.kind,
    }
    if slot.kdf is not None:
        bound["kdf"] = {
            "name": "argon2id",
            "memory_kib": slot.kdf.memory_kib,
            "iterations": slot.kdf.iterations,
            "lanes": slot.kdf.lanes,
        }
    if slot.public_key:
        bound["public_key"] = _b64(slot.public_key)
    return json.dumps(bound, sort_keys=True, separators=(",", ":")).encode()


def _envelope_secret(vault_id: str, slot: Slot, ephemeral: bytes, shared: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=ephemeral + slot.public_key,
        info=f"haven keyslot envelope {vault_id} {slot.slot_id} {slot.user}".encode(),
    ).derive(shared)


def _seal_envelope(vault_id: str, slot: Slot, db_key: bytes) -> Envelope:
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(slot.public_key))
    secret = _envelope_secret(vault_id, slot, ephemeral_public, shared)
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(secret).encrypt(nonce, db_key, _associated_data(vault_id, slot))
    return Envelope(ephemeral_public, nonce, sealed)


def _open_envelope(
    vault_id: str, slot: Slot, private: X25519PrivateKey, envelope: Envelope
) -> bytes | None:
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(envelope.ephemeral))
    except ValueError:  # a low-order point: no shared secret
        return None
    secret = _envelope_secret(vault_id, slot, envelope.ephemeral, shared)
    try:
        key = AESGCM(secret).decrypt(
            envelope.nonce, envelope.sealed_key, _associated_data(vault_id, slot)
        )
    except InvalidTag:
        return None
    return key if len(key) == KEY_BYTES else None


def _with_key_pair(vault_id: str, slot: Slot, wrapping: bytes, db_keys: Iterable[bytes]) -> Slot:
    """The slot given a new key pair, its private key sealed under ``wrapping``."""
    private = X25519PrivateKey.generate()
    slot = replace(
        slot,
        nonce=secrets.token_bytes(12),
        public_key=private.public_key().public_bytes_raw(),
        envelopes=(),
    )
    sealed = AESGCM(wrapping).encrypt(
        slot.nonce, private.private_bytes_raw(), _associated_data(vault_id, slot)
    )
    return rewrapped(vault_id, replace(slot, sealed_key=sealed), db_keys)


def rewrapped(vault_id: str, slot: Slot, db_keys: Iterable[bytes]) -> Slot:
    """The slot holding these database keys (newest first) in place of the ones it had."""
    if not slot.can_be_rewrapped:
        raise KeyslotError(f"the slot of {slot.user} has no key pair to seal a new key to")
    return replace(
        slot, envelopes=tuple(_seal_envelope(vault_id, slot, key) for key in db_keys)
    )


def upgraded(vault_id: str, opened: Opened) -> Slot:
    """A slot without a key pair, given one (same password or recovery key, same KDF)."""
    return _with_key_pair(vault_id, opened.slot, opened.wrapping, opened.keys)


def derive_password_key(password: str, salt: bytes, kdf: KdfParams) -> bytes:
    """Argon2id(password) with the slot's parameters."""
    kdf.check()
    return Argon2id(
        salt=salt,
        length=KEY_BYTES,
        iterations=kdf.iterations,
        lanes=kdf.lanes,
        memory_cost=kdf.memory_kib,
    ).derive(password.encode("utf-8"))


def _derive_recovery_key(recovery_key: bytes, salt: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=b"haven recovery slot"
    ).derive(recovery_key)


def seal_password_slot(
    vault_id: str, user: str, password: str, db_key: bytes, kdf: KdfParams
) -> Slot:
    """A new slot that opens db_key with this user's password."""
    slot = Slot(
        slot_id=uuid.uuid4().hex,
        user=user,
        kind="password",
        salt=secrets.token_bytes(16),
        nonce=b"",
        sealed_key=b"",
        kdf=kdf,
    )
    return _with_key_pair(vault_id, slot, derive_password_key(password, slot.salt, kdf), [db_key])


def seal_recovery_slot(
    vault_id: str, recovery_key: bytes, db_keys: Iterable[bytes], *, slot_id: str = "recovery"
) -> Slot:
    """The slot that opens with the printed recovery key."""
    slot = Slot(
        slot_id=slot_id,
        user=RECOVERY_USER,
        kind="recovery",
        salt=secrets.token_bytes(16),
        nonce=b"",
        sealed_key=b"",
        kdf=None,
    )
    return _with_key_pair(vault_id, slot, _derive_recovery_key(recovery_key, slot.salt), db_keys)


def _open_with(vault_id: str, slot: Slot, wrapping: bytes) -> Opened | None:
    try:
        secret = AESGCM(wrapping).decrypt(
            slot.nonce, slot.sealed_key, _associated_data(vault_id, slot)
        )
    except InvalidTag:
        return None
    if len(secret) != KEY_BYTES:
        return None
    if not slot.public_key:
        return Opened((secret,), slot, wrapping)
    private = X25519PrivateKey.from_private_bytes(secret)
    if private.public_key().public_bytes_raw() != slot.public_key:
        return None
    keys = [_open_envelope(vault_id, slot, private, envelope) for envelope in slot.envelopes]
    found = tuple(key for key in keys if key is not None)
    return Opened(found, slot, wrapping) if found else None


# Used when a user has no slot, so an unknown name costs the same KDF as a wrong password.
_DECOY_SALT = secrets.token_bytes(16)


def open_password_slot(
    slots: KeyslotFile, user: str, password: str, default_kdf: KdfParams
) -> Opened:
    """The database keys of the user's slot, or WrongPassword after the full KDF cost."""
    candidates = [slot for slot in slots.slots_for(user) if slot.kind == "password"]
    if not candidates and user in slots.broken_users:
        raise KeyslotError(
            f"the keyslot of '{user}' is damaged, so no password opens it: have an admin give"
            f" '{user}' a new password (haven-admin user passwd {shlex.quote(user)})"
        )
    if not candidates:
        # Cost the same as a real slot of this vault, so timing does not reveal user names.
        decoy = next((s.kdf for s in slots.slots if s.kdf is not None), default_kdf)
        derive_password_key(password, _DECOY_SALT, decoy)
        raise WrongPassword("wrong user name or password")
    for slot in candidates:
        assert slot.kdf is not None
        opened = _open_with(
            slots.vault_id, slot, derive_password_key(password, slot.salt, slot.kdf)
        )
        if opened is not None:
            return opened
    raise WrongPassword("wrong user name or password")


def open_recovery_slot(slots: KeyslotFile, recovery_key: bytes) -> Opened:
    for slot in slots.slots:
        if slot.kind == "recovery":
            opened = _open_with(
                slots.vault_id, slot, _derive_recovery_key(recovery_key, slot.salt)
            )
            if opened is not None:
                return opened
    raise WrongPassword("the recovery key does not open this vault")


def _slot_to_json(slot: Slot) -> dict[str, Any]:
    out: dict[str, Any] = {
        "slot_id": slot.slot_id,
        "user": slot.user,
        "kind": slot.kind,
        "salt": _b64(slot.salt),
        "nonce": _b64(slot.nonce),
        "sealed_key": _b64(slot.sealed_key),
    }
    if slot.kdf is not None:
        out["kdf"] = {
            "name": "argon2id",
            "memory_kib": slot.kdf.memory_kib,
            "iterations": slot.kdf.iterations,
            "lanes": slot.kdf.lanes,
        }
    if slot.public_key:
        out["public_key"] = _b64(slot.public_key)
        out["envelopes"] = [
            {
                "ephemeral": _b64(envelope.ephemeral),
                "nonce": _b64(envelope.nonce),
                "sealed_key": _b64(envelope.sealed_key),
            }
            for envelope in slot.envelopes
        ]
    return out


def _envelopes_from_json(raw: Any) -> tuple[Envelope, ...]:
    if not isinstance(raw, list) or not raw or len(raw) > 4:
        raise ValueError("a slot with a key pair needs one to four envelopes")
    envelopes = tuple(
        Envelope(_unb64(item["ephemeral"]), _unb64(item["nonce"]), _unb64(item["sealed_key"]))
        for item in raw
    )
    for envelope in envelopes:
        if (len(envelope.ephemeral), len(envelope.nonce), len(envelope.sealed_key)) != (
            KEY_BYTES,
            12,
            KEY_BYTES + 16,
        ):
            raise ValueError("envelope fields have the wrong length")
    return envelopes


def _slot_from_json(raw: Any) -> Slot:
    if not isinstance(raw, dict):
        raise ValueError("slot is not an object")
    kind = raw.get("kind")
    kdf = None
    if kind == "password":
        params = raw.get("kdf")
        if not isinstance(params, dict) or params.get("name") != "argon2id":
            raise ValueError("unknown KDF")
        kdf = KdfParams(
            memory_kib=int(params["memory_kib"]),
            iterations=int(params["iterations"]),
            lanes=int(params["lanes"]),
        )
        kdf.check()
    elif kind != "recovery":
        raise ValueError("unknown slot kind")
    slot = Slot(
        slot_id=str(raw["slot_id"]),
        user=str(raw["user"]),
        kind=kind,
        salt=_unb64(raw["salt"]),
        nonce=_unb64(raw["nonce"]),
        sealed_key=_unb64(raw["sealed_key"]),
        kdf=kdf,
    )
    if len(slot.salt) != 16 or len(slot.nonce) != 12 or len(slot.sealed_key) != KEY_BYTES + 16:
        raise ValueError("slot fields have the wrong length")
    if "public_key" in raw:
        slot = replace(
            slot,
            public_key=_unb64(raw["public_key"]),
            envelopes=_envelopes_from_json(raw.get("envelopes")),
        )
        if len(slot.public_key) != KEY_BYTES:
            raise ValueError("the public key has the wrong length")
        # A low-order point gives no shared secret: nothing could be sealed to it.
        X25519PrivateKey.generate().exchange(X25519PublicKey.from_public_bytes(slot.public_key))
    return slot


def read_keyslots(path: Path) -> KeyslotFile:
    """Parse the keyslot file; a damaged slot is set aside so the others still open."""
    try:
        raw = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise KeyslotError(f"no vault here: {path} is missing") from None
    except OSError as exc:
        raise KeyslotError(f"cannot read the keyslot file {path.name}: {exc.strerror}") from None
    except ValueError:  # bad UTF-8, JSON or a number too long
        raise KeyslotError(
            f"the keyslot file {path.name} is damaged (it is not readable JSON): restore the"
            " latest backup into a new folder"
        ) from None
    if (
        not isinstance(raw, dict)
        or raw.get("format") != FORMAT
        or not isinstance(raw.get("vault_id"), str)
    ):
        raise KeyslotError(f"the keyslot file {path.name} is not a Haven keyslot file")
    slots: list[Slot] = []
    broken: list[str] = []
    broken_users: set[str] = set()
    raw_slots = raw.get("slots")
    if not isinstance(raw_slots, list):
        raise KeyslotError(f"the keyslot file {path.name} has no slot list")
    for index, raw_slot in enumerate(raw_slots):
        try:
            slots.append(_slot_from_json(raw_slot))
        except (KeyError, ValueError, TypeError, binascii.Error, KeyslotError):
            user = raw_slot.get("user") if isinstance(raw_slot, dict) else None
            broken.append(f"slot {index} ({user or 'unknown user'})")
            if isinstance(user, str):
                broken_users.add(user)
    try:
        journal_key = _unb64(raw.get("journal_key"))
    except (ValueError, binascii.Error):
        raise KeyslotError(f"the keyslot file {path.name} is damaged (journal key)") from None
    return KeyslotFile(
        vault_id=raw["vault_id"],
        slots=tuple(slots),
        journal_key=journal_key,
        broken=tuple(broken),
        broken_users=frozenset(broken_users),
    )


def write_keyslots(path: Path, vault_id: str, slots: Iterable[Slot], *, journal_key: bytes) -> None:
    """Replace the keyslot file atomically: temp file, fsync, rename, fsync the folder."""
    document = {
        "format": FORMAT,
        "vault_id": vault_id,
        "journal_key": _b64(journal_key),
        "slots": [_slot_to_json(slot) for slot in slots],
    }
    payload = json.dumps(document, indent=2).encode("utf-8") + b"\n"
    write_atomically(path, payload)


def write_atomically(path: Path, payload: bytes) -> None:
    """Write a file (mode 0600) so that a crash leaves either the old or the new content."""
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a file just renamed into it) to the medium."""
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def format_recovery_key(raw: bytes) -> str:
    """Recovery key as groups of base32 for printing: ABCDE-FGHIJ-…"""
    text = base64.b32encode(raw).decode("ascii").rstrip("=")
    return "-".join(text[i : i + 5] for i in range(0, len(text), 5))


def parse_recovery_key(text: str) -> bytes:
    """The key as typed off the paper: any case, any separators, a zero for the letter O
    (base32 has no 0, so that reading is the only one)."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum()).replace("0", "O")
    if not cleaned.isascii():  # a Cyrillic А or О looks like the Latin one on paper
        raise WrongPassword(
            "that is not a recovery key: it is written in Latin letters (switch the keyboard"
            " to English)"
        )
    if any(ch in "189" for ch in cleaned):  # a 1 may be an I or an L: not guessed
        raise WrongPassword(
            "that is not a recovery key: it has letters and the digits 2 to 7 only (a 1 is"
            " the letter I or L, an 8 the letter B)"
        )
    padded = cleaned + "=" * (-len(cleaned) % 8)
    try:
        raw = base64.b32decode(padded)
    except binascii.Error:
        raise WrongPassword("that is not a recovery key") from None
    if len(raw) != KEY_BYTES:
        raise WrongPassword("that is not a recovery key")
    return raw
