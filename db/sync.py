"""Cases derived from their ops, so that every site holding the same ops holds the same cases.

The rules, each a function of the set of ops alone (never of the order they arrived in):

- A case exists once its ``create`` op is present; ops with two are refused (the
  later would replace the case's reference code, persons and codeword).
- Each field group (and the status) shows the values of its newest op by clock stamp,
  counting the ``create`` op as the first version of every group (last writer wins).
- Ops of a group that no other op of that group names as a parent are its *heads*. One
  head is the normal case; more than one means edits were made without seeing each
  other, and the group is kept as a conflict (with every head's values) for a manager.
- Contacts, status history and codeword checks are append-only unions of their ops,
  ordered by time and then stamp; the failure count and the impostor flag are replayed
  from the codeword checks in that order.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlcipher3

from db import oplog, search
from db.oplog import (
    CASE_FIELDS,
    CODEWORD,
    CONTACT,
    CREATE,
    FIELD_GROUPS,
    GROUPS,
    SET,
    STATUS_GROUP,
    Op,
)
from db.records import Mobilization, Person, Status

# Lower ranks come first in the queue: what needs action soonest.
QUEUE_RANK: Mapping[Status, int] = {
    Status.REGISTERED: 1,
    Status.CONFIRMED: 0,
    Status.HANDOFF_ARRANGED: 2,
    Status.HANDED_OFF: 3,
    Status.CLOSED: 8,
    Status.WITHDRAWN: 9,
    Status.DUPLICATE: 9,
}


_RANK_OF_STATUS = {status.value: rank for status, rank in QUEUE_RANK.items()}


class MergeRefused(Exception):
    """Incoming ops clash with what the vault holds (such as a reused reference code)."""


CREATED_TWICE = "the file creates a case twice"


@dataclass(frozen=True, slots=True)
class Conflict:
    """Concurrent versions of one group of a case; ``heads`` newest first (the shown one)."""

    id: str
    case_id: str
    group: str
    heads: tuple[str, ...]


@dataclass(slots=True)
class DerivedCase:
    """Everything stored about a case, as its ops decide it."""

    case_id: str
    create: Op
    fields: dict[str, Any]
    status: str
    status_changed_at: str
    updated_at: str
    last_contact_at: str
    failed_codeword_attempts: int
    flagged: bool
    versions: dict[str, str] = field(default_factory=dict)  # edited group -> op shown
    conflicts: list[Conflict] = field(default_factory=list)
    status_ops: list[Op] = field(default_factory=list)  # in stamp order
    contact_ops: list[Op] = field(default_factory=list)  # by time, then stamp
    check_ops: list[Op] = field(default_factory=list)  # by time, then stamp

    def contacts(self) -> list[tuple[str, str, str, str | None, str, str]]:
        """(op, at, channel, by, stage, summary) of the contact log, oldest first."""
        return [
            (op.id, op.at, op.values["channel"], op.by, op.values["stage"], op.values["summary"])
            for op in self.contact_ops
        ]

    def history(self) -> list[tuple[str, str | None, str, str, str | None, str]]:
        """(op, from, to, at, by, fields JSON) of every status, oldest first."""
        create = self.create
        rows: list[tuple[str, str | None, str, str, str | None, str]] = [
            (create.id, None, "registered", create.at, create.by, "{}")
        ]
        rows += [
            (op.id, op.values.get("from"), str(op.values["status"]), op.at, op.by,
             history_fields(op.values))
            for op in self.status_ops
        ]
        rows.sort(key=lambda row: (row[3], row[0]))
        return rows

    def attempts(self) -> list[tuple[str, str, str | None, bool]]:
        """(op, at, by, success) of every codeword check, oldest first."""
        return [(op.id, op.at, op.by, bool(op.values["success"])) for op in self.check_ops]


def conflict_id(case_id: str, group: str, heads: Sequence[str]) -> str:
    """A short id that every site derives alike from the same heads."""
    text = "\0".join([case_id, group, *sorted(heads)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def group_heads(create: Op, group_ops: Sequence[Op]) -> list[Op]:
    """The versions of a group that nothing replaced, newest first."""
    candidates = [create, *group_ops]
    replaced = {parent for op in group_ops for parent in op.parents}
    heads = [op for op in candidates if op.id not in replaced]
    heads.sort(key=lambda op: op.id, reverse=True)
    return heads


_HISTORY_FIELDS = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def history_fields(values: Mapping[str, Any]) -> str:
    """The status history's ``fields`` column for a status op (JSON, keys sorted)."""
    fields = values.get("fields")
    if not fields:
        return "{}"
    if all(type(value) is str for value in fields.values()):
        # What the encoder writes for text values, without its per-call set-up.
        quote = json.encoder.encode_basestring
        return "{" + ", ".join(f"{quote(k)}: {quote(fields[k])}" for k in sorted(fields)) + "}"
    return _HISTORY_FIELDS.encode(fields)


