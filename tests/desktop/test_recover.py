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
