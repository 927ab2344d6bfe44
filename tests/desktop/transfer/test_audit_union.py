"""Audit entries travel with transfer files: every site ends up holding every site's log."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from db import audit_union
from db.records import Role
from desktop import cli
from desktop.transfer.payload import audit_line
from tests.conftest import FAST_KDF, PASSWORD
from tests.desktop.transfer.sites import (
    HavenSite,
    assert_refused,
    forge,
    header_line,
    make_sites,
    new_case,
    plain_payload,
    run_import,
)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, HavenSite]]:
    north, south, west = make_sites(tmp_path, ["north", "south", "west"])
    sites = {"north": north, "south": south, "west": west}
    yield sites
    for site in sites.values():
        site.close()


def own_log(site: HavenSite) -> list[audit_union.Entry]:
    with site.session.vault.reading() as conn:
        return list(audit_union.entries_after(conn, site.site_id, site.site_id, 0, 2**53))


def held_of(site: HavenSite, origin: HavenSite) -> list[audit_union.Entry]:
    with site.session.vault.reading() as conn:
        return list(audit_union.entries_after(conn, site.site_id, origin.site_id, 0, 2**53))


def send(sender: HavenSite, recipient: HavenSite, path: Path) -> Path:
    sender.service.export([recipient.name], path, full=False)
    recipient.service.import_file(path)
    return path


def numbers_sent(path: Path, recipient: HavenSite, origin: HavenSite) -> list[int]:
    """The numbers of the entries of ``origin``'s log that a file carries."""
    lines = [json.loads(line) for line in plain_payload(path, recipient).splitlines()]
    return [
        entry["seq"]
        for line in lines
        if line.get("type") == "audit" and line["origin"] == origin.site_id
        for entry in line["entries"]
    ]


