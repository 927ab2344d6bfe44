"""Backups: an age file of the whole vault that opens with a passphrase, here or with `age -d`."""

from __future__ import annotations

import re
import shutil
import signal
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop import cli
from desktop.errors import HavenError, InputRejected, PermissionDenied
from desktop.session import Session
from desktop.transfer import age
from desktop.transfer.backup import write_backup
from desktop.transfer.service import restore
from tests.conftest import FAST_KDF, PASSWORD, cli_env, run_at_terminal
from tests.desktop.transfer.sites import (
    HavenSite,
    canonical_dump,
    make_sites,
    new_case,
)
from tests.desktop.transfer.test_age import run_with_passphrase

PASSPHRASE = "a long backup passphrase"
NAME = "Ткаченко Євген Олегович"
# Tests use a small scrypt cost; the product writes the age default (2**18).
FAST_WORK_FACTOR = 12


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[list[HavenSite]]:
    pair = make_sites(tmp_path, ["north", "south"])
    new_case(pair[0], NAME, "+380931112233")
    yield pair
    for site in pair:
        site.close()


def backup(site: HavenSite, path: Path) -> Path:
    write_backup(site.session.vault, path, PASSPHRASE, FAST_WORK_FACTOR)
    return path


def test_backup_and_restore_on_a_new_machine(sites: list[HavenSite], tmp_path: Path) -> None:
    north, south = sites
    path = backup(north, tmp_path / "north.backup")
    restored = tmp_path / "new-machine" / "data"
    info = restore(path, restored, PASSPHRASE, "admin", PASSWORD)
    assert info.site_id == north.site_id
    again = Session.open(restored, "admin", PASSWORD)
    try:
        copy = HavenSite("north", restored, again)
        assert canonical_dump(copy) == canonical_dump(north)
        assert again.verify_audit().ok
        assert again.vault.integrity_problems() == []
        assert [hit.names for hit in again.search("Tkachenko")] == [NAME]
        assert {p.stat().st_mode & 0o777 for p in restored.iterdir()} == {0o600}
        # The restored site numbers its files afresh; South takes them, no replay.
        copy.service.export(["south"], tmp_path / "after.haven", full=False)
        assert south.service.import_file(tmp_path / "after.haven").cases_new == 1
    finally:
        again.close()


def test_the_backup_holds_nothing_readable(sites: list[HavenSite], tmp_path: Path) -> None:
    north, _ = sites
    path = backup(north, tmp_path / "north.backup")
    data = path.read_bytes()
    assert data.startswith(b"age-encryption.org/v1\n-> scrypt ")
    for secret in (NAME.encode(), b"931112233", b"SQLite format 3", b"keyslots"):
        assert secret not in data
    # Even decrypted, the database inside is the SQLCipher-encrypted copy.
    inner = age.decrypt(data, [age.ScryptIdentity(PASSPHRASE)])
    assert b"SQLite format 3" not in inner
    assert NAME.encode() not in inner
    with tarfile.open(fileobj=__import__("io").BytesIO(inner)) as tar:
        assert tar.getnames() == ["backup.json", "keyslots.json", "haven.db"]


@pytest.mark.skipif(shutil.which("age") is None, reason="the age CLI is not installed")
def test_age_cli_opens_the_backup_with_the_passphrase(sites: list[HavenSite],
                                                      tmp_path: Path) -> None:
    north, _ = sites
    path = backup(north, tmp_path / "north.backup")
    out = tmp_path / "inside.tar"  # an encrypted database and keyslots: nothing in plaintext
    assert run_with_passphrase(["age", "-d", "-o", str(out), str(path)], PASSPHRASE) == 0
    with tarfile.open(out) as tar:
        assert tar.getnames() == ["backup.json", "keyslots.json", "haven.db"]


