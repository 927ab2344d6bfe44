"""Sites that have seen the same files hold the same data, and no edit is silently lost.

Three or four real vaults share two cases, then make random edits and exchange transfer
files in random orders, with random duplicates, for a few rounds; then every site sends
every other one a last file and all files are delivered, shuffled. Every site must then
hold exactly the same cases (a canonical dump), and every edit must be the value shown, a
version kept in a conflict, or one that a later edit replaced knowingly (its parent).
Every site must also hold every other site's audit log as far as its last file carried it.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db import audit_union, cases, oplog, sync
from db.records import Channel, CodewordAttempt, ContactEntry, ContactStage, StatusChange
from db.vault import now_utc
from desktop import workflow
from desktop.errors import InputRejected
from desktop.transfer.importer import ReplayRejected
from tests.desktop.transfer.sites import HavenSite, canonical_dump, make_sites, new_case

SMALL_TEXT = st.sampled_from(["Пункт А", "Пункт Б", "Пункт В", None])
GROUP_VALUES: dict[str, Any] = {
    "intake": st.fixed_dictionaries({"location": SMALL_TEXT, "notes": SMALL_TEXT}),
    "confirmation": st.fixed_dictionaries(
        {"group_size": st.integers(1, 5), "condition": SMALL_TEXT}
    ),
    "arrangement": st.fixed_dictionaries({"meeting_point": SMALL_TEXT}),
    "outcome": st.fixed_dictionaries({"outcome": st.sampled_from(["detention", "emigration"])}),
    "exit": st.fixed_dictionaries({"reason": SMALL_TEXT}),
}
# What a status change records for each field its move requires (as text, as the desk does).
MOVE_FIELDS = {
    "location": "Пункт А", "group_size": "2", "meeting_point": "Пункт Б",
    "receiving_unit": "Група 1", "window_start": "2026-12-01 12:00:00+00:00",
    "window_end": "2026-12-01 14:00:00+00:00", "received_by": "Петренко",
    "outcome": "detention", "outcome_notes": "консультація", "reason": "відмовився",
    "duplicate_of": "0" * 32,
}
EDIT = st.one_of(
    st.tuples(st.just("new"), st.integers(0, 3)),
    st.tuples(st.just("field"), st.integers(0, 3), st.integers(0, 9),
              st.sampled_from(sorted(GROUP_VALUES)).flatmap(
                  lambda g: st.tuples(st.just(g), GROUP_VALUES[g]))),
    # One of the moves the workflow allows from the case's status there, by number.
    st.tuples(st.just("status"), st.integers(0, 3), st.integers(0, 9), st.integers(0, 6)),
    st.tuples(st.just("contact"), st.integers(0, 3), st.integers(0, 9)),
    st.tuples(st.just("codeword"), st.integers(0, 3), st.integers(0, 9), st.booleans()),
    st.tuples(st.just("resolve"), st.integers(0, 3), st.sampled_from(["local", "incoming"])),
)
ROUND = st.fixed_dictionaries({
    "edits": st.lists(EDIT, min_size=3, max_size=10),
    "exports": st.lists(st.tuples(st.integers(0, 3), st.lists(st.integers(0, 3), min_size=1,
                                                               max_size=3)), max_size=4),
    "deliveries": st.lists(st.tuples(st.integers(0, 3), st.integers(0, 99)), max_size=8),
})
PROGRAM = st.fixed_dictionaries({
    "sites": st.integers(3, 4),
    "rounds": st.lists(ROUND, min_size=1, max_size=3),
    "final_order": st.randoms(use_true_random=False),
})


@dataclass
class World:
    sites: list[HavenSite]
    folder: Path
    files: list[tuple[Path, set[int]]] = field(default_factory=list)  # (file, recipients)
    made: set[tuple[str, str]] = field(default_factory=set)  # (case id, op id) of every edit
    clock: int = 0

    def moment(self) -> Any:
        # Distinct, increasing business times keep the test's own intentions unambiguous.
        self.clock += 1
        return now_utc() + timedelta(milliseconds=self.clock)

    def cases_at(self, index: int) -> list[str]:
        with self.sites[index].session.vault.reading() as conn:
            return [row[0] for row in conn.execute("SELECT id FROM cases ORDER BY id")]

    def note_newest(self, index: int, case_id: str) -> None:
        with self.sites[index].session.vault.reading() as conn:
            newest = conn.execute(
                "SELECT newest FROM case_ops WHERE case_id = ?", (case_id,)
            ).fetchone()[0]
        self.made.add((case_id, newest))


def apply_edit(world: World, edit: tuple[Any, ...]) -> None:
    kind, where = edit[0], edit[1] % len(world.sites)
    site = world.sites[where]
    if kind == "new":
        case_id = new_case(site, f"Особа {len(world.made)}")
        world.note_newest(where, case_id)
        return
    if kind == "resolve":
        conflicts = site.service.list_conflicts()
        if conflicts:
            try:
                site.service.resolve_conflict(conflicts[0].id, edit[2])
            except InputRejected:
                return  # no version made on that side
            world.note_newest(where, conflicts[0].case_id)
        return
    known = world.cases_at(where)
    if not known:
        return
    case_id = known[edit[2] % len(known)]
    with site.session.vault.transaction() as conn:
        if kind == "field":
            cases.update_fields(conn, case_id, edit[3][1], world.moment(), by="operator")
        elif kind == "status":
            case = cases.get_case(conn, case_id)
            moves = workflow.transitions_from(case)
            if not moves:
                return  # closed, withdrawn or a duplicate: no way on
            move = moves[edit[3] % len(moves)]
            fields = {name: MOVE_FIELDS[name] for name in move.required if name != "codeword"}
            if "notes" in move.optional:
                fields["notes"] = site.name
            cases.set_status(conn, case_id, StatusChange(
                case_id, case.status, move.target, world.moment(), "operator", fields))
        elif kind == "contact":
            cases.add_contact(conn, ContactEntry(case_id, world.moment(), Channel.PHONE,
                                                 "operator", ContactStage.FOLLOW_UP, site.name))
        else:
            cases.record_codeword_attempt(
                conn, CodewordAttempt(case_id, world.moment(), "operator", edit[3]), 3)
    world.note_newest(where, case_id)


def export(world: World, sender: int, to: list[int]) -> None:
    recipients = sorted({t % len(world.sites) for t in to} - {sender})
    if not recipients:
        return
    path = world.folder / f"file-{len(world.files)}.haven"
    world.sites[sender].service.export([world.sites[r].name for r in recipients], path,
                                       full=False)
    world.files.append((path, set(recipients)))


def deliver(world: World, site_index: int, file_index: int) -> None:
    path, recipients = world.files[file_index]
    if site_index not in recipients:
        return
    # A duplicate is refused as a replay, and changes nothing.
    with contextlib.suppress(ReplayRejected):
        world.sites[site_index].service.import_file(path)


def audit_log(holder: HavenSite, origin: HavenSite, upto: int) -> list[audit_union.Entry]:
    """The first ``upto`` entries of ``origin``'s audit log that ``holder`` holds."""
    with holder.session.vault.reading() as conn:
        return list(audit_union.entries_after(conn, holder.site_id, origin.site_id, 0, upto))


