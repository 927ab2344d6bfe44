"""What a peer relays is its own word: a site's own file corrects a false copy of its data.

A transfer file is signed by its sender only, so changes and audit entries it relays from
other sites are no better than the sender's say-so. A peer that relays a false copy must
not be able to keep the real one out: when the site that made a change (or wrote an
audit entry) sends it in its own file, its version takes the place of the relayed one.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from db import oplog
from db.audit_union import Entry
from desktop.errors import InputRejected
from desktop.transfer.payload import audit_line
from tests.desktop.transfer.sites import (
    HavenSite,
    forge,
    header_line,
    make_sites,
    new_case,
    plain_payload,
    vault_digest,
)
from tests.desktop.transfer.test_audit_union import held_of, own_log


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, HavenSite]]:
    sites = dict(zip(("north", "south", "west"),
                     make_sites(tmp_path, ["north", "south", "west"]), strict=True))
    yield sites
    for site in sites.values():
        site.close()


def relay_falsely(
    west: HavenSite, south: HavenSite, tmp_path: Path, falsify: dict[bytes, bytes], files: int = 1
) -> list[Path]:
    """West's next files to South (#1, #2, …), each relaying North's case changed.

    They are signed one after the other, with nothing added to West's audit log between
    them, so that each checkpoint is the one South accepted before.
    """
    genuine = tmp_path / "west-genuine.haven"
    west.service.export([south.name], genuine, full=True)
    lines = plain_payload(genuine, south).split(b"\n")[1:-1]
    cases = [line for line in lines if line.startswith(b'{"case"')]
    body = b"\n".join(cases)
    for old, new in falsify.items():
        assert old in body
        body = body.replace(old, new)
    paths = []
    for sequence in range(1, files + 1):
        payload = header_line(west, [south], sequence) + body + b"\n"
        payload += json.dumps({"cases": len(cases), "type": "end"}).encode() + b"\n"
        paths.append(tmp_path / f"west-false-{sequence}.haven")
        forge(paths[-1], west, [south], payload, sequence=sequence)
    return paths


def names_and_phones(site: HavenSite, case_id: str) -> list[tuple[str, str | None]]:
    case = site.session.get_case(case_id, audit_view=False)
    return [(person.full_name, person.phone) for person in case.persons]


def send(sender: HavenSite, recipient: HavenSite, path: Path) -> None:
    sender.service.export([recipient.name], path, full=False)
    recipient.service.import_file(path)


def test_a_false_copy_of_a_case_is_corrected_by_the_site_that_made_it(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    north, south, west = world["north"], world["south"], world["west"]
    case_id = new_case(north, "Коваленко Андрій", "+380671112233")
    send(north, west, tmp_path / "to-west.haven")
    false, again = relay_falsely(west, south, tmp_path, {
        "Коваленко Андрій".encode(): "Підмінений Чоловік".encode(),
        b"+380671112233": b"+380000000000",
    }, files=2)
    assert south.service.import_file(false).cases_new == 1
    assert names_and_phones(south, case_id) == [("Підмінений Чоловік", "+380000000000")]

    north.service.export([south.name], tmp_path / "own.haven", full=False)
    report = south.service.import_file(tmp_path / "own.haven")
    assert (report.ops_corrected, report.cases_updated) == (1, 1)
    assert names_and_phones(south, case_id) == [("Коваленко Андрій", "+380671112233")]
    assert [c.ref for c in south.session.search("Коваленко")] == [
        north.session.get_case(case_id, audit_view=False).ref
    ]
    assert south.session.search("Підмінений") == []
    assert south.session.search("+380000000000") == []
    entry = south.session.audit_entries()[-1]
    assert "1 relayed changes replaced by their own site's" in entry.detail

    # West relays its false copy again: it is left out, and the file is taken.
    report = south.service.import_file(again)
    assert report.ops_left_out == 1
    assert names_and_phones(south, case_id) == [("Коваленко Андрій", "+380671112233")]


def test_a_case_created_falsely_in_another_sites_name_is_corrected(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    north, south, west = world["north"], world["south"], world["west"]
    case_id = new_case(north, "Коваленко Андрій")
    send(north, west, tmp_path / "to-west.haven")
    with north.session.vault.reading() as conn:
        stamp = next(op.id for op in oplog.ops_for_case(conn, case_id)
                     if op.kind == oplog.CREATE)
    other_stamp = f"{int(stamp[:13]) - 1:013d}" + stamp[13:]  # before any op of the case
    [false] = relay_falsely(west, south, tmp_path, {
        stamp.encode(): other_stamp.encode(),
        "Коваленко Андрій".encode(): "Підмінений Чоловік".encode(),
    })
    south.service.import_file(false)
    assert names_and_phones(south, case_id)[0][0] == "Підмінений Чоловік"

    north.service.export([south.name], tmp_path / "own.haven", full=False)
    report = south.service.import_file(tmp_path / "own.haven")
    assert report.ops_corrected == 1
    assert names_and_phones(south, case_id)[0][0] == "Коваленко Андрій"
    with south.session.vault.reading() as conn:
        creates = [op.id for op in oplog.ops_for_case(conn, case_id) if op.kind == oplog.CREATE]
    assert creates == [stamp]


def test_a_relayed_change_never_replaces_this_sites_own(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    south, west = world["south"], world["west"]
    case_id = new_case(south, "Коваленко Андрій")
    send(south, west, tmp_path / "to-west.haven")
    before = vault_digest(south)
    [false] = relay_falsely(west, south, tmp_path, {
        "Коваленко Андрій".encode(): "Підмінений Чоловік".encode(),
    })
    report = south.service.import_file(false)
    assert (report.ops_left_out, report.ops_corrected) == (1, 0)
    assert names_and_phones(south, case_id)[0][0] == "Коваленко Андрій"
    assert vault_digest(south) != before  # the import itself is recorded


def relay_a_false_log(world: dict[str, HavenSite], tmp_path: Path) -> list[Entry]:
    """West's file #1 to South (forged-log.haven), relaying a false copy of North's log."""
    north, south, west = world["north"], world["south"], world["west"]
    forged = [dataclasses.replace(entry, detail="forged by west") for entry in own_log(north)]
    payload = header_line(west, [south], 1, {
        "format": "haven-payload-v2", "audit_held": {north.site_id: len(forged)}})
    payload += audit_line(forged) + b'{"cases":0,"type":"end"}\n'
    forge(tmp_path / "forged-log.haven", west, [south], payload, sequence=1)
    return forged


def test_a_false_copy_of_a_sites_audit_log_is_corrected_by_that_site(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    north, south = world["north"], world["south"]
    new_case(north, "Коваленко Андрій")
    forged = relay_a_false_log(world, tmp_path)
    assert south.service.import_file(tmp_path / "forged-log.haven").audit_new == len(forged)
    # South tells North what it holds of North's log: the false copy counts as held.
    send(south, north, tmp_path / "south-to-north.haven")

    # North's next file carries only what South said it lacks: the false copy is dropped.
    north.service.export([south.name], tmp_path / "own-1.haven", full=False)
    first = south.service.import_file(tmp_path / "own-1.haven")
    assert first.audit_corrected == len(forged)
    assert all(entry.detail != "forged by west" for entry in held_of(south, north))
    # The false copies stay in South's audit list, set aside: evidence of what West sent.
    listed = [e for e in south.session.audit_entries() if e.detail == "forged by west"]
    assert len(listed) == len(forged)
    assert all(e.set_aside and e.site_id == north.site_id for e in listed)
    # Once South says so, North sends the rest of its log again.
    send(south, north, tmp_path / "south-to-north-2.haven")
    north.service.export([south.name], tmp_path / "own-2.haven", full=False)
    south.service.import_file(tmp_path / "own-2.haven")
    assert held_of(south, north) == own_log(north)
    north_listed = [e for e in south.session.audit_entries() if e.site_id == north.site_id]
    assert [e.set_aside for e in north_listed].count(True) == len(forged)
    assert len({(e.seq, e.set_aside) for e in north_listed}) == len(north_listed)


def test_an_own_file_corrects_a_false_copy_it_carries_again(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    north, south = world["north"], world["south"]
    entries = own_log(north)
    forged = relay_a_false_log(world, tmp_path)
    south.service.import_file(tmp_path / "forged-log.haven")

    north.service.export([south.name], tmp_path / "own.haven", full=True)
    report = south.service.import_file(tmp_path / "own.haven")
    assert report.audit_corrected == len(forged)
    assert held_of(south, north) == own_log(north)[: len(held_of(south, north))]
    assert len(held_of(south, north)) > len(entries)


def test_a_site_that_rewrites_what_its_checkpoint_vouched_for_is_still_refused(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    north, south, west = world["north"], world["south"], world["west"]
    send(north, south, tmp_path / "1.haven")  # South accepts North's checkpoint
    entries = own_log(north)[:3]
    # West relays a false copy; South keeps its own, vouched for by North's checkpoint.
    payload = header_line(west, [south], 1, {
        "format": "haven-payload-v2", "audit_held": {north.site_id: len(entries)}})
    payload += audit_line([dataclasses.replace(e, detail="x") for e in entries])
    path = tmp_path / "relayed.haven"
    forge(path, west, [south], payload + b'{"cases":0,"type":"end"}\n', sequence=1)
    assert south.service.import_file(path).audit_left_out == len(entries)
    # North itself sends an altered entry that its accepted checkpoint covers: refused.
    altered = [dataclasses.replace(entries[0], detail="nothing happened"), *entries[1:]]
    payload = header_line(north, [south], 2, {
        "format": "haven-payload-v2", "audit_held": {north.site_id: len(own_log(north))}})
    payload += audit_line(altered) + b'{"cases":0,"type":"end"}\n'
    forge(path, north, [south], payload, sequence=2)
    with pytest.raises(InputRejected, match="history was rewritten"):
        south.service.import_file(path)


def test_true_entries_set_aside_with_a_false_one_are_taken_back_once_their_site_sends_them(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    north, south, west = world["north"], world["south"], world["west"]
    new_case(north, "Коваленко Андрій")
    relayed = own_log(north)
    relayed[1] = dataclasses.replace(relayed[1], detail="forged by west")
    payload = header_line(west, [south], 1, {
        "format": "haven-payload-v2", "audit_held": {north.site_id: len(relayed)}})
    payload += audit_line(relayed) + b'{"cases":0,"type":"end"}\n'
    forge(tmp_path / "mixed.haven", west, [south], payload, sequence=1)
    south.service.import_file(tmp_path / "mixed.haven")
    send(south, north, tmp_path / "south-to-north.haven")
    north.service.export([south.name], tmp_path / "own-1.haven", full=False)
    south.service.import_file(tmp_path / "own-1.haven")  # all relayed ones set aside
    send(south, north, tmp_path / "south-to-north-2.haven")
    north.service.export([south.name], tmp_path / "own-2.haven", full=False)
    south.service.import_file(tmp_path / "own-2.haven")
    assert held_of(south, north) == own_log(north)
    listed = [e for e in south.session.audit_entries() if e.site_id == north.site_id]
    # Each true entry once, in the log; the false one beside it, set aside.
    assert [(e.seq, e.detail) for e in listed if e.set_aside] == [(2, "forged by west")]
    assert len([e for e in listed if not e.set_aside]) == len(own_log(north))


def _west_relays(
    world: dict[str, HavenSite], tmp_path: Path, entries: list[Entry], sequence: int
) -> None:
    """West's file #``sequence`` to South, relaying these entries of North's log."""
    north, south, west = world["north"], world["south"], world["west"]
    payload = header_line(west, [south], sequence, {
        "format": "haven-payload-v2", "audit_held": {north.site_id: entries[-1].seq}})
    payload += audit_line(entries) + b'{"cases":0,"type":"end"}\n'
    path = tmp_path / f"west-{sequence}.haven"
    forge(path, west, [south], payload, sequence=sequence)
    south.service.import_file(path)


def _north_sets_the_relayed_log_aside(
    world: dict[str, HavenSite], tmp_path: Path
) -> list[Entry]:
    """West relays North's log with entry 3 false; North's next own file to South then
    sets every relayed entry aside (its checkpoint disproves them). North's log."""
    north, south = world["north"], world["south"]
    new_case(north, "Коваленко Андрій")
    log = own_log(north)
    relayed = list(log)
    relayed[2] = dataclasses.replace(relayed[2], detail="forged by west")
    _west_relays(world, tmp_path, relayed, 1)
    send(south, north, tmp_path / "south-to-north.haven")
    send(north, south, tmp_path / "own-1.haven")
    # What it delivered comes after them; none of the relayed ones is left in the log.
    assert all(e.seq > len(log) for e in held_of(south, north))
    return log