def test_wrong_passphrase_or_damage_leaves_nothing(sites: list[HavenSite],
                                                   tmp_path: Path) -> None:
    north, _ = sites
    path = backup(north, tmp_path / "north.backup")
    target = tmp_path / "restore"
    with pytest.raises(InputRejected, match="passphrase"):
        restore(path, target, "not the passphrase", "admin", PASSWORD)
    assert not target.exists()  # the folder the restore made is gone again
    damaged = tmp_path / "damaged.backup"
    data = bytearray(path.read_bytes())
    data[-100] ^= 1
    damaged.write_bytes(bytes(data))
    with pytest.raises(InputRejected, match="damaged"):
        restore(damaged, target, PASSPHRASE, "admin", PASSWORD)
    assert not target.exists()
    target.mkdir()  # a folder the IT officer made is left, empty
    transfer_file = tmp_path / "to-south.haven"
    transfer_file.write_bytes(b"manifest.json" + bytes(600))
    with pytest.raises(InputRejected, match=r"to-south\.haven is not a Haven backup"):
        restore(transfer_file, target, PASSPHRASE, "admin", PASSWORD)
    assert list(target.iterdir()) == []
    with pytest.raises(InputRejected, match="holds files of a vault"):
        restore(path, north.data, PASSPHRASE, "admin", PASSWORD)


@pytest.mark.parametrize("left", ["haven.db-wal", "haven.db-shm", "failed-logins.jsonl"])
def test_a_folder_with_a_vaults_files_is_refused_and_keeps_them(
    sites: list[HavenSite], tmp_path: Path, left: str
) -> None:
    # What a damaged vault's folder holds once its database and keyslots were moved aside:
    # its WAL may be the only copy of the latest changes.
    north, _ = sites
    path = backup(north, tmp_path / "north.backup")
    folder = tmp_path / "damaged-site"
    folder.mkdir()
    (folder / left).write_bytes(b"the latest changes")
    with pytest.raises(InputRejected) as refused:
        restore(path, folder, PASSPHRASE, "admin", PASSWORD)
    assert str(refused.value) == (
        f"{folder} holds files of a vault ({left}); restore into a new folder"
    )
    assert [(p.name, p.read_bytes()) for p in folder.iterdir()] == [
        (left, b"the latest changes")
    ]


def test_restoring_needs_a_user_who_may(sites: list[HavenSite], tmp_path: Path) -> None:
    from db.records import Role

    north, _ = sites
    north.session.add_user("clerk", Role.OPERATOR, PASSWORD, FAST_KDF)
    path = backup(north, tmp_path / "north.backup")
    target = tmp_path / "restore"
    with pytest.raises(PermissionDenied):
        restore(path, target, PASSPHRASE, "clerk", PASSWORD)
    assert not target.exists()
    target.mkdir()
    with pytest.raises(HavenError, match="wrong user name or password"):
        restore(path, target, PASSPHRASE, "admin", "not the password")
    assert list(target.iterdir()) == []  # not even the failed login's journal