def replay_codeword_checks(checks: Iterable[Op]) -> tuple[int, bool]:
    """(failures since the last success, flagged) from codeword ops in time order."""
    failures = 0
    flagged = False
    for op in sorted(checks, key=lambda op: (op.at, op.id)):
        if op.values["success"]:
            failures = 0
        else:
            failures += 1
            if failures >= int(op.values["flag_after"]):
                flagged = True
    return failures, flagged


_STAMP_OF = operator.attrgetter("id")


def _chain_heads(create: Op, group_ops: list[Op]) -> list[Op]:
    """group_heads, quick when each op replaced the one before it (nearly always so)."""
    previous = create.id
    for op in group_ops:  # in stamp order
        if op.parents != (previous,):
            return group_heads(create, group_ops)
        previous = op.id
    return [group_ops[-1]]


def derive(ops: Iterable[Op]) -> DerivedCase | None:
    """The case these ops describe, or None while its ``create`` op has not arrived."""
    create: Op | None = None
    by_group: dict[str, list[Op]] = {}
    contacts: list[Op] = []
    checks: list[Op] = []
    for op in sorted(ops, key=_STAMP_OF):
        kind = op.kind
        if kind == SET:
            group_ops = by_group.get(op.group or "")
            if group_ops is None:
                by_group[op.group or ""] = [op]
            else:
                group_ops.append(op)
        elif kind == CREATE:
            if create is not None:  # else the later one would take the case over
                raise MergeRefused(CREATED_TWICE)
            create = op
        elif kind == CONTACT:
            contacts.append(op)
        elif kind == CODEWORD:
            checks.append(op)
    if create is None:
        return None
    initial = create.values
    fields = {name: initial.get(name) for name in CASE_FIELDS}
    conflicts: list[Conflict] = []
    updated_at = create.at
    status_op: Op = create
    versions: dict[str, str] = {}
    for group, group_ops in by_group.items():
        if group not in GROUPS:
            continue
        heads = _chain_heads(create, group_ops)
        winner = group_ops[-1]  # the newest stamp
        versions[group] = winner.id
        if len(heads) > 1:
            ids = tuple(op.id for op in heads)
            conflicts.append(Conflict(conflict_id(create.case_id, group, ids),
                                      create.case_id, group, ids))
        latest = max(op.at for op in group_ops)
        if latest > updated_at:
            updated_at = latest
        if group == STATUS_GROUP:
            status_op = winner
        else:
            source = winner.values
            for name in FIELD_GROUPS[group]:
                fields[name] = source.get(name)
    conflicts.sort(key=lambda conflict: GROUPS.index(conflict.group))
    status = "registered" if status_op is create else str(status_op.values["status"])
    contacts.sort(key=lambda op: (op.at, op.id))
    checks.sort(key=lambda op: (op.at, op.id))
    failures, flagged = replay_codeword_checks(checks)
    return DerivedCase(
        case_id=create.case_id,
        create=create,
        fields=fields,
        status=status,
        status_changed_at=status_op.at,
        updated_at=updated_at,
        # Registering the case was the first contact, as the intake desk sees it.
        last_contact_at=max(create.at, contacts[-1].at) if contacts else create.at,
        failed_codeword_attempts=failures,
        flagged=flagged,
        versions=versions,
        conflicts=conflicts,
        status_ops=by_group.get(STATUS_GROUP, []),
        contact_ops=contacts,
        check_ops=checks,
    )


