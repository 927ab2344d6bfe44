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
    assert keyslots.open_password_slot(slots, "anna", "anna password", FAST)[0] == key
    assert keyslots.open_password_slot(slots, "boris", "boris password", FAST)[0] == key
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
    assert keyslots.open_password_slot(slots, "boris", "boris password", FAST)[0] == key


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


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    keyslots.write_atomically(target, b"one")
    keyslots.write_atomically(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]