def test_a_true_entry_set_aside_is_listed_once_whichever_way_its_site_sends_it(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    north, south = world["north"], world["south"]
    log = _north_sets_the_relayed_log_aside(world, tmp_path)
    # West relays another false entry 2, into the log's empty place: North's own replaces it.
    _west_relays(world, tmp_path, [dataclasses.replace(log[1], detail="forged again")], 2)
    send(south, north, tmp_path / "south-to-north-2.haven")
    send(north, south, tmp_path / "own-2.haven")
    listed = sorted((e.detail, e.set_aside) for e in south.session.audit_entries()
                    if e.site_id == north.site_id and e.seq == 2)
    assert listed == sorted([(log[1].detail, False), ("forged again", True)])


def test_relayed_entries_a_checkpoint_disproves_are_set_aside_not_blamed_on_this_site(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    north, south = world["north"], world["south"]
    _north_sets_the_relayed_log_aside(world, tmp_path)
    with south.session.vault.reading() as conn:
        size = conn.execute("SELECT max(tree_size) FROM peer_checkpoints WHERE peer = ?",
                            (north.site_id,)).fetchone()[0]
    # West relays North's whole log up to the checkpoint South accepted, with a false entry.
    full = own_log(north)[:size]
    full[2] = dataclasses.replace(full[2], detail="forged once more")
    _west_relays(world, tmp_path, full, 2)
    # The checkpoint disproves them: set aside, none in the log.
    assert all(e.detail != "forged once more" for e in held_of(south, north))
    report = south.session.verify_audit()
    assert report.ok, report.problems
    aside = [e.detail for e in south.session.audit_entries() if e.set_aside]
    assert "forged once more" in aside
    # Kept as evidence, so checked like the rest: an altered one is reported.
    with south.session.vault.transaction() as conn:
        conn.execute("UPDATE peer_audit SET detail = 'tidied up' WHERE detail = 'forged once more'")
    problems = south.session.verify_audit().problems
    assert any("(set aside) of the log of 'north'" in problem for problem in problems)