def test_the_recipient_holds_the_senders_log_as_far_as_its_checkpoint(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    north, south = world["north"], world["south"]
    new_case(north, "Коваленко Андрій")
    send(north, south, tmp_path / "1.haven")
    sent = own_log(north)
    assert [e.action for e in sent][-1] == "transfer_exported"  # the export's own entry too
    assert held_of(south, north) == sent
    assert any(e.action == "case_registered" for e in held_of(south, north))


def test_entries_are_relayed_and_later_files_carry_only_what_is_new(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    north, south, west = world["north"], world["south"], world["west"]
    new_case(north, "Коваленко Андрій")
    first = send(north, south, tmp_path / "1.haven")
    send(south, west, tmp_path / "2.haven")
    # West never heard from North, yet holds North's log as South held it.
    assert held_of(west, north) == held_of(south, north)
    assert held_of(west, south) == own_log(south)

    send(south, north, tmp_path / "3.haven")  # tells North how much of its log South holds
    new_case(north, "Іванов Петро")
    second = send(north, south, tmp_path / "4.haven")
    first_numbers = numbers_sent(first, south, north)
    second_numbers = numbers_sent(second, south, north)
    assert first_numbers[0] == 1
    assert second_numbers[0] == first_numbers[-1] + 1
    assert held_of(south, north) == own_log(north)


def test_the_same_entries_twice_are_held_once(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    north, south, west = world["north"], world["south"], world["west"]
    send(north, south, tmp_path / "1.haven")
    send(north, west, tmp_path / "2.haven")
    send(west, south, tmp_path / "3.haven")  # relays North's entries South already holds
    numbers = [e.seq for e in held_of(south, north)]
    assert numbers == sorted(set(numbers))
    assert len(numbers) >= 3


def test_an_altered_entry_of_the_sender_is_refused(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north, south = world["north"], world["south"]
    entries = own_log(north)
    altered = [dataclasses.replace(entries[0], detail="nothing happened"), *entries[1:]]
    payload = header_line(north, [south], 1, {
        "format": "haven-payload-v2", "audit_held": {north.site_id: len(entries)}})
    payload += audit_line(altered) + b'{"cases":0,"type":"end"}\n'
    path = tmp_path / "altered.haven"
    forge(path, north, [south], payload, sequence=1)
    assert_refused(south, path, capsys, "do not make the tree its signed checkpoint names")

    payload = header_line(north, [south], 1, {
        "format": "haven-payload-v2", "audit_held": {north.site_id: len(entries)}})
    payload += audit_line(entries) + b'{"cases":0,"type":"end"}\n'
    forge(path, north, [south], payload, sequence=1)
    code, err = run_import(south, path, capsys)
    assert code == 0, err
    assert held_of(south, north) == entries


def test_audit_list_shows_every_sites_entries(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north, south = world["north"], world["south"]
    case_id = new_case(north, "Коваленко Андрій")
    send(north, south, tmp_path / "1.haven")
    password_file = tmp_path / "password.txt"
    password_file.write_text(PASSWORD + "\n")
    capsys.readouterr()
    code = cli.main(["--data", str(south.data), "--user", "admin", "--password-file",
                     str(password_file), "audit", "list", "--json"])
    assert code == 0
    listed = json.loads(capsys.readouterr().out)
    registered = [e for e in listed if e["action"] == "case_registered"]
    assert [(e["site"], e["case"]) for e in registered] == [("north", case_id)]
    assert {e["site"] for e in listed} == {"north", south.session.site.name}


def test_audit_list_of_one_case_and_who_may_see_it(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north, south = world["north"], world["south"]
    case_id = new_case(north, "Коваленко Андрій")
    new_case(north, "Іванов Петро")
    send(north, south, tmp_path / "1.haven")
    ref = south.session.get_case(case_id, audit_view=False).ref
    south.session.add_user("olena", Role.OPERATOR, "operator password 1", FAST_KDF)
    password_file = tmp_path / "password.txt"

    def audit_list(user: str, password: str) -> tuple[int, str]:
        password_file.write_text(password + "\n")
        capsys.readouterr()
        code = cli.main(["--data", str(south.data), "--user", user, "--password-file",
                         str(password_file), "audit", "list", "--case", ref])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    code, text = audit_list("admin", PASSWORD)
    assert code == 0, text
    lines = text.strip().splitlines()
    assert len(lines) == 2, text  # registered at North, and the count
    assert lines[0].split()[1:3] == ["north", "#4"]
    assert "case_registered" in lines[0]
    assert ref in lines[0]
    assert lines[-1] == "1 entry from 1 site"
    code, text = audit_list("olena", "operator password 1")
    assert code == 3
    assert text.count("\n") == 1
    # An IT officer reads no cases but may read the log, and find one case's entries in it.
    south.session.add_user("petro", Role.IT, "it officer password 1", FAST_KDF)
    code, text = audit_list("petro", "it officer password 1")
    assert code == 0, text
    assert ref in text.splitlines()[0]


def test_a_relayed_entry_that_differs_is_left_out_not_the_file(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    north, south, west = world["north"], world["south"], world["west"]
    send(north, south, tmp_path / "1.haven")
    held = held_of(south, north)
    # West relays North's log as a North restored from a backup would have written it.
    relayed = [*held[:-1], dataclasses.replace(held[-1], detail="written after a restore")]
    payload = header_line(west, [south], 1, {
        "format": "haven-payload-v2", "audit_held": {north.site_id: len(relayed)}})
    payload += audit_line(relayed) + b'{"cases":0,"type":"end"}\n'
    path = tmp_path / "relayed.haven"
    forge(path, west, [south], payload, sequence=1)
    report = south.service.import_file(path)
    assert (report.audit_new, report.audit_left_out) == (0, 1)
    assert held_of(south, north) == held


def test_long_logs_check_out_across_their_stored_blocks(world: dict[str, HavenSite],
                                                        tmp_path: Path) -> None:
    from db import audit, audit_tree

    north, south = world["north"], world["south"]

    def log_views(count: int) -> None:
        with north.session.vault.transaction() as conn:
            for number in range(count):
                audit.append(conn, "admin", "case_viewed", detail=f"view {number}")

    log_views(audit_tree.BLOCK + 40)
    send(north, south, tmp_path / "1.haven")
    log_views(2 * audit_tree.BLOCK + 3)  # the next checkpoint is proved from an unaligned size
    send(south, north, tmp_path / "2.haven")
    send(north, south, tmp_path / "3.haven")
    assert held_of(south, north) == own_log(north)
    with south.session.vault.reading() as conn:
        blocks = conn.execute(
            "SELECT count(*) FROM audit_blocks WHERE log = ?", (north.site_id,)
        ).fetchone()[0]
    assert blocks == len(own_log(north)) // audit_tree.BLOCK


def test_audit_verify_sees_a_tail_cut_below_a_checkpoint_it_sent(tmp_path: Path) -> None:
    north, south = make_sites(tmp_path, ["north", "south"])
    try:
        new_case(north)
        north.service.export(["south"], tmp_path / "to-south.haven", full=False)
        with north.session.vault.reading() as conn:
            shown = conn.execute("SELECT max(checkpoint_size) FROM sent_files").fetchone()[0]
        assert north.session.verify_audit().ok
        # A key holder cuts off the last entries, down to below what South was shown: the
        # chain of what is left is whole, but the transfer file vouched for more.
        with north.session.vault.transaction() as conn:
            conn.execute("DELETE FROM audit_log WHERE seq >= ?", (shown - 1,))
        report = north.session.verify_audit()
        assert report.problems == (
            f"the log ends at entry {shown - 2}, but this site showed other sites a log of"
            f" {shown} entries in its transfer files: its last entries were cut off",
        )
    finally:
        north.close()
        south.close()


def test_audit_verify_checks_the_entries_held_of_other_sites(tmp_path: Path) -> None:
    from db import audit

    north, south = make_sites(tmp_path, ["north", "south"])
    try:
        new_case(north)
        north.service.export(["south"], tmp_path / "to-south.haven", full=False)
        south.service.import_file(tmp_path / "to-south.haven")
        assert south.session.verify_audit().ok
        # A key holder at South edits what North's log said, first without its leaf hash.
        with south.session.vault.transaction() as conn:
            conn.execute("UPDATE peer_audit SET actor = 'mallory' WHERE origin = ? AND seq = 2",
                         (north.site_id,))
        assert south.session.verify_audit().problems == (
            "entry 2 of the log of 'north' held here was altered after it came",
        )
        # Then with it: the entry reads as whole, but North's signed checkpoint disagrees.
        with south.session.vault.transaction() as conn:
            seq, at, actor, action, case_id, detail = conn.execute(
                "SELECT seq, at, actor, action, case_id, detail FROM peer_audit"
                " WHERE origin = ? AND seq = 2", (north.site_id,)
            ).fetchone()
            leaf = audit.leaf_hash(audit.canonical_entry(seq, at, actor, action, case_id, detail))
            conn.execute("UPDATE peer_audit SET leaf_hash = ? WHERE origin = ? AND seq = 2",
                         (leaf, north.site_id))
            size = conn.execute("SELECT max(tree_size) FROM peer_checkpoints").fetchone()[0]
        assert south.session.verify_audit().problems == (
            f"the entries of the log of 'north' held here no longer make the checkpoint of"
            f" {size} entries it signed: they were altered",
        )
    finally:
        north.close()
        south.close()


@pytest.mark.parametrize("order", ["in order", "odd numbers first", "last line first"])
def test_what_a_site_delivers_counts_in_whatever_order_its_lines_come(
    world: dict[str, HavenSite], tmp_path: Path, order: str
) -> None:
    """West relays a false copy of North's first entries; North's own file then brings the
    rest of its log, one number a line or in runs, in any order. What North delivered is
    kept; only the false copies, which its checkpoint disproves, are set aside."""
    north, south, west = world["north"], world["south"], world["west"]
    for name in ("Коваленко Андрій", "Бондар Ганна", "Шевченко Тарас"):
        new_case(north, name)
    log = own_log(north)
    false = [dataclasses.replace(entry, detail="forged by west") for entry in log[:2]]
    payload = header_line(west, [south], 1, {
        "format": "haven-payload-v2", "audit_held": {north.site_id: len(false)}})
    forge(tmp_path / "west.haven", west, [south],
          payload + audit_line(false) + b'{"cases":0,"type":"end"}\n', sequence=1)
    south.service.import_file(tmp_path / "west.haven")

    rest = log[2:]
    if order == "in order":
        lines = [rest]
    elif order == "odd numbers first":
        lines = [[e for e in rest if e.seq % 2], [e for e in rest if not e.seq % 2]]
    else:
        lines = [[entry] for entry in reversed(rest)]
    payload = header_line(north, [south], 1, {
        "format": "haven-payload-v2", "audit_held": {north.site_id: len(log)}})
    payload += b"".join(audit_line(line) for line in lines) + b'{"cases":0,"type":"end"}\n'
    forge(tmp_path / "north.haven", north, [south], payload, sequence=1)
    report = south.service.import_file(tmp_path / "north.haven")
    assert (report.audit_new, report.audit_corrected) == (len(rest), len(false))
    assert held_of(south, north) == rest