def refuse_wide_conflicts(case: DerivedCase) -> None:
    """Refuse a case with a group in conflict among more versions than a resolution could
    replace: the resolution would be a change no site can send on."""
    for conflict in case.conflicts:
        if len(conflict.heads) > oplog.MAX_PARENTS:
            raise MergeRefused(
                f"a case in the file would hold {len(conflict.heads)} versions of its"
                f" {conflict.group} fields in conflict, more than one change can replace"
                f" ({oplog.MAX_PARENTS}) (case {case.create.values['ref']})"
            )


def persons_of(create: Op) -> list[Person]:
    """The persons a case's create op carries."""
    return [
        Person(
            full_name=raw["full_name"],
            birth_date=raw.get("birth_date"),
            phone=raw.get("phone"),
            rank=raw.get("rank"),
            unit=raw.get("unit"),
            mobilization=Mobilization(raw.get("mobilization") or "unknown"),
            notes=raw.get("notes"),
        )
        for raw in create.values["persons"]
    ]


def display_names(persons: Sequence[Person]) -> str:
    """The queue's names column: the first two names, then how many more."""
    names = [person.full_name for person in persons[:2]]
    extra = len(persons) - len(names)
    return "; ".join(names) + (f" +{extra}" if extra > 0 else "")


_MUTABLE_COLUMNS = (
    "status, queue_rank, location, callback, notes, group_size, condition, meeting_point,"
    " receiving_unit, window_start, window_end, outcome, outcome_notes, duplicate_of, reason,"
    " flagged, failed_codeword_attempts, updated_at, status_changed_at, last_contact_at"
)


def _mutable_values(case: DerivedCase) -> list[Any]:
    f = case.fields
    return [
        case.status, _RANK_OF_STATUS[case.status], f["location"], f["callback"], f["notes"],
        f["group_size"], f["condition"], f["meeting_point"], f["receiving_unit"],
        f["window_start"], f["window_end"], f["outcome"], f["outcome_notes"],
        f["duplicate_of"], f["reason"], int(case.flagged), case.failed_codeword_attempts,
        case.updated_at, case.status_changed_at, case.last_contact_at,
    ]


def _max_id(conn: Any, sql: str) -> int:
    return int(conn.execute(sql).fetchone()[0] or 0)


# The columns a case's create op alone decides, in Prepared.case's order before the rest.
_CREATED_COLUMNS = (
    "id, ref, kind, channel, display_names, codeword_salt, codeword_digest, created_at,"
    " created_by, origin_site, hlc"
)
_INSERT_CASE = (
    f"INSERT INTO cases (rowid, {_CREATED_COLUMNS}, {_MUTABLE_COLUMNS})"  # noqa: S608
    f" VALUES ({','.join('?' * 32)})"
)


def _ref_taken(ref: str) -> MergeRefused:
    # A reference code is no personal data: the IT officer can look the case up by it.
    return MergeRefused(
        f"a case in the file has the reference code of another case here (case {ref})"
    )


class Prepared(NamedTuple):
    """A new case's rows before it has local ids: what :meth:`Materializer.add` writes.

    Plain tuples and values only, so that it can be built in another process and sent.
    """

    case: tuple[Any, ...]  # the cases row after its rowid
    persons: tuple[tuple[Any, ...], ...]  # persons rows after id and case_rowid
    terms: tuple[str, ...]  # each person's search terms
    conflicts: tuple[tuple[str, str, str, str], ...]


def prepare(case: DerivedCase) -> Prepared:
    """The rows of a case that is not in the tables yet."""
    create = case.create
    values = create.values
    ref = values["ref"]
    raw_persons = values["persons"]
    names = [raw["full_name"] for raw in raw_persons]
    ref_key = search.reference_key(ref)
    return Prepared(
        (
            case.case_id,
            ref,
            values["kind"],
            values["channel"],
            "; ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else ""),
            bytes.fromhex(values["codeword_salt"]),
            bytes.fromhex(values["codeword_digest"]),
            create.at,
            create.by or "",
            create.origin,
            create.id,
            *_mutable_values(case),
        ),
        tuple(
            (
                position,
                raw["full_name"],
                raw.get("birth_date"),
                raw.get("phone"),
                raw.get("rank"),
                raw.get("unit"),
                raw.get("mobilization") or "unknown",
                raw.get("notes"),
            )
            for position, raw in enumerate(raw_persons)
        ),
        tuple(search.name_terms(name, ref_key) for name in names),
        _conflict_rows(case),
    )


