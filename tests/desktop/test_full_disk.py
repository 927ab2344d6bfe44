"""A full disk, under the vault or under the file being written: one clear line, nothing lost.

The disks are real: a small tmpfs filled to its last page, so SQLite and the file writes
meet ENOSPC as they would on a full workstation disk or USB stick.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from db import vault as vault_module
from db.records import Role
from db.vault import Vault, VaultFull
from desktop.errors import AuthenticationFailed
from desktop.session import Session
from tests.conftest import FAST_KDF, PASSWORD, SmallDisk
from tests.desktop.test_cli import CASE
from tests.desktop.transfer.sites import (
    HavenSite,
    make_site,
    make_sites,
    new_case,
    pair,
    vault_digest,
)

FULL_VAULT = (
    "haven-admin: the disk that holds the vault is full: nothing was saved; free some space,"
    " then try again\n"
)


def _digest(data: Path) -> str:
    site = HavenSite(data.name, data, Session.open(data, "admin", PASSWORD))
    try:
        return vault_digest(site)
    finally:
        site.close()


def _integrity(data: Path) -> list[str]:
    vault = Vault.unlock(data, "admin", PASSWORD)
    try:
        return vault.integrity_problems()
    finally:
        vault.close()


def test_a_case_saved_on_a_full_disk_is_refused_and_the_vault_stays_whole(
    small_disk: SmallDisk, run_cli  # type: ignore[no-untyped-def]
) -> None:
    site = make_site(small_disk.path, "north")
    new_case(site, "Бондар Ганна")
    before = vault_digest(site)
    filler = small_disk.fill()

    with pytest.raises(VaultFull):
        new_case(site, "Коваль Олена")
    assert vault_digest(site) == before
    site.close()
    result = run_cli("case", "add", "--json", "-", data=site.data, stdin=json.dumps(CASE))
    assert result.returncode == 1
    assert result.stderr == FULL_VAULT

    filler.unlink()
    assert _integrity(site.data) == []
    result = run_cli("case", "add", "--json", "-", data=site.data, stdin=json.dumps(CASE))
    assert result.returncode == 0, result.stderr
    listed = run_cli("case", "list", "--json", data=site.data)
    assert len(json.loads(listed.stdout)) == 2


def test_an_import_onto_a_full_disk_changes_nothing_and_can_be_done_again(
    small_disk: SmallDisk, tmp_path: Path, run_cli  # type: ignore[no-untyped-def]
) -> None:
    sender = make_site(tmp_path, "north")
    receiver = make_site(small_disk.path, "south")
    pair(sender, receiver)
    for index in range(40):
        new_case(sender, f"Шевченко {index}")
    path = tmp_path / "to-south.haven"
    sender.service.export(["south"], path, full=False)
    before = vault_digest(receiver)
    filler = small_disk.fill()
    receiver.close()

    result = run_cli("import", str(path), data=receiver.data)
    assert result.returncode == 1
    assert result.stderr == FULL_VAULT

    filler.unlink()
    assert _integrity(receiver.data) == []
    assert _digest(receiver.data) == before
    result = run_cli("import", str(path), data=receiver.data)
    assert result.returncode == 0, result.stderr
    assert "40 new cases" in result.stdout
    sender.close()


@pytest.mark.parametrize("what", ["export", "backup"])
def test_a_file_written_to_a_full_medium_is_taken_away_and_nothing_changes(
    small_disk: SmallDisk, tmp_path: Path, run_cli, what: str  # type: ignore[no-untyped-def]
) -> None:
    north, south = make_sites(tmp_path, ["north", "south"])
    for index in range(60):
        new_case(north, f"Коваленко {index}")
    (small_disk.path / "ballast").write_bytes(bytes(4 * 1024 * 1024 - 96 * 1024))
    before = vault_digest(north)
    north.close()
    target = small_disk.path / f"out.{what}"
    passphrase = tmp_path / "passphrase.txt"
    passphrase.write_text("a long backup passphrase\n")
    command = (
        ["export", "--to", "south", "-o", str(target)] if what == "export"
        else ["backup", "-o", str(target), "--passphrase-file", str(passphrase)]
    )

    result = run_cli(*command, data=north.data)
    assert result.returncode == 1
    assert result.stderr == (
        f"haven-admin: cannot write {target}: No space left on device; nothing was written\n"
    )
    assert sorted(os.listdir(small_disk.path)) == ["ballast"]  # no part of the file stayed
    assert _digest(north.data) == before

    (small_disk.path / "ballast").unlink()
    result = run_cli(*command, data=north.data)
    assert result.returncode == 0, result.stderr
    if what == "export":  # the failed export took no file number
        south.service.import_file(target)
        assert len(south.session.search("Коваленко")) == 60
    south.close()


def test_a_vault_on_a_full_disk_says_so_when_it_is_opened(
    small_disk: SmallDisk, run_cli  # type: ignore[no-untyped-def]
) -> None:
    site = make_site(small_disk.path, "north")
    new_case(site, "Бондар Ганна")
    site.close()
    filler = small_disk.fill()

    # Not "damaged or belongs to another vault": the disk is full, and that is all.
    with pytest.raises(VaultFull, match="cannot be opened until some space is freed"):
        Session.open(site.data, "admin", PASSWORD)
    result = run_cli("case", "list", data=site.data)
    assert result.returncode == 1
    assert result.stderr == (
        "haven-admin: the disk that holds the vault is full: the vault cannot be opened until"
        " some space is freed\n"
    )

    filler.unlink()
    listed = run_cli("case", "list", "--json", data=site.data)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 1


def test_a_restore_onto_a_full_disk_leaves_the_folder_empty_and_can_be_done_again(
    small_disk: SmallDisk, tmp_path: Path, run_cli  # type: ignore[no-untyped-def]
) -> None:
    north = make_site(tmp_path, "north")
    for index in range(30):
        new_case(north, f"Мельник {index}")
    north.close()
    passphrase = tmp_path / "passphrase.txt"
    passphrase.write_text("a long backup passphrase\n")
    backup = tmp_path / "north.backup"
    made = run_cli("backup", "-o", str(backup), "--passphrase-file", str(passphrase),
                   data=north.data)
    assert made.returncode == 0, made.stderr
    target = small_disk.path / "restored"
    (small_disk.path / "ballast").write_bytes(bytes(4 * 1024 * 1024 - 160 * 1024))
    restore = ("restore", str(backup), "--data", str(target), "--passphrase-file",
               str(passphrase))

    result = run_cli(*restore, data=tmp_path / "unused")
    assert result.returncode == 1
    assert result.stderr == (
        f"haven-admin: cannot write into {target}: No space left on device; nothing was"
        " restored\n"
    )
    assert not target.exists()  # the folder it made is taken back too

    (small_disk.path / "ballast").unlink()
    result = run_cli(*restore, data=tmp_path / "unused")
    assert result.returncode == 0, result.stderr
    listed = run_cli("case", "list", "--json", data=target)
    assert len(json.loads(listed.stdout)) == 30


def test_a_key_card_written_to_a_full_medium_leaves_nothing_there(
    small_disk: SmallDisk, tmp_path: Path, run_cli  # type: ignore[no-untyped-def]
) -> None:
    site = make_site(tmp_path, "north")
    site.close()
    target = small_disk.path / "key-card.pdf"
    filler = small_disk.fill()

    result = run_cli("site", "key-card", "-o", str(target), data=site.data)
    assert result.returncode == 1
    assert result.stderr == (
        f"haven-admin: cannot write {target}: No space left on device; nothing was written\n"
    )
    assert sorted(path.name for path in small_disk.path.iterdir()) == ["filler"]

    assert _actions(run_cli, site.data).count("key_card_printed") == 0  # none was made

    filler.unlink()
    result = run_cli("site", "key-card", "-o", str(target), data=site.data)
    assert result.returncode == 0, result.stderr
    assert target.read_bytes().startswith(b"%PDF-")
    assert _actions(run_cli, site.data).count("key_card_printed") == 1


def _actions(run_cli, data: Path) -> list[str]:  # type: ignore[no-untyped-def]
    listed = run_cli("audit", "list", "--json", data=data)
    assert listed.returncode == 0, listed.stderr
    return [entry["action"] for entry in json.loads(listed.stdout)]


def test_a_site_created_on_a_full_disk_leaves_no_vault_and_can_be_created_again(
    small_disk: SmallDisk, run_cli  # type: ignore[no-untyped-def]
) -> None:
    filler = small_disk.fill()
    os.truncate(filler, filler.stat().st_size - 100 * 1024)  # room for a little, not a vault
    data = small_disk.path / "site"
    init = ("init", "--site-name", "Північ", "--admin", "admin", "--new-password-file",
            str(run_cli.password_file), "--kdf-memory", "19", "--kdf-passes", "2")

    result = run_cli(*init, data=data, user=None)
    assert result.returncode == 1
    assert result.stderr == (
        "haven-admin: the disk is full: no vault was created; free some space, then try again\n"
    )
    assert list(data.iterdir()) == []

    filler.unlink()
    result = run_cli(*init, data=data, user=None)
    assert result.returncode == 0, result.stderr
    assert "Recovery key" in result.stdout


def test_a_user_added_on_a_full_disk_is_not_half_added(small_disk: SmallDisk) -> None:
    site = make_site(small_disk.path, "north")
    session = site.session
    for index in range(10):
        new_case(site, f"Мельник {index}")
    with session.vault.reading() as conn:
        # The next writes reuse the WAL's room from its start: the vault's own writes still
        # fit on the full disk, and only the keyslot file, which needs a new block, does not.
        conn.execute("PRAGMA wal_checkpoint(RESTART)")
    filler = small_disk.fill()

    with pytest.raises(VaultFull):
        session.add_user("olena", Role.OPERATOR, PASSWORD, FAST_KDF)
    assert [user.name for user in session.list_users()] == ["admin"]
    assert {slot.user for slot in session.vault.read_slots().slots} == {"admin", "@recovery"}

    filler.unlink()
    session.add_user("olena", Role.OPERATOR, PASSWORD, FAST_KDF)  # not "exists already"
    site.close()
    Session.open(site.data, "olena", PASSWORD).close()


def test_a_password_changed_on_a_full_disk_stays_the_old_one(small_disk: SmallDisk) -> None:
    site = make_site(small_disk.path, "north")
    filler = small_disk.fill()
    with pytest.raises(VaultFull):
        site.session.change_password("admin", "a new long password", FAST_KDF)
    site.close()
    filler.unlink()
    session = Session.open(site.data, "admin", PASSWORD)
    with pytest.raises(AuthenticationFailed):
        Session.open(site.data, "admin", "a new long password")

    session.change_password("admin", "a new long password", FAST_KDF)  # now there is room
    session.close()
    Session.open(site.data, "admin", "a new long password").close()
    with pytest.raises(AuthenticationFailed):
        Session.open(site.data, "admin", PASSWORD)


def _leave_free(disk: SmallDisk, room: int) -> Path:
    """Fill the disk but for ``room`` bytes; returns the filler."""
    filler = disk.fill()
    free = os.statvfs(disk.path).f_bavail * os.statvfs(disk.path).f_frsize
    with filler.open("r+b") as handle:
        handle.truncate(max(0, filler.stat().st_size - (room - free)))
    return filler


@pytest.mark.parametrize("room", [64 * 1024, 160 * 1024])
@pytest.mark.parametrize("found", ["before", "while re-keying"])
@pytest.mark.parametrize("wal", ["checkpointed", "holding the last writes"])
def test_a_rekey_without_room_changes_nothing_and_every_key_still_opens(
    small_disk: SmallDisk, room: int, found: str, wal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(small_disk.path, "north")
    session = site.session
    for index in range(60):
        new_case(site, f"Мельник {index}")
        if index % 10 == 9:  # the WAL would take the small disk
            with session.vault.reading() as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with session.vault.reading() as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    session.add_user("olena", Role.OPERATOR, PASSWORD, FAST_KDF)
    database = site.data / "haven.db"
    if wal == "checkpointed":
        with session.vault.reading() as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    else:  # the last writes, an import say, still in the WAL: the database grows to take them
        with session.vault.transaction() as conn:
            conn.execute("CREATE TABLE spare AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL"
                         " SELECT i + 1 FROM n WHERE i < 200) SELECT randomblob(3000) FROM n")
        assert (site.data / "haven.db-wal").stat().st_size > 600_000
    before = vault_digest(site)
    assert database.stat().st_size > room  # less room than a re-keying's journal takes
    filler = _leave_free(small_disk, room)
    if found == "while re-keying":  # as if the room went while it ran: SQLCipher's own failure
        monkeypatch.setattr(vault_module, "room_for_rekey", lambda _data_dir: None)

    with pytest.raises(VaultFull, match="needs as much free space as the vault takes"):
        session.rekey_vault()
    assert vault_digest(site) == before  # this session goes on with the vault as it was
    site.close()
    filler.unlink()
    for user in ("admin", "olena"):  # and every account opens it, as before
        Session.open(site.data, user, PASSWORD).close()
    assert _integrity(site.data) == []
    assert _digest(site.data) == before