def test_backup_and_restore_through_the_cli(sites: list[HavenSite], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    north, _ = sites
    # The CLI writes the age default cost; lower it here only to keep the test quick.
    monkeypatch.setattr(age, "DEFAULT_SCRYPT_WORK_FACTOR", FAST_WORK_FACTOR)
    password = tmp_path / "password.txt"
    password.write_text(PASSWORD + "\n")
    phrase = tmp_path / "phrase.txt"
    phrase.write_text(PASSPHRASE + "\n")
    common = ["--user", "admin", "--password-file", str(password)]
    path = tmp_path / "cli.backup"
    assert cli.main(["--data", str(north.data), *common, "backup", "-o", str(path),
                     "--passphrase-file", str(phrase)]) == 0
    target = tmp_path / "restored"
    assert cli.main([*common, "restore", str(path), "--data", str(target),
                     "--passphrase-file", str(phrase)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # no terminal, so no progress line: what scripts always saw
    said = captured.out.splitlines()[1:]  # after what backup said
    # Which site came back, and what it means for accounts changed since the backup.
    assert said[0].startswith(
        f"Restored the backup of site 'Site north' ({north.site_id}) made "
    )
    assert said[1] == "Accounts are as they were then: disable again any account disabled since."
    # A drill must not send files: its peers would take the real site for a rewritten one.
    assert said[-1] == (
        "If this was a drill and the site's own computer goes on working: send no file from"
        " this copy and delete its folder; a peer that hears from both copies refuses the"
        " site's files afterwards as a rewritten history.")
    assert cli.main([*common, "restore", str(path), "--data", str(target),
                     "--passphrase-file", str(phrase)]) == 4
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n")
    assert cli.main([*common, "restore", str(path), "--data", str(a_file),
                     "--passphrase-file", str(phrase)]) == 4
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"haven-admin: {a_file} is a file, not a folder; restore into a new folder"
    )
    short = tmp_path / "short.txt"
    short.write_text("short\n")
    assert cli.main(["--data", str(north.data), *common, "backup", "-o",
                     str(tmp_path / "x.backup"), "--passphrase-file", str(short)]) == 4


@pytest.mark.parametrize("work_factor", [21, 30])
def test_a_backup_asking_for_too_much_passphrase_work_is_refused_at_once(
    sites: list[HavenSite], tmp_path: Path, work_factor: int
) -> None:
    north, _ = sites
    path = backup(north, tmp_path / "north.backup")
    made = path.read_bytes()
    stanza = made.index(b"-> scrypt ")
    line_end = made.index(b"\n", stanza)
    salt = made[stanza:line_end].split(b" ")[2]
    costly = tmp_path / "costly.backup"
    costly.write_bytes(
        made[:stanza] + b"-> scrypt " + salt + b" %d" % work_factor + made[line_end:]
    )
    target = tmp_path / "restore"
    with pytest.raises(InputRejected) as refused:
        restore(costly, target, PASSPHRASE, "admin", PASSWORD)
    assert str(refused.value) == (
        "the backup asks for more passphrase work than a restore allows (scrypt work factor"
        f" {work_factor} is above the limit of 20); Haven and age make backups with 18"
    )
    assert not target.exists()


def _backup_stopped(north: HavenSite, tmp_path: Path, signal_number: int) -> tuple[Path, str]:
    """Stop a CLI backup of ``north`` with a signal once it is written but not in place;
    the stick it was written to, and what the command said."""
    from tests.killed import kill_at

    north.close()
    phrase = tmp_path / "phrase.txt"
    phrase.write_text(PASSPHRASE + "\n")
    stick = tmp_path / "stick"
    stick.mkdir()
    said = kill_at("desktop.files", "publish", "before", north.data,
                   "backup", "-o", str(stick / "first.backup"), "--passphrase-file", str(phrase),
                   signal_number=signal_number)
    north.session = Session.open(north.data, "admin", PASSWORD)
    return stick, said


def test_what_a_killed_backup_left_goes_with_the_next_backup(
    sites: list[HavenSite], tmp_path: Path
) -> None:
    north, _ = sites
    stick, _said = _backup_stopped(north, tmp_path, signal.SIGKILL)
    # Killed with the backup written but not in place: a hidden part on the stick, and
    # the snapshot it was made from in the vault's folder.
    assert [p.name.startswith(".first.backup.") for p in stick.iterdir()] == [True]
    assert len(list(north.data.glob(".backup-*"))) == 1
    backup(north, stick / "second.backup")
    assert [p.name for p in stick.iterdir()] == ["second.backup"]
    assert list(north.data.glob(".backup-*")) == []


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGHUP])
def test_a_backup_stopped_by_a_shutdown_or_logout_takes_back_what_it_wrote(
    sites: list[HavenSite], tmp_path: Path, signal_number: int
) -> None:
    north, _ = sites
    stick, said = _backup_stopped(north, tmp_path, signal_number)
    assert said == "haven-admin: interrupted; nothing was half-written\n"
    assert list(stick.iterdir()) == []
    assert list(north.data.glob(".backup-*")) == []