def _conflict_rows(case: DerivedCase) -> tuple[tuple[str, str, str, str], ...]:
    return tuple((c.id, c.case_id, c.group, json.dumps(list(c.heads))) for c in case.conflicts)


class Materializer:
    """Writes derived cases into the case tables, batching the inserts of new cases."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        # Ids are handed out here so that new cases go in with executemany; the caller
        # holds the write lock for the whole import, so nobody else takes them meanwhile.
        self._next_case_rowid = _max_id(conn, "SELECT max(rowid) FROM cases") + 1
        self._next_person_id = _max_id(conn, "SELECT max(id) FROM persons") + 1
        self._cases: list[tuple[Any, ...]] = []
        self._persons: list[tuple[Any, ...]] = []
        self._terms: list[tuple[int, str]] = []
        self._conflicts: list[tuple[str, str, str, str]] = []

    def case_rowid(self, case_id: str) -> int | None:
        """The local row id of a case that is in the tables, or None."""
        row = self.conn.execute("SELECT rowid FROM cases WHERE id = ?", (case_id,)).fetchone()
        return None if row is None else int(row[0])

    def insert(self, case: DerivedCase) -> None:
        """Queue a case that is not in the tables yet."""
        self.add(prepare(case))

    def add(self, rows: Prepared) -> None:
        """Queue the prepared rows of a case that is not in the tables yet."""
        rowid = self._next_case_rowid
        self._next_case_rowid += 1
        self._cases.append((rowid, *rows.case))
        self._queue_rows(rowid, rows)

    def _queue_rows(self, rowid: int, rows: Prepared) -> None:
        first = self._next_person_id
        self._next_person_id += len(rows.persons)
        self._persons += [(first + i, rowid, *person) for i, person in enumerate(rows.persons)]
        self._terms += [(first + i, terms) for i, terms in enumerate(rows.terms)]
        self._conflicts += rows.conflicts

    def update(self, rowid: int, case: DerivedCase) -> None:
        """Bring an existing case row up to its derived state, with its open conflicts."""
        assignments = ", ".join(f"{name.strip()} = ?" for name in _MUTABLE_COLUMNS.split(","))
        self.conn.execute(
            f"UPDATE cases SET {assignments} WHERE rowid = ?",  # noqa: S608 - fixed names
            [*_mutable_values(case), rowid],
        )
        self.conn.execute("DELETE FROM conflicts WHERE case_id = ?", (case.case_id,))
        self._conflicts += _conflict_rows(case)

    def recreate(self, rowid: int, case: DerivedCase) -> None:
        """Rewrite a case whose create op changed: its row in place (what hangs on the row,
        such as its print register, stays), its persons and their search terms anew."""
        rows = prepare(case)
        names = f"{_CREATED_COLUMNS}, {_MUTABLE_COLUMNS}".split(",")
        assignments = ", ".join(f"{name.strip()} = ?" for name in names)
        try:
            self.conn.execute(
                f"UPDATE cases SET {assignments} WHERE rowid = ?",  # noqa: S608 - fixed names
                [*rows.case, rowid],
            )
        except sqlcipher3.IntegrityError:
            raise _ref_taken(rows.case[1]) from None
        for (person_id,) in self.conn.execute(
            "SELECT id FROM persons WHERE case_rowid = ?", (rowid,)
        ).fetchall():
            search.unindex_person(self.conn, int(person_id))
        self.conn.execute("DELETE FROM persons WHERE case_rowid = ?", (rowid,))
        self.conn.execute("DELETE FROM conflicts WHERE case_id = ?", (case.case_id,))
        self._queue_rows(rowid, rows)

    def _taken_ref(self) -> str:
        """The reference code that made the queued cases' insert fail: used twice among
        them, or by another case held (asked only once the insert has failed)."""
        seen: set[str] = set()
        for row in self._cases:
            case_id, ref = row[1], row[2]
            if ref in seen or self.conn.execute(
                "SELECT 1 FROM cases WHERE ref = ? AND id != ?", (ref, case_id)
            ).fetchone():
                return str(ref)
            seen.add(ref)
        return "?"

    def flush(self) -> None:
        """Write everything queued."""
        conn = self.conn
        if self._cases:
            try:
                conn.executemany(_INSERT_CASE, self._cases)
            except sqlcipher3.IntegrityError:
                raise _ref_taken(self._taken_ref()) from None
        if self._persons:
            conn.executemany(
                "INSERT INTO persons (id, case_rowid, position, full_name, birth_date, phone,"
                " rank, unit, mobilization, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self._persons,
            )
            conn.executemany(
                "INSERT INTO person_search (rowid, terms) VALUES (?, ?)", self._terms
            )
        if self._conflicts:
            conn.executemany(
                "INSERT INTO conflicts (id, case_id, grp, heads) VALUES (?, ?, ?, ?)",
                self._conflicts,
            )
        self._cases, self._persons, self._terms, self._conflicts = [], [], [], []


def refresh_group_conflict(conn: Any, case_id: str, group: str) -> None:
    """Re-derive the conflict of one group after a local edit (cheap: one case's ops)."""
    ops = [op for op in oplog.ops_for_case(conn, case_id) if op.kind in (CREATE, SET)]
    create = next((op for op in ops if op.kind == CREATE), None)
    conn.execute("DELETE FROM conflicts WHERE case_id = ? AND grp = ?", (case_id, group))
    if create is None:
        return
    heads = group_heads(create, [op for op in ops if op.kind == SET and op.group == group])
    if len(heads) > 1:
        ids = [op.id for op in heads]
        conn.execute(
            "INSERT INTO conflicts (id, case_id, grp, heads) VALUES (?, ?, ?, ?)",
            (conflict_id(case_id, group, ids), case_id, group, json.dumps(ids)),
        )


def list_conflicts(conn: Any) -> list[Conflict]:
    """Every open conflict, by case and group."""
    return [
        Conflict(row[0], row[1], row[2], tuple(json.loads(row[3])))
        for row in conn.execute(
            "SELECT id, case_id, grp, heads FROM conflicts ORDER BY case_id, grp"
        )
    ]


def list_case_conflicts(conn: Any, case_id: str) -> list[Conflict]:
    """The open conflicts of one case."""
    return [
        Conflict(row[0], row[1], row[2], tuple(json.loads(row[3])))
        for row in conn.execute(
            "SELECT id, case_id, grp, heads FROM conflicts WHERE case_id = ?", (case_id,)
        )
    ]


def get_conflict(conn: Any, conflict: str) -> Conflict | None:
    """One open conflict by id, or None."""
    row = conn.execute(
        "SELECT id, case_id, grp, heads FROM conflicts WHERE id = ?", (conflict,)
    ).fetchone()
    return None if row is None else Conflict(row[0], row[1], row[2], tuple(json.loads(row[3])))


def get_op(conn: Any, case_id: str, op_id: str) -> Op | None:
    """One op of a case by id, or None."""
    return next((op for op in oplog.ops_for_case(conn, case_id) if op.id == op_id), None)


def resettle_case(conn: Any, case_id: str) -> None:
    """Rewrite one case from all of its ops (after a change that local edits cannot express)."""
    derived = derive(oplog.ops_for_case(conn, case_id))
    if derived is None:
        return
    materializer = Materializer(conn)
    rowid = materializer.case_rowid(case_id)
    if rowid is None:
        materializer.insert(derived)
    else:
        materializer.update(rowid, derived)
    materializer.flush()


def resolve_conflict(conn: Any, conflict: Conflict, keep: Op, at: str, by: str) -> Op:
    """Settle a conflict with one version's values: a new op that replaces every head."""
    if keep.id not in conflict.heads:
        raise ValueError("the version to keep is not one of the conflict's")
    if conflict.group == STATUS_GROUP:
        current = conn.execute(
            "SELECT status FROM cases WHERE id = ?", (conflict.case_id,)
        ).fetchone()
        status = "registered" if keep.kind == CREATE else str(keep.values["status"])
        values: dict[str, Any] = {
            "status": status,
            "from": None if current is None else current[0],
            "fields": {"resolved": conflict.id},
        }
    else:
        values = {name: keep.values.get(name) for name in FIELD_GROUPS[conflict.group]}
    op = oplog.record(
        conn, conflict.case_id, SET, at, by, values, conflict.group, replaces=conflict.heads
    ).op
    resettle_case(conn, conflict.case_id)
    return op
