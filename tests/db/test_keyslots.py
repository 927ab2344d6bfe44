"""Keyslots: sealing, opening, damage, and the parameter floor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from db import keyslots
from db.keyslots import KdfParams, KeyslotError, WrongPassword

FAST = KdfParams(memory_kib=19 * 1024, iterations=2, lanes=1)
JOURNAL = b"\x01" * 32


def _file(tmp_path: Path, *slots: keyslots.Slot) -> Path:
    path = tmp_path / "keyslots.json"
    keyslots.write_keyslots(path, "vault-1", slots, journal_key=JOURNAL)
    return path


def test_each_user_opens_the_same_key_with_their_own_password(tmp_path: Path) -> None:
    key = b"k" * 32
    path = _file(
        tmp_path,
        keyslots.seal_password_slot("vault-1", "anna", "anna password", key, FAST),
        keyslots.seal_password_slot("vault-1", "boris", "boris password", key, FAST),
    )
    slots = keyslots.read_keyslots(path)
    assert keyslots.open_password_slot(slots, "anna", "anna password", FAST).keys == (key,)
    assert keyslots.open_password_slot(slots, "boris", "boris password", FAST).keys == (key,)
    with pytest.raises(WrongPassword):
        keyslots.open_password_slot(slots, "anna", "boris password", FAST)
    with pytest.raises(WrongPassword):
        keyslots.open_password_slot(slots, "nobody", "anna password", FAST)


def test_the_file_is_private_and_holds_no_key_in_clear(tmp_path: Path) -> None:
    key = bytes(range(32))
    path = _file(tmp_path, keyslots.seal_password_slot("vault-1", "anna", "pw-pw-pw-pw", key, FAST))
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_bytes()
    assert key not in text
    assert key.hex().encode() not in text


def test_a_slot_cannot_be_moved_to_another_user_or_weakened(tmp_path: Path) -> None:
    key = b"k" * 32
    path = _file(
        tmp_path, keyslots.seal_password_slot("vault-1", "anna", "anna password", key, FAST)
    )
    document = json.loads(path.read_text())
    document["slots"][0]["user"] = "mallory"
    path.write_text(json.dumps(document))
    with pytest.raises(WrongPassword):
        keyslots.open_password_slot(keyslots.read_keyslots(path), "mallory", "anna password", FAST)

    document["slots"][0]["user"] = "anna"
    document["slots"][0]["kdf"]["iterations"] = 1
    path.write_text(json.dumps(document))
    slots = keyslots.read_keyslots(path)
    assert slots.slots == ()
    assert slots.broken == ("slot 0 (anna)",)


def test_a_damaged_slot_leaves_the_others_usable(tmp_path: Path) -> None:
    key = b"k" * 32
    path = _file(
        tmp_path,
        keyslots.seal_password_slot("vault-1", "anna", "anna password", key, FAST),
        keyslots.seal_password_slot("vault-1", "boris", "boris password", key, FAST),
    )
    document = json.loads(path.read_text())
    document["slots"][0]["sealed_key"] = "not base64!"
    path.write_text(json.dumps(document))
    slots = keyslots.read_keyslots(path)
    assert slots.broken == ("slot 0 (anna)",)
    assert keyslots.open_password_slot(slots, "boris", "boris password", FAST).keys == (key,)


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "keyslots.json"
    path.write_text('{"format": "haven-keyslots-v1", "slots": [')
    with pytest.raises(KeyslotError, match="damaged"):
        keyslots.read_keyslots(path)


def test_parameters_below_the_owasp_floor_are_refused() -> None:
    with pytest.raises(KeyslotError):
        KdfParams(memory_kib=8 * 1024, iterations=3, lanes=1).check()
    with pytest.raises(KeyslotError):
        KdfParams(memory_kib=64 * 1024, iterations=1, lanes=1).check()
    KdfParams().check()


def test_recovery_key_round_trips_through_its_printed_form() -> None:
    raw = bytes(range(32))
    printed = keyslots.format_recovery_key(raw)
    assert keyslots.parse_recovery_key(printed.lower().replace("-", " ")) == raw
    with pytest.raises(WrongPassword):
        keyslots.parse_recovery_key("ABCDE-FGHIJ")


def test_a_recovery_key_read_off_paper_with_digits_for_letters() -> None:
    """On paper an O looks like a zero: base32 has no 0, so the key still opens. A 1 (I or
    L?) is not guessed: the refusal says which letters such a digit may be."""
    raw = bytes.fromhex("fdacbfa5ba657af5519751056afd883777caf336693e15cf161e9286d1df881a")
    printed = keyslots.format_recovery_key(raw)
    assert "O" in printed
    assert "I" in printed
    assert keyslots.parse_recovery_key(printed.replace("O", "0")) == raw
    with pytest.raises(WrongPassword, match=r"a 1 is the letter I or L, an 8 the letter B"):
        keyslots.parse_recovery_key(printed.replace("I", "1"))


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    keyslots.write_atomically(target, b"one")
    keyslots.write_atomically(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_a_new_key_is_sealed_to_a_slot_without_its_password(tmp_path: Path) -> None:
    old, new = b"o" * 32, b"n" * 32
    anna = keyslots.seal_password_slot("vault-1", "anna", "anna password", old, FAST)
    path = _file(tmp_path, keyslots.rewrapped("vault-1", anna, [new, old]))
    assert keyslots.open_password_slot(
        keyslots.read_keyslots(path), "anna", "anna password", FAST
    ).keys == (new, old)
    path = _file(tmp_path, keyslots.rewrapped("vault-1", anna, [new]))
    slots = keyslots.read_keyslots(path)
    opened = keyslots.open_password_slot(slots, "anna", "anna password", FAST)
    assert opened.keys == (new,)
    text = path.read_bytes()
    assert new not in text
    assert new.hex().encode() not in text


def test_a_slot_given_another_public_key_or_a_spoiled_envelope_opens_nothing(
    tmp_path: Path,
) -> None:
    key = b"k" * 32
    anna = keyslots.seal_password_slot("vault-1", "anna", "anna password", key, FAST)
    path = _file(tmp_path, anna)
    original = json.loads(path.read_text())
    # Someone with the file seals a key of their own to a key pair of their own.
    mallory = keyslots.seal_password_slot("vault-1", "anna", "mallory password", b"m" * 32, FAST)
    document = json.loads(path.read_text())
    document["slots"][0]["public_key"] = keyslots._b64(mallory.public_key)
    path.write_text(json.dumps(document))
    with pytest.raises(WrongPassword):
        keyslots.open_password_slot(keyslots.read_keyslots(path), "anna", "anna password", FAST)
    document = json.loads(json.dumps(original))
    sealed = bytearray(keyslots._unb64(document["slots"][0]["envelopes"][0]["sealed_key"]))
    sealed[0] ^= 1
    document["slots"][0]["envelopes"][0]["sealed_key"] = keyslots._b64(bytes(sealed))
    path.write_text(json.dumps(document))
    with pytest.raises(WrongPassword):
        keyslots.open_password_slot(keyslots.read_keyslots(path), "anna", "anna password", FAST)


def _slot_as_older_haven_wrote_it(vault_id: str, user: str, password: str, key: bytes) -> dict:  # type: ignore[type-arg]
    """A slot of the first keyslot format: the database key itself sealed under Argon2id."""
    import base64
    import os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce, slot_id = os.urandom(16), os.urandom(12), "0" * 32
    kdf = {"name": "argon2id", "memory_kib": FAST.memory_kib, "iterations": FAST.iterations,
           "lanes": FAST.lanes}
    bound = json.dumps({"format": "haven-keyslots-v1", "vault_id": vault_id, "user": user,
                        "slot_id": slot_id, "kind": "password", "kdf": kdf},
                       sort_keys=True, separators=(",", ":")).encode()
    wrapping = keyslots.derive_password_key(password, salt, FAST)
    sealed = AESGCM(wrapping).encrypt(nonce, key, bound)
    encode = lambda data: base64.b64encode(data).decode()  # noqa: E731
    return {"slot_id": slot_id, "user": user, "kind": "password", "salt": encode(salt),
            "nonce": encode(nonce), "sealed_key": encode(sealed), "kdf": kdf}


def test_a_slot_of_the_first_format_opens_and_can_be_given_a_key_pair(tmp_path: Path) -> None:
    key = b"k" * 32
    path = _file(tmp_path)
    document = json.loads(path.read_text())
    document["slots"] = [_slot_as_older_haven_wrote_it("vault-1", "anna", "anna password", key)]
    path.write_text(json.dumps(document))
    slots = keyslots.read_keyslots(path)
    opened = keyslots.open_password_slot(slots, "anna", "anna password", FAST)
    assert opened.keys == (key,)
    assert not opened.slot.can_be_rewrapped
    with pytest.raises(KeyslotError, match="no key pair"):
        keyslots.rewrapped("vault-1", opened.slot, [b"n" * 32])
    upgraded = keyslots.upgraded("vault-1", opened)
    assert upgraded.can_be_rewrapped
    assert upgraded.salt == opened.slot.salt  # the same password, no second KDF run
    path = _file(tmp_path, keyslots.rewrapped("vault-1", upgraded, [b"n" * 32]))
    assert keyslots.open_password_slot(
        keyslots.read_keyslots(path), "anna", "anna password", FAST
    ).keys == (b"n" * 32,)