def check_nothing_lost(site: HavenSite, made: set[tuple[str, str]]) -> None:
    with site.session.vault.reading() as conn:
        held = {
            case_id: oplog.parse_ops(case_id, oplog.unpack_ops(ops))
            for case_id, ops in conn.execute("SELECT case_id, ops FROM case_ops")
        }
        conflicts = {(c.case_id, c.group): set(c.heads) for c in sync.list_conflicts(conn)}
    ids = {(case_id, op.id) for case_id, ops in held.items() for op in ops}
    assert made <= ids, "an edit never reached this site"
    for case_id, ops in held.items():
        shown = sync.derive(ops)
        assert shown is not None
        rows = {row[0] for row in (*shown.contacts(), *shown.history(), *shown.attempts())}
        by_id = {op.id: op for op in ops}
        create = next(op for op in ops if op.kind == oplog.CREATE)
        for op in ops:
            if op.kind in (oplog.CONTACT, oplog.CODEWORD) or (
                op.kind == oplog.SET and op.group == oplog.STATUS_GROUP
            ):
                assert op.id in rows, "an append-only entry is missing"
        for group in oplog.GROUPS:
            members = [op for op in ops if op.kind == oplog.SET and op.group == group]
            if not members:
                continue
            winner = max(members, key=lambda op: op.id)
            keepers = {winner.id} | conflicts.get((case_id, group), set())
            seen: set[str] = set()
            stack = list(keepers)
            while stack:  # everything a kept version knowingly replaced
                current = by_id.get(stack.pop())
                if current is None or current.id in seen:
                    continue
                seen.add(current.id)
                stack.extend(current.parents)
            for op in members:
                assert op.id in seen, f"edit {op.id} of {group} was silently lost"
            assert create.id in seen or len(members) == 0


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(PROGRAM)
def test_sites_converge_and_lose_no_edit(program: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="haven-converge-") as folder:
        names = ["north", "south", "west", "east"][: program["sites"]]
        world = World(make_sites(Path(folder), names), Path(folder))
        try:
            # Two cases everyone knows, so that the random edits meet on shared cases.
            for name in ("Спільна Особа", "Друга Особа"):
                world.note_newest(0, new_case(world.sites[0], name))
            export(world, 0, list(range(1, len(world.sites))))
            for index in range(1, len(world.sites)):
                deliver(world, index, 0)
            for round_ in program["rounds"]:
                for edit in round_["edits"]:
                    apply_edit(world, edit)
                for sender, to in round_["exports"]:
                    export(world, sender % len(world.sites), to)
                for site_index, file_index in round_["deliveries"]:
                    if world.files:
                        deliver(world, site_index % len(world.sites),
                                file_index % len(world.files))
            everyone = list(range(len(world.sites)))
            for sender in everyone:
                export(world, sender, everyone)
            # Each site's last file carries its audit log up to here.
            logs = [audit_log(site, site, 2**53) for site in world.sites]
            order = [(s, f) for f in range(len(world.files)) for s in everyone]
            order += order[: len(order) // 3]  # some files arrive twice
            program["final_order"].shuffle(order)
            for site_index, file_index in order:
                deliver(world, site_index, file_index)
            dumps = [canonical_dump(site) for site in world.sites]
            for dump in dumps[1:]:
                assert dump == dumps[0]
            for site in world.sites:
                check_nothing_lost(site, world.made)
            assert json.dumps(dumps[0]["conflicts"])  # conflicts, if any, are the same
            for holder in world.sites:
                for origin, log in zip(world.sites, logs, strict=True):
                    assert audit_log(holder, origin, len(log)) == log
        finally:
            for site in world.sites:
                site.close()
