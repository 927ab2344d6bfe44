"""A captured peer (its signing key valid, still trusted) cannot take over what is held here.

Each test builds the file such a peer could write, signed with its real key, and checks
what the IT officer sees: the file refused with exit 4, one clear line, and the vault as
it was.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from db import cases, hlc, oplog, sync
from db.records import Channel, ContactEntry, ContactStage, Status
from db.vault import now_utc
from desktop.errors import InputRejected
from desktop.transfer.transfer_file import parse_manifest, read_layout
from tests.desktop.transfer.sites import (
    HavenSite,
    forge,
    header_line,
    make_site,
    make_sites,
    new_case,
    pair,
    plain_payload,
)
from tests.desktop.transfer.test_refusals import assert_refused, run_import
from tests.desktop.transfer.test_restored_peer import World, admin, exchange, restored_south


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, HavenSite]]:
    """Site A, and B: its peer, whose key the attacker holds."""
    a, b = make_sites(tmp_path, ["a", "b"])
    yield {"a": a, "b": b}
    a.close()
    b.close()


def carry(sender: HavenSite, recipient: HavenSite, folder: Path) -> Path:
    """A genuine file from ``sender``, imported by ``recipient``."""
    path = folder / f"{sender.name}-{recipient.name}-{len(list(folder.glob('*.haven')))}.haven"
    sender.service.export([recipient.name], path, full=False)
    recipient.service.import_file(path)
    return path


def case_record(path: Path, recipient: HavenSite, case_id: str) -> dict[str, Any]:
    """One case line of a transfer file, as JSON data."""
    for line in plain_payload(path, recipient).split(b"\n"):
        if line.startswith(b'{"case"'):
            record: dict[str, Any] = json.loads(line)
            if record["case"] == case_id:
                return record
    raise AssertionError(f"no line of case {case_id}")


def forged(sender: HavenSite, recipient: HavenSite, folder: Path, sequence: int,
           records: list[dict[str, Any]], like: Path | None = None) -> Path:
    """File #``sequence`` from ``sender``, signed with its key, carrying these records
    (and the audit checkpoint of the genuine file ``like``, with its proof)."""
    text = header_line(sender, [recipient], sequence)
    text += b"".join(json.dumps(record).encode() + b"\n" for record in records)
    text += json.dumps({"cases": len(records), "type": "end"}).encode() + b"\n"
    path = folder / f"forged-{sender.name}-{sequence}.haven"
    changes = None
    if like is not None:
        with like.open("rb") as handle:
            changes = {"checkpoint": parse_manifest(read_layout(handle).manifest).checkpoint}
    forge(path, sender, [recipient], text, sequence=sequence, manifest_changes=changes)
    return path


def line_of_new_case(sender: HavenSite, recipient: HavenSite, folder: Path) -> dict[str, Any]:
    """A case the sender registers, as its genuine file to the recipient carries it."""
    case_id = new_case(sender, "Коваленко Андрій")
    path = folder / "genuine-new-case.haven"
    sender.service.export([recipient.name], path, full=False)
    return case_record(path, recipient, case_id)


def stamp(site: HavenSite, counter: int = 0, ms: int | None = None) -> str:
    """A clock stamp of now (or ``ms``) in ``site``'s name."""
    return f"{hlc.wall_ms() if ms is None else ms:013d}:{counter:04d}:{site.site_id}"


def intake_change(op_id: str, parent: str, location: str) -> dict[str, Any]:
    return {"op": op_id, "kind": "set", "at": "2026-01-02T10:00:00.000Z", "by": "admin",
            "group": "intake", "parents": [parent],
            "values": {"location": location, "callback": None, "notes": None}}


def hijacking_create(create: dict[str, Any], op_id: str) -> dict[str, Any]:
    """A create op with the attacker's own persons, reference code and codeword digest."""
    op = copy.deepcopy(create)
    op["op"] = op_id
    op["values"]["ref"] = "HIJACK-7"
    op["values"]["persons"] = [{"full_name": "Підмінений Чоловік", "mobilization": "unknown"}]
    op["values"]["codeword_digest"] = "ab" * 32
    return op