def _shown(output: str, doing: str) -> list[int]:
    """The percentages a progress line showed, in order."""
    return [int(found) for found in re.findall(rf"\r{doing}… (\d+)%", output)]


def test_backup_and_restore_show_how_far_they_are_at_a_terminal(
    sites: list[HavenSite], tmp_path: Path
) -> None:
    north, _ = sites
    north.close()
    password = tmp_path / "password.txt"
    password.write_text(PASSWORD + "\n")
    phrase = tmp_path / "phrase.txt"
    phrase.write_text(PASSPHRASE + "\n")
    path = tmp_path / "north.backup"
    haven_admin = [sys.executable, "-m", "desktop.cli", "--user", "admin", "--password-file",
                   str(password)]

    code, output = run_at_terminal(
        [*haven_admin, "--data", str(north.data), "backup", "-o", str(path),
         "--passphrase-file", str(phrase)], lambda _: None, env=cli_env())
    text = output.decode()
    assert code == 0, text
    shown = _shown(text, "Writing the backup")
    assert (shown[:1], shown[-1:]) == ([0], [100]), text
    assert shown == sorted(shown)  # the line never goes back
    # Cleared before the command says what it did.
    cleared = "\r" + " " * len("Writing the backup… 100%") + "\r"
    assert f"\rWriting the backup… 100%{cleared}Backup written to {path}" in text

    target = tmp_path / "restored"
    code, output = run_at_terminal(
        [*haven_admin, "restore", str(path), "--data", str(target), "--passphrase-file",
         str(phrase)], lambda _: None, env=cli_env())
    text = output.decode()
    assert code == 0, text
    shown = _shown(text, "Restoring the backup")
    assert (shown[:1], shown[-1:]) == ([0], [100]), text
    assert shown == sorted(shown)
    cleared = "\r" + " " * len("Restoring the backup… 100%") + "\r"
    assert f"\rRestoring the backup… 100%{cleared}Restored the backup of site 'Site north'" in text
    north.session = Session.open(north.data, "admin", PASSWORD)


class _CtrlC:
    """A progress callback at which Ctrl+C arrives: a signal's handler raises in whatever
    the main thread runs, here at its first call there that tells at least ``share`` of
    the way (and more than nothing)."""

    def __init__(self, share: float) -> None:
        self._share = share
        self.arrived = False

    def __call__(self, done: int, total: int) -> None:
        main = threading.current_thread() is threading.main_thread()
        if main and done > 0 and done >= self._share * total:
            self.arrived = True
            raise KeyboardInterrupt


# As the snapshot is done (or a restore has read the backup's start), in the middle of the
# encryption or the unpacking, and once all was read.
@pytest.mark.parametrize("share", [0.01, 0.85, 1.0])
def test_a_backup_or_restore_interrupted_on_the_way_leaves_nothing(
    sites: list[HavenSite], tmp_path: Path, share: float
) -> None:
    north, _ = sites
    for index in range(150):  # a backup of several chunks beyond what a restore reads first
        new_case(north, f"Коваленко {index}")
    stick = tmp_path / "stick"
    stick.mkdir()
    ctrl_c = _CtrlC(share)
    with pytest.raises(KeyboardInterrupt):
        north.service.backup(stick / "north.backup", PASSPHRASE, FAST_WORK_FACTOR, ctrl_c)
    assert ctrl_c.arrived
    assert list(stick.iterdir()) == []
    assert list(north.data.glob(".backup-*")) == []
    assert "backup_made" not in {entry.action for entry in north.session.audit_entries()}

    path = backup(north, stick / "north.backup")
    target = tmp_path / "new-machine" / "data"
    ctrl_c = _CtrlC(share)
    with pytest.raises(KeyboardInterrupt):
        restore(path, target, PASSPHRASE, "admin", PASSWORD, progress=ctrl_c)
    assert ctrl_c.arrived
    assert not target.exists()
    restore(path, target, PASSPHRASE, "admin", PASSWORD)  # and it can be done again
    assert sorted(p.name for p in target.iterdir()) == ["haven.db", "keyslots.json"]
