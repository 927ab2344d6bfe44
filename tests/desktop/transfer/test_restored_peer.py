"""A peer restored from a backup: its files are refused until its audit checkpoint is reset."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from db import peers
from db.records import Role
from desktop import cli
from desktop.session import Session
from desktop.transfer.service import restore
from tests.conftest import FAST_KDF, PASSWORD
from tests.desktop.transfer.sites import (
    HavenSite,
    assert_refused,
    canonical_dump,
    make_sites,
    new_case,
    rewrite_audit_entry,
    vault_digest,
)
from tests.desktop.transfer.test_audit_union import held_of, own_log
from tests.desktop.transfer.test_backup import FAST_WORK_FACTOR, PASSPHRASE
from tests.desktop.transfer.test_sync import send


@dataclass
class World:
    north: HavenSite
    south: HavenSite
    opened: list[HavenSite] = field(default_factory=list)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    north, south = make_sites(tmp_path, ["north", "south"])
    world = World(north, south, [north, south])
    yield world
    for site in world.opened:
        site.close()


def admin(site: HavenSite, capsys: pytest.CaptureFixture[str], *args: str,
          user: str = "admin") -> tuple[int, str, str]:
    """haven-admin as the site's IT officer runs it: exit code, stdout, stderr."""
    password_file = site.data.parent / "password.txt"
    password_file.write_text(PASSWORD + "\n")
    capsys.readouterr()
    code = cli.main(["--data", str(site.data), "--user", user, "--password-file",
                     str(password_file), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def accepted_size(recipient: HavenSite, sender: HavenSite) -> int:
    with recipient.session.vault.reading() as conn:
        return peers.latest_checkpoint_size(conn, sender.site_id)


def last_audit_entry(site: HavenSite) -> tuple[str, str, str]:
    with site.session.vault.reading() as conn:
        row = conn.execute(
            "SELECT actor, action, detail FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    return str(row[0]), str(row[1]), str(row[2])


def exchange(world: World, folder: Path) -> None:
    """Each site registers a case and sends it to the other: checkpoints accepted both ways."""
    new_case(world.south, "Шевченко Тарас")
    assert world.north.service.import_file(send(world.south, world.north, folder)).cases_new == 1
    new_case(world.north, "Коваленко Андрій")
    assert world.south.service.import_file(send(world.north, world.south, folder)).cases_new == 1


def restored_south(world: World, folder: Path, in_transit: list[Path] | None = None) -> HavenSite:
    """South backs up, moves on, and is then restored from that backup on a new machine.

    With ``in_transit``, South also writes North a file that North has not imported by the
    time of the restore (the stick is still on its way).
    """
    saved = folder / "south.backup"
    world.south.service.backup(saved, PASSPHRASE, FAST_WORK_FACTOR)
    new_case(world.south, "Бондаренко Юрій")
    before = accepted_size(world.north, world.south)
    assert world.north.service.import_file(send(world.south, world.north, folder)).cases_new == 1
    assert accepted_size(world.north, world.south) > before
    if in_transit is not None:
        new_case(world.south, "Лисенко Максим")
        in_transit.append(send(world.south, world.north, folder))
    world.south.close()
    world.opened.remove(world.south)
    data = folder / "south-new-machine"
    restore(saved, data, PASSPHRASE, "admin", PASSWORD)
    site = HavenSite("south", data, Session.open(data, "admin", PASSWORD))
    world.opened.append(site)
    return site


def refused_after_restore(
    world: World, folder: Path, capsys: pytest.CaptureFixture[str],
    in_transit: list[Path] | None = None,
) -> tuple[HavenSite, Path]:
    """South restored from a backup, and its first file since, refused by North: the file
    that shows North the restore (a new file numbering), and the reset's evidence."""
    exchange(world, folder)
    south = restored_south(world, folder, in_transit)
    new_case(south, "Мельник Олена")
    first = send(south, world.north, folder)
    assert_refused(world.north, first, capsys, f"reset-checkpoint south {first}")
    return south, first


def test_a_restored_peer_imports_again_once_its_checkpoint_is_reset(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north = world.north
    south, first = refused_after_restore(world, tmp_path, capsys)
    forgotten = accepted_size(north, south)

    code, out, err = admin(north, capsys, "peer", "reset-checkpoint", "south", str(first),
                           "--yes")
    assert code == 0, err
    assert f"Forgot the audit checkpoint of {forgotten} entries accepted from 'south'" in out
    actor, action, detail = last_audit_entry(north)
    assert (actor, action) == ("admin", "peer_checkpoint_reset")
    assert detail.startswith(f"south: forgot the audit checkpoint of {forgotten} entries (root ")
    assert accepted_size(north, south) == 0
    assert north.session.verify_audit().ok

    # The refused file, carried over again: #1 of South's new epoch, not a replay of the old #1.
    report = north.service.import_file(first)
    assert (report.sequence, report.cases_new, report.missing_count) == (1, 1, 0)
    assert accepted_size(north, south) > 0
    # Later files are checked against the checkpoint accepted now.
    new_case(south, "Ткаченко Євген")
    assert north.service.import_file(send(south, north, tmp_path)).sequence == 2
    # North sends back what South lost with the restore; both sites hold the same.
    assert south.service.import_file(send(north, south, tmp_path)).cases_new == 1
    assert canonical_dump(south) == canonical_dump(north)
    assert len(south.session.search("Бондаренко")) == 1
    # South's audit entries from before the restore stay at North, set aside; its log as
    # it goes on now reaches North whole once North has said how little of it it holds.
    north.service.import_file(send(south, north, tmp_path))
    assert held_of(north, south) == own_log(south)
    set_aside = [e for e in north.session.audit_entries() if e.set_aside]
    assert set_aside
    assert {e.site for e in set_aside} == {"south"}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_reset_asks_first_unless_told_yes(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    north = world.north
    south, first = refused_after_restore(world, tmp_path, capsys)
    size = accepted_size(north, south)
    fingerprint = south.service.site_identity().fingerprint
    before = vault_digest(north)

    code, _, err = admin(north, capsys, "peer", "reset-checkpoint", "south", str(first))
    assert code == 2
    assert "use --yes" in err
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    code, out, err = admin(north, capsys, "peer", "reset-checkpoint", "south", str(first))
    assert code == 1
    assert "nothing was changed" in err
    assert "'south'" in out
    assert fingerprint in out
    assert f"the audit checkpoint of {size} entries" in out
    assert vault_digest(north) == before

    monkeypatch.setattr("sys.stdin", _Terminal("yes\n"))
    code, out, err = admin(north, capsys, "peer", "reset-checkpoint", "south", str(first))
    assert code == 0, err
    assert accepted_size(north, south) == 0


def test_unknown_revoked_or_unheard_peers_are_not_reset(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north, south = world.north, world.south
    before = vault_digest(north)
    unread = str(tmp_path / "not-read.haven")  # refused before the file is looked at
    code, _, err = admin(north, capsys, "peer", "reset-checkpoint", "nobody", unread, "--yes")
    assert (code, err) == (4, "haven-admin: no peer named 'nobody'\n")
    code, _, err = admin(north, capsys, "peer", "reset-checkpoint", "south", unread, "--yes")
    assert code == 4
    assert "nothing to reset" in err
    assert err.count("\n") == 1
    assert vault_digest(north) == before

    exchange(world, tmp_path)
    north.service.revoke_peer("south")
    before = vault_digest(north)
    code, _, err = admin(north, capsys, "peer", "reset-checkpoint", "south", unread, "--yes")
    assert code == 4
    assert "revoked" in err
    assert err.count("\n") == 1
    assert vault_digest(north) == before
    assert accepted_size(north, south) > 0


def test_only_it_and_admins_reset_a_checkpoint(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north = world.north
    south, first = refused_after_restore(world, tmp_path, capsys)
    for role in (Role.OPERATOR, Role.MANAGER, Role.IT):
        north.session.add_user(role.value, role, PASSWORD, FAST_KDF)
    for role in ("operator", "manager"):
        code, _, err = admin(north, capsys, "peer", "reset-checkpoint", "south", str(first),
                             "--yes", user=role)
        assert code == 3
        assert "may not" in err
        assert accepted_size(north, south) > 0
    code, _, err = admin(north, capsys, "peer", "reset-checkpoint", "south", str(first),
                         "--yes", user="it")
    assert code == 0, err
    assert last_audit_entry(north)[:2] == ("it", "peer_checkpoint_reset")


@pytest.mark.parametrize("late", ["after the restored site's first file", "before it"])
def test_a_file_written_before_the_restore_still_brings_its_cases(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], late: str
) -> None:
    north = world.north
    in_transit: list[Path] = []
    south, first = refused_after_restore(world, tmp_path, capsys, in_transit)
    stale = in_transit[0]
    assert admin(north, capsys, "peer", "reset-checkpoint", "south", str(first), "--yes")[0] == 0

    if late == "before it":
        code, out, _ = admin(north, capsys, "verify", str(stale))
        assert code == 0
        assert "written before that site was restored from a backup" in out
    else:
        assert north.service.import_file(first).cases_new == 1
    accepted = accepted_size(north, south)
    code, out, err = admin(north, capsys, "import", str(stale))
    assert code == 0, err
    assert "its cases are taken" in out
    report_line = out.splitlines()[0]
    assert "1 new cases" in report_line
    assert len(north.session.search("Лисенко")) == 1
    # Its checkpoint is of the log the restore lost: not taken, so South's files still fit.
    assert accepted_size(north, south) == accepted
    if late == "before it":
        assert north.service.import_file(first).cases_new == 1
    new_case(south, "Ткаченко Євген")
    assert north.service.import_file(send(south, north, tmp_path)).cases_new == 1
    assert north.session.verify_audit().ok
    # South gets back the case it lost with the restore.
    assert south.service.import_file(send(north, south, tmp_path)).cases_new >= 1
    assert len(south.session.search("Лисенко")) == 1
    assert canonical_dump(south) == canonical_dump(north)


def test_a_file_written_after_a_reset_is_checked_as_ever(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north = world.north
    south, first = refused_after_restore(world, tmp_path, capsys)
    assert admin(north, capsys, "peer", "reset-checkpoint", "south", str(first), "--yes")[0] == 0
    assert north.service.import_file(first).cases_new == 1
    new_case(south, "Гнатюк Віталій")
    report = north.service.import_file(send(south, north, tmp_path))
    assert (report.cases_new, report.before_reset) == (1, False)
    assert accepted_size(north, south) > 0



def test_a_reset_needs_a_file_that_shows_the_restore(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north, south = world.north, world.south
    exchange(world, tmp_path)
    accepted = accepted_size(north, south)

    # A file that North takes as it is shows nothing to reset.
    new_case(south, "Гнатюк Віталій")
    fine = send(south, north, tmp_path)
    before = vault_digest(north)
    code, _, err = admin(north, capsys, "peer", "reset-checkpoint", "south", str(fine), "--yes")
    assert code == 4
    assert "import it; there is nothing to reset" in err
    assert vault_digest(north) == before

    # South rewrites an old entry of its audit log and goes on with its file numbering, as
    # a site that was not restored does: the reset is refused, whoever asks for it.
    rewrite_audit_entry(south)
    rewritten = send(south, north, tmp_path)
    assert_refused(north, rewritten, capsys, "do not reset its checkpoint")
    before = vault_digest(north)
    code, _, err = admin(north, capsys, "peer", "reset-checkpoint", "south", str(rewritten),
                         "--yes")
    assert code == 4
    assert "that files were taken from before: it does not show a restore" in err
    assert err.count("\n") == 1
    code, _, err = admin(north, capsys, "peer", "reset-checkpoint", "south",
                         str(tmp_path / "missing.haven"), "--yes")
    assert code == 4
    assert "cannot read missing.haven" in err
    assert vault_digest(north) == before
    assert accepted_size(north, south) == accepted


def test_a_file_from_the_machine_replaced_by_the_restore_does_not_reset_again(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north = world.north
    old_data = world.south.data
    south, first = refused_after_restore(world, tmp_path, capsys)
    assert admin(north, capsys, "peer", "reset-checkpoint", "south", str(first), "--yes")[0] == 0
    assert north.service.import_file(first).cases_new == 1
    accepted = accepted_size(north, south)

    # The machine the restore replaced is started again and writes North a file of its old
    # numbering: refused, and it is no evidence of a restore.
    old = HavenSite("south", old_data, Session.open(old_data, "admin", PASSWORD))
    world.opened.append(old)
    new_case(old, "Савчук Ігор")
    stray = send(old, north, tmp_path)
    assert_refused(north, stray, capsys, "carries no proof")  # no reset suggested
    before = vault_digest(north)
    code, _, err = admin(north, capsys, "peer", "reset-checkpoint", "south", str(stray), "--yes")
    assert code == 4
    assert "does not show a restore from a backup" in err
    assert vault_digest(north) == before
    assert accepted_size(north, south) == accepted


def test_a_file_from_another_peer_is_no_evidence(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    north, south, east = make_sites(tmp_path, ["north", "south", "east"])
    try:
        world = World(north, south, [north, south])
        exchange(world, tmp_path)
        new_case(east, "Олійник Роман")
        from_east = send(east, north, tmp_path)  # a file North would take as it is
        code, _, err = admin(north, capsys, "peer", "reset-checkpoint", "south", str(from_east),
                             "--yes")
        assert code == 4
        assert f"{from_east.name} comes from another site, not from 'south'" in err
    finally:
        for site in (north, south, east):
            site.close()


def test_a_file_on_its_way_during_a_restore_brings_its_cases_after_the_new_numbering(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north, south = world.north, world.south
    exchange(world, tmp_path)
    saved = tmp_path / "south.backup"
    south.service.backup(saved, PASSPHRASE, FAST_WORK_FACTOR)
    new_case(south, "Лисенко Максим")
    stale = send(south, north, tmp_path)  # on its way while South is restored
    south.close()
    world.opened.remove(south)
    data = tmp_path / "south-new-machine"
    restore(saved, data, PASSPHRASE, "admin", PASSWORD)
    restored = HavenSite("south", data, Session.open(data, "admin", PASSWORD))
    world.opened.append(restored)
    # The backup held all North had accepted: the new numbering's first file needs no reset.
    new_case(restored, "Мельник Олена")
    assert north.service.import_file(send(restored, north, tmp_path)).cases_new == 1
    accepted = accepted_size(north, restored)

    code, out, err = admin(north, capsys, "import", str(stale))
    assert code == 0, err
    assert "its cases are taken" in out
    assert len(north.session.search("Лисенко")) == 1
    # Its checkpoint is of the log the restore lost: not taken, so South's files still fit.
    assert accepted_size(north, restored) == accepted
    new_case(restored, "Ткаченко Євген")
    assert north.service.import_file(send(restored, north, tmp_path)).cases_new == 1
    assert north.session.verify_audit().ok