@pytest.mark.parametrize(("line", "said"), [
    ("the case's own creation left out", "differs from the one held here in kind or field"
     " group (case {ref})"),
    ("the whole case", "the file creates a case twice"),
])
def test_a_correction_may_not_turn_a_contact_into_the_cases_creation(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    line: str, said: str,
) -> None:
    a, b = world["a"], world["b"]
    case_id = new_case(a, "Коваленко Андрій")
    carry(a, b, tmp_path)
    with b.session.vault.transaction() as conn:
        cases.add_contact(conn, ContactEntry(case_id, now_utc(), Channel.PHONE, "admin",
                                             ContactStage.CONFIRMATION, "called back"))
    genuine = carry(b, a, tmp_path)  # A takes B's contact
    record = case_record(genuine, a, case_id)
    create = next(op for op in record["ops"] if op["kind"] == "create")
    contact = next(op for op in record["ops"]
                   if op["kind"] == "contact" and op["op"].endswith(b.site_id))
    record["ops"] = [hijacking_create(create, contact["op"]) if op is contact else op
                     for op in record["ops"] if op is not create or line == "the whole case"]
    ref = a.session.get_case(case_id, audit_view=False).ref

    path = forged(b, a, tmp_path, 5, [record])
    assert_refused(a, path, capsys, said.format(ref=ref))
    shown = a.session.get_case(case_id, audit_view=False)
    assert (shown.ref, [p.full_name for p in shown.persons]) == (ref, ["Коваленко Андрій"])


