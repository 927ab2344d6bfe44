"""The recovery key that init prints gives an admin account a new password (break-glass)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

NEW_PASSWORD = "a new admin password 42"
FAST = ("--kdf-memory", "19", "--kdf-passes", "2")


@pytest.fixture
def lost(run_cli, tmp_path: Path) -> tuple[Path, Path, Path]:  # type: ignore[no-untyped-def]
    """A site whose admin password is lost; its recovery key and a new password in files."""
    data = tmp_path / "site"
    first = tmp_path / "first.txt"
    first.write_text(PASSWORD + "\n")
    made = run_cli("init", "--site-name", "Північ", "--admin", "admin", "--new-password-file",
                   str(first), *FAST, data=data, user=None)
    assert made.returncode == 0, made.stderr
    key = tmp_path / "recovery.txt"
    key.write_text(made.stdout.splitlines()[-1].strip() + "\n")
    new = tmp_path / "new.txt"
    new.write_text(NEW_PASSWORD + "\n")
    return data, key, new


def test_the_recovery_key_gives_the_admin_a_new_password(run_cli, lost, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, key, new = lost
    done = run_cli("recover", "admin", "--recovery-key-file", str(key), "--new-password-file",
                   str(new), *FAST, data=data, user=None)
    assert done.returncode == 0, done.stderr
    assert run_cli("case", "list", data=data).returncode == 3  # the old password is gone
    listed = run_cli("audit", "list", "--json", data=data, password_file_path=new)
    assert listed.returncode == 0, listed.stderr
    used = [e for e in json.loads(listed.stdout) if e["action"] == "recovery_key_used"]
    assert [e["detail"] for e in used] == ["new password for admin"]
    # The key still opens the vault: it can be used again.
    again = run_cli("recover", "admin", "--recovery-key-file", str(key), "--new-password-file",
                    str(new), *FAST, data=data, user=None)
    assert again.returncode == 0, again.stderr


def test_a_wrong_key_or_a_name_that_is_not_an_admin_is_refused(  # type: ignore[no-untyped-def]
    run_cli, lost, tmp_path: Path
) -> None:
    data, key, new = lost
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("AAAAA-" * 10 + "AA\n")
    refused = run_cli("recover", "admin", "--recovery-key-file", str(wrong),
                      "--new-password-file", str(new), *FAST, data=data, user=None)
    assert refused.returncode == 3
    assert refused.stderr == "haven-admin: the recovery key does not open this vault\n"
    nobody = run_cli("recover", "olha", "--recovery-key-file", str(key), "--new-password-file",
                     str(new), *FAST, data=data, user=None)
    assert nobody.returncode == 4
    assert "'olha' is not an admin account of this site" in nobody.stderr
    listed = json.loads(run_cli("audit", "list", "--json", data=data).stdout)
    assert [e["actor"] for e in listed if e["action"] == "login_failed"] == ["@recovery"]
    assert not [e for e in listed if e["action"] == "recovery_key_used"]


def test_a_backup_is_restored_with_the_recovery_key_alone(  # type: ignore[no-untyped-def]
    run_cli, lost, tmp_path: Path
) -> None:
    data, key, new = lost
    phrase = tmp_path / "phrase.txt"
    phrase.write_text("a long backup passphrase\n")
    made = run_cli("backup", "-o", str(tmp_path / "site.backup"), "--passphrase-file",
                   str(phrase), data=data)
    assert made.returncode == 0, made.stderr
    # Both the machine and the admin's password are lost; the backup and the key are not.
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("AAAAA-" * 10 + "AA\n")
    target = tmp_path / "restored"
    refused = run_cli("restore", str(tmp_path / "site.backup"), "--data", str(target),
                      "--passphrase-file", str(phrase), "--recovery-key-file", str(wrong),
                      data=data, user=None)
    assert refused.returncode == 3, refused.stderr
    assert not target.exists()
    restored = run_cli("restore", str(tmp_path / "site.backup"), "--data", str(target),
                       "--passphrase-file", str(phrase), "--recovery-key-file", str(key),
                       data=data, user=None)
    assert restored.returncode == 0, restored.stderr
    assert "Restored the backup" in restored.stdout
    recovered = run_cli("recover", "admin", "--recovery-key-file", str(key),
                        "--new-password-file", str(new), *FAST, data=target, user=None)
    assert recovered.returncode == 0, recovered.stderr
    listed = run_cli("audit", "list", "--json", data=target, password_file_path=new)
    assert listed.returncode == 0, listed.stderr
    restore_entries = [e for e in json.loads(listed.stdout)
                       if e["action"] == "restored_from_backup"]
    assert [e["actor"] for e in restore_entries] == ["@recovery"]
    both = run_cli("restore", str(tmp_path / "site.backup"), "--data", str(tmp_path / "x"),
                   "--passphrase-file", str(phrase), "--recovery-key-file", str(key),
                   data=data)
    assert both.returncode == 2
    assert "not both" in both.stderr


def test_backup_and_restore_read_both_secrets_from_stdin_in_one_order(  # type: ignore[no-untyped-def]
    run_cli, lost, tmp_path: Path
) -> None:
    data, _key, _new = lost
    secrets = f"{PASSWORD}\na long backup passphrase\n"  # the login's password, then the phrase
    backup = tmp_path / "site.backup"
    made = run_cli("backup", "-o", str(backup), "--passphrase-file", "-", data=data,
                   stdin=secrets, password_file_path=Path("-"))
    assert made.returncode == 0, made.stderr
    restored = run_cli("restore", str(backup), "--data", str(tmp_path / "restored"),
                       "--passphrase-file", "-", data=data, stdin=secrets,
                       password_file_path=Path("-"))
    assert restored.returncode == 0, restored.stderr


def test_a_key_typed_with_a_cyrillic_letter_is_refused_as_a_recovery_key(  # type: ignore[no-untyped-def]
    run_cli, lost, tmp_path: Path
) -> None:
    """A key typed while the keyboard was set to Ukrainian (a Cyrillic А for the Latin A) is
    a wrong key like any other: refused as one and journaled, not an unexpected failure."""
    data, key, new = lost
    typed = tmp_path / "typed.txt"
    printed = key.read_text(encoding="utf-8").strip()
    cyrillic = {"A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "K": "К", "M": "М", "O": "О",
                "P": "Р", "T": "Т", "X": "Х"}
    letter = next(ch for ch in printed if ch in cyrillic)  # 52 characters: one is among them
    typed.write_text(printed.replace(letter, cyrillic[letter]) + "\n", encoding="utf-8")
    refused = run_cli("recover", "admin", "--recovery-key-file", str(typed),
                      "--new-password-file", str(new), *FAST, data=data, user=None)
    assert refused.returncode == 3, refused.stderr
    assert refused.stderr == (
        "haven-admin: that is not a recovery key: it is written in Latin letters (switch the"
        " keyboard to English)\n")
    listed = json.loads(run_cli("audit", "list", "--json", data=data).stdout)
    assert [e["actor"] for e in listed if e["action"] == "login_failed"] == ["@recovery"]