def test_a_correction_may_not_move_a_change_to_another_field_group(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = world["a"], world["b"]
    record = line_of_new_case(b, a, tmp_path)
    change = intake_change(stamp(b), record["ops"][0]["op"], "Одеса")
    record["ops"].append(change)
    assert run_import(a, forged(b, a, tmp_path, 5, [record]), capsys)[0] == 0
    change["group"], change["values"] = "outcome", {"outcome": None, "outcome_notes": "x"}
    ref = record["ops"][0]["values"]["ref"]
    assert_refused(a, forged(b, a, tmp_path, 6, [record]), capsys,
                   f"differs from the one held here in kind or field group (case {ref})")


def test_a_case_is_never_created_twice(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = world["a"], world["b"]
    record = line_of_new_case(b, a, tmp_path)
    record["ops"].append(hijacking_create(record["ops"][0], stamp(b)))
    assert_refused(a, forged(b, a, tmp_path, 5, [record]), capsys, "creates a case twice")
    # A second creation of a case held here, alone on its line, names the case.
    _, record = held_by_b(a, b, tmp_path)
    ref = record["ops"][0]["values"]["ref"]
    record["ops"] = [hijacking_create(record["ops"][0], stamp(b))]
    assert_refused(a, forged(b, a, tmp_path, 6, [record]), capsys,
                   f"the file creates a case that already exists here (case {ref})")


# --- changes and audit entries in the receiving site's own name ----------------------------
#
# Such a change can only be forged: by the sender, or by a site before it whose file the
# sender took in good faith. It is left out and counted, so no desk shows it as made here;
# refusing the file would instead cut off an honest sender for good, as it cannot drop it.


def held_by_b(a: HavenSite, b: HavenSite, folder: Path) -> tuple[str, dict[str, Any]]:
    """A case A registered and B took: its id, and its line as B would send it back."""
    case_id = new_case(a, "Коваленко Андрій")
    return case_id, case_record(carry(a, b, folder), b, case_id)


def ops_held(site: HavenSite, case_id: str) -> list[str]:
    with site.session.vault.reading() as conn:
        return [op.id for op in oplog.ops_for_case(conn, case_id)]


def test_a_change_in_this_sites_name_is_left_out_and_reported(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = world["a"], world["b"]
    case_id, record = held_by_b(a, b, tmp_path)
    with a.session.vault.transaction() as conn:
        cases.update_fields(conn, case_id, {"location": "Миколаїв"}, now_utc(), by="admin")
    # B edits A's case in A's name, beside A's own edit: A's desk would list a conflict
    # of two versions "made at this site", and `--keep local` would pick B's.
    planted = intake_change(stamp(a, counter=9), record["ops"][0]["op"], "Одеса")
    record["ops"].append(planted)
    code, out, err = admin(a, capsys, "import", str(forged(b, a, tmp_path, 5, [record])))
    assert code == 0, err
    assert ("1 changes in this site's name that it did not make (and changes built on them)"
            " were left out") in out
    assert planted["op"] not in ops_held(a, case_id)
    assert a.session.get_case(case_id, audit_view=False).location == "Миколаїв"
    assert a.service.list_conflicts() == []
    assert ("1 changes in this site's name that it did not make (and changes built on"
            " them) left out") in a.session.audit_entries()[-1].detail


def status_move(op_id: str, parent: str, before: str, after: str,
                fields: dict[str, str]) -> dict[str, Any]:
    return {"op": op_id, "kind": "set", "at": "2026-01-02T10:00:00.000Z", "by": "admin",
            "group": "status", "parents": [parent],
            "values": {"status": after, "from": before, "fields": fields}}


def test_a_change_built_on_one_in_this_sites_name_is_left_out_with_it(tmp_path: Path) -> None:
    """B confirms A's case in A's name and arranges it in its own: were the arrangement
    kept, A's case would be arranged with no codeword checked, and would name a parent A
    lacks, so that every peer refused A's files from then on."""
    a, b, c = make_sites(tmp_path, ["a", "b", "c"])
    case_id, record = held_by_b(a, b, tmp_path)
    confirmed = status_move(stamp(a, counter=1), record["ops"][0]["op"], "registered",
                            "confirmed", {"location": "Херсон", "group_size": "1"})
    arranged = status_move(stamp(b, counter=2), confirmed["op"], "confirmed",
                           "handoff_arranged", {
                               "meeting_point": "Пункт А", "receiving_unit": "Група 1",
                               "window_start": "2026-12-01 12:00:00+00:00",
                               "window_end": "2026-12-01 14:00:00+00:00"})
    record["ops"] += [confirmed, arranged]
    report = a.service.import_file(forged(b, a, tmp_path, 5, [record]))
    assert report.ops_not_ours == 2
    assert {confirmed["op"], arranged["op"]}.isdisjoint(ops_held(a, case_id))
    assert a.session.get_case(case_id, audit_view=False).status == Status.REGISTERED
    carry(a, c, tmp_path)  # A's files still travel: C takes this one
    assert c.session.get_case(case_id, audit_view=False).status == Status.REGISTERED
    for site in (a, b, c):
        site.close()


def test_a_long_chain_built_on_a_change_in_this_sites_name_is_left_out_whole(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    a, b = world["a"], world["b"]
    record = line_of_new_case(b, a, tmp_path)
    create = record["ops"][0]["op"]
    ms = int(create[:13]) + 1000
    chain = [intake_change(f"{ms:013d}:0000:{a.site_id}", create, "x")]
    for n in range(1, 3000):  # one parent each: left out one after another
        chain.append(intake_change(f"{ms + n:013d}:0000:{b.site_id}", chain[-1]["op"], "x"))
    record["ops"] += chain
    report = a.service.import_file(forged(b, a, tmp_path, 5, [record]))
    assert report.ops_not_ours == len(chain)
    assert report.ops_new == len(record["ops"]) - len(chain)
    assert set(ops_held(a, record["case"])).isdisjoint(op["op"] for op in chain)


def test_a_new_case_with_a_change_in_this_sites_name_comes_without_it(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    a, b = world["a"], world["b"]
    record = line_of_new_case(b, a, tmp_path)
    planted = intake_change(stamp(a), record["ops"][0]["op"], "Одеса")
    record["ops"].append(planted)
    report = a.service.import_file(forged(b, a, tmp_path, 5, [record]))
    assert (report.cases_new, report.ops_new, report.ops_not_ours) == (
        1, len(record["ops"]) - 1, 1)
    assert planted["op"] not in ops_held(a, record["case"])
    assert a.session.get_case(record["case"], audit_view=False).location == "Херсонська обл."


def test_a_case_created_in_this_sites_name_is_not_taken(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    a, b = world["a"], world["b"]
    record = line_of_new_case(b, a, tmp_path)
    record["case"] = "f" * 32
    record["ops"] = [hijacking_create(record["ops"][0], stamp(a))]
    report = a.service.import_file(forged(b, a, tmp_path, 5, [record]))
    assert (report.cases_new, report.ops_new, report.ops_not_ours) == (0, 0, 1)
    assert a.session.count_cases() == 0


def test_after_a_restore_only_changes_from_before_it_come_back_in_this_sites_name(
    tmp_path: Path
) -> None:
    north, south = make_sites(tmp_path, ["north", "south"])
    world = World(north, south, [north, south])
    try:
        exchange(world, tmp_path)
        south = restored_south(world, tmp_path)  # "Бондаренко Юрій" lost, North has it
        case_id = south.session.search("Коваленко")[0].id
        genuine = tmp_path / "north-full.haven"
        north.service.export([south.name], genuine, full=True)
        record = case_record(genuine, south, case_id)
        # After the restore, a change in South's name can only be one South holds.
        planted = intake_change(stamp(south), record["ops"][0]["op"], "Одеса")
        record["ops"].append(planted)
        path = forged(north, south, tmp_path, 50, [record], like=genuine)
        assert south.service.import_file(path).ops_not_ours == 1
        assert planted["op"] not in ops_held(south, case_id)
        # What South made before the restore and lost with it comes back from North.
        report = south.service.import_file(genuine)
        assert (report.cases_new, report.ops_not_ours) == (1, 0)
        assert len(south.session.search("Бондаренко")) == 1
    finally:
        for site in world.opened:
            site.close()


# --- conflicts wider than a resolution can name ---------------------------------------------


def concurrent_edits(record: dict[str, Any], sender: HavenSite, count: int) -> None:
    """``count`` edits of the intake group, each replacing only the case's creation."""
    create = record["ops"][0]["op"]
    record["ops"] += [intake_change(stamp(sender, counter=n), create, f"Місце {n}")
                      for n in range(count)]


def test_a_conflict_wider_than_a_resolution_can_name_is_refused(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = world["a"], world["b"]
    _, record = held_by_b(a, b, tmp_path)
    concurrent_edits(record, b, 40)
    ref = record["ops"][0]["values"]["ref"]
    assert_refused(a, forged(b, a, tmp_path, 5, [record]), capsys,
                   f"40 versions of its intake fields in conflict, more than one change can"
                   f" replace ({oplog.MAX_PARENTS}) (case {ref})")
    assert a.service.list_conflicts() == []
    # The same as a case new here.
    record = line_of_new_case(b, a, tmp_path)
    concurrent_edits(record, b, oplog.MAX_PARENTS + 1)
    assert_refused(a, forged(b, a, tmp_path, 6, [record]), capsys,
                   f"{oplog.MAX_PARENTS + 1} versions of its intake fields in conflict")


def test_the_widest_conflict_a_file_may_bring_is_resolved_and_passed_on(
    world: dict[str, HavenSite], tmp_path: Path
) -> None:
    a, b = world["a"], world["b"]
    _, record = held_by_b(a, b, tmp_path)
    concurrent_edits(record, b, oplog.MAX_PARENTS)
    assert a.service.import_file(forged(b, a, tmp_path, 5, [record])).conflicts_new == 1
    [conflict] = a.service.list_conflicts()
    assert len(conflict.versions) == oplog.MAX_PARENTS
    resolution = a.service.resolve_conflict(conflict.id, "incoming")
    assert len(resolution.parents) == oplog.MAX_PARENTS
    c = make_site(tmp_path, "c")  # a third site: B would hold its own edits already
    pair(a, c)
    path = tmp_path / "resolved.haven"
    a.service.export([c.name], path, full=True)
    assert c.service.import_file(path).ops_new == len(record["ops"]) + 1  # and the resolution
    assert c.service.list_conflicts() == []
    c.close()


def test_a_change_never_replaces_more_versions_than_the_format_carries(
    world: dict[str, HavenSite]
) -> None:
    a = world["a"]
    case_id = new_case(a, "Коваленко Андрій")
    with a.session.vault.reading() as conn:
        before = oplog.ops_for_case(conn, case_id)
        create = before[0].id
    # Versions of the intake fields held from before imports refused such a conflict.
    wide = [oplog.Op(f"{int(create[:13]) + 1:013d}:{n:04d}:{'b' * 32}", case_id, oplog.SET,
                     before[0].at, "admin", {"location": f"Місце {n}", "callback": None,
                                            "notes": None}, "intake", (create,))
            for n in range(oplog.MAX_PARENTS + 1)]
    with a.session.vault.transaction() as conn:
        ops = [*before, *wide]
        oplog.store_merged(conn, [(case_id, oplog.last_lseq(conn) + 1, wide[-1].id, "{}",
                                   oplog.pack_ops(oplog.ops_json(ops).encode()))])
        sync.resettle_case(conn, case_id)
    [conflict] = a.service.list_conflicts()
    widest = f"more than one change can replace \\({oplog.MAX_PARENTS}\\)"
    with pytest.raises(InputRejected, match=widest):
        a.service.resolve_conflict(conflict.id, "incoming")
    with pytest.raises(ValueError, match="may replace at most 32 versions, not 33"), \
            a.session.vault.transaction() as conn:
        oplog.record(conn, case_id, oplog.SET, before[0].at, "admin", wide[0].values,
                     "intake", replaces=[op.id for op in wide])
    with a.session.vault.reading() as conn:
        assert len(oplog.ops_for_case(conn, case_id)) == len(before) + len(wide)


# --- refusals name the case, by its reference code (no personal data) ------------------------


def test_a_reference_code_taken_here_names_the_case(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = world["a"], world["b"]
    ref = a.session.get_case(new_case(a, "Коваленко Андрій"), audit_view=False).ref
    record = line_of_new_case(b, a, tmp_path)
    record["ops"][0]["values"]["ref"] = ref
    assert_refused(a, forged(b, a, tmp_path, 5, [record]), capsys,
                   f"a case in the file has the reference code of another case here (case {ref})")


def resolution(op_id: str, parents: list[str], status: str, before: str,
               resolved: str) -> dict[str, Any]:
    return {"op": op_id, "kind": "set", "at": "2026-01-02T10:00:00.000Z", "by": "admin",
            "group": "status", "parents": sorted(parents),
            "values": {"status": status, "from": before, "fields": {"resolved": resolved}}}


def test_a_change_that_replaces_itself_is_refused(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 'resolution' naming itself among what it replaces counted its own status as one of
    the versions kept: a registered case went to handed off. So did a re-arrangement."""
    a, b = world["a"], world["b"]
    case_id, record = held_by_b(a, b, tmp_path)
    create, me = record["ops"][0]["op"], stamp(b, counter=1)
    for change in (
        resolution(me, [create, me], "handed_off", "registered",
                   sync.conflict_id(case_id, "status", [create, me])),
        status_move(me, me, "handoff_arranged", "handoff_arranged", {
            "meeting_point": "Пункт Б", "receiving_unit": "Група 9",
            "window_start": "2026-12-01 12:00:00+00:00",
            "window_end": "2026-12-01 14:00:00+00:00"}),
    ):
        line = copy.deepcopy(record)
        line["ops"].append(change)
        assert_refused(a, forged(b, a, tmp_path, 5, [line]), capsys,
                       "parents: not older than the change")
    assert a.session.get_case(case_id, audit_view=False).status == Status.REGISTERED


def test_a_resolution_of_versions_one_of_which_replaced_the_other_is_refused(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No conflict at all: 'resolving' a version and its own ancestor took an arranged case
    back to confirmed."""
    a, b = world["a"], world["b"]
    case_id, record = held_by_b(a, b, tmp_path)
    create = record["ops"][0]["op"]
    confirmed = status_move(stamp(b, counter=1), create, "registered", "confirmed",
                            {"location": "Херсон", "group_size": "1"})
    arranged = status_move(stamp(b, counter=2), confirmed["op"], "confirmed",
                           "handoff_arranged", {
                               "meeting_point": "Пункт А", "receiving_unit": "Група 1",
                               "window_start": "2026-12-01 12:00:00+00:00",
                               "window_end": "2026-12-01 14:00:00+00:00"})
    heads = [confirmed["op"], arranged["op"]]
    record["ops"] += [confirmed, arranged, resolution(
        stamp(b, counter=3), heads, "confirmed", "handoff_arranged",
        sync.conflict_id(case_id, "status", heads))]
    assert_refused(a, forged(b, a, tmp_path, 5, [record]), capsys,
                   "values: not a resolved conflict")
    assert a.session.get_case(case_id, audit_view=False).status == Status.REGISTERED


def test_one_change_told_two_ways_to_two_sites_does_not_cut_them_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """B sends its change X to A as an intake change and to C as an outcome change. A's
    files carry X on to C, which holds its other version: left out there, as a relayed copy
    that differs, and A's later work still reaches C."""
    a, b, c = make_sites(tmp_path, ["a", "b", "c"])
    _, record = held_by_b(a, b, tmp_path)
    carry(a, c, tmp_path)
    x = stamp(b, counter=1)
    to_a = copy.deepcopy(record)
    to_a["ops"].append(intake_change(x, record["ops"][0]["op"], "Одеса"))
    to_c = copy.deepcopy(record)
    outcome = intake_change(x, record["ops"][0]["op"], "Одеса")
    outcome["group"], outcome["values"] = "outcome", {"outcome": None, "outcome_notes": "x"}
    to_c["ops"].append(outcome)
    assert run_import(a, forged(b, a, tmp_path, 5, [to_a]), capsys)[0] == 0
    assert run_import(c, forged(b, c, tmp_path, 5, [to_c]).rename(tmp_path / "to-c.haven"),
                      capsys)[0] == 0
    later = new_case(a, "Шевченко Тарас")
    path = tmp_path / "a-c.haven"
    a.service.export([c.name], path, full=False)
    report = c.service.import_file(path)
    assert report.ops_left_out == 1
    assert c.session.get_case(later, audit_view=False).persons[0].full_name == "Шевченко Тарас"
    for site in (a, b, c):
        site.close()
