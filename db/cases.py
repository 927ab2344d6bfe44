"""Cases, their persons, contacts, status history and codeword attempts.

Every change made here is also recorded as an op in the op-log (db.oplog), stamped by
the site's hybrid logical clock, so it can travel to other sites. The rows written here
are exactly what db.sync derives from the ops, so a site and its peers agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db import oplog, search, sync
from db.records import (
    Case,
    CaseKind,
    CaseSummary,
    Channel,
    CodewordAttempt,
    ContactEntry,
    ContactStage,
    Mobilization,
    NewCase,
    Outcome,
    Person,
    Status,
    StatusChange,
)
from db.vault import format_time, parse_time

# Lower ranks come first in the queue: what needs action soonest.
QUEUE_RANK: Mapping[Status, int] = sync.QUEUE_RANK

# Columns a workflow transition may set; anything else is refused before SQL is built.
UPDATABLE_FIELDS = frozenset(
    {
        "location",
        "callback",
        "notes",
        "group_size",
        "condition",
        "meeting_point",
        "receiving_unit",
        "window_start",
        "window_end",
        "outcome",
        "outcome_notes",
        "duplicate_of",
        "reason",
    }
)

_CASE_COLUMNS = (
    "rowid, id, ref, kind, channel, status, location, callback, notes, group_size, condition,"
    " meeting_point, receiving_unit, window_start, window_end, outcome, outcome_notes,"
    " duplicate_of, reason, flagged, failed_codeword_attempts, created_at, created_by,"
    " updated_at, status_changed_at, last_contact_at, origin_site"
)
_SUMMARY_COLUMNS = (
    "id, ref, status, display_names, status_changed_at, last_contact_at, created_by, flagged"
)


class CaseNotFound(LookupError):
    """No case with that id or reference."""


display_names = sync.display_names


@dataclass(frozen=True, slots=True)
class CaseInsert:
    """Everything stored for a new case beyond what the operator typed.

    ``hlc`` is kept for callers; the case's stamp is the one the site clock gives its
    ``create`` op, which is unique even when two cases are saved in one millisecond.
    """

    id: str
    ref: str
    codeword_salt: bytes
    codeword_digest: bytes
    created_at: datetime
    created_by: str
    origin_site: str
    hlc: str


def insert_case(conn: Any, new: NewCase, meta: CaseInsert) -> int:
    """Insert a case with its persons and first status entry; returns the local row id."""
    at = format_time(meta.created_at)
    op = oplog.record(
        conn,
        meta.id,
        oplog.CREATE,
        at,
        meta.created_by,
        {
            "ref": meta.ref,
            "kind": new.kind.value,
            "channel": new.channel.value,
            "persons": [person_values(person) for person in new.persons],
            "codeword_salt": meta.codeword_salt.hex(),
            "codeword_digest": meta.codeword_digest.hex(),
            "location": new.location,
            "callback": new.callback,
            "notes": new.notes,
        },
    ).op
    cursor = conn.execute(
        "INSERT INTO cases (id, ref, kind, channel, status, queue_rank, display_names, location,"
        " callback, notes, codeword_salt, codeword_digest, created_at, created_by, updated_at,"
        " status_changed_at, last_contact_at, origin_site, hlc)"
        " VALUES (?, ?, ?, ?, 'registered', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            meta.id,
            meta.ref,
            new.kind.value,
            new.channel.value,
            QUEUE_RANK[Status.REGISTERED],
            display_names(new.persons),
            new.location,
            new.callback,
            new.notes,
            meta.codeword_salt,
            meta.codeword_digest,
            at,
            meta.created_by,
            at,
            at,
            at,
            meta.origin_site,
            op.id,
        ),
    )
    case_rowid = int(cursor.lastrowid)
    insert_persons(conn, case_rowid, meta.ref, new.persons)
    return case_rowid


def person_values(person: Person) -> dict[str, Any]:
    """A person as its case's ``create`` op carries it."""
    return {
        "full_name": person.full_name,
        "birth_date": person.birth_date,
        "phone": person.phone,
        "rank": person.rank,
        "unit": person.unit,
        "mobilization": person.mobilization.value,
        "notes": person.notes,
    }


def insert_persons(conn: Any, case_rowid: int, ref: str, persons: Sequence[Person]) -> None:
    for position, person in enumerate(persons):
        cursor = conn.execute(
            "INSERT INTO persons (case_rowid, position, full_name, birth_date, phone, rank, unit,"
            " mobilization, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case_rowid,
                position,
                person.full_name,
                person.birth_date,
                person.phone,
                person.rank,
                person.unit,
                person.mobilization.value,
                person.notes,
            ),
        )
        search.index_person(conn, int(cursor.lastrowid), person, ref)


def case_rowid(conn: Any, case_id: str) -> int:
    row = conn.execute("SELECT rowid FROM cases WHERE id = ?", (case_id,)).fetchone()
    if row is None:
        raise CaseNotFound(case_id)
    return int(row[0])


def find_by_ref(conn: Any, ref: str) -> str | None:
    row = conn.execute("SELECT id FROM cases WHERE ref = ?", (ref,)).fetchone()
    return None if row is None else str(row[0])


def refs_for_ids(conn: Any, case_ids: Iterable[str]) -> dict[str, str]:
    """Reference codes of those of these cases that are held here."""
    found: dict[str, str] = {}
    wanted = list(case_ids)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            (str(row[0]), str(row[1]))
            for row in conn.execute(
                f"SELECT id, ref FROM cases WHERE id IN ({marks})", chunk  # noqa: S608
            )
        )
    return found


def ref_exists(conn: Any, ref: str) -> bool:
    return conn.execute("SELECT 1 FROM cases WHERE ref = ?", (ref,)).fetchone() is not None


def _opt_time(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


def load_persons(conn: Any, rowid: int) -> tuple[Person, ...]:
    return tuple(
        Person(
            id=row[0],
            full_name=row[1],
            birth_date=row[2],
            phone=row[3],
            rank=row[4],
            unit=row[5],
            mobilization=Mobilization(row[6]),
            notes=row[7],
        )
        for row in conn.execute(
            "SELECT id, full_name, birth_date, phone, rank, unit, mobilization, notes"
            " FROM persons WHERE case_rowid = ? ORDER BY position",
            (rowid,),
        )
    )


def get_case(conn: Any, case_id: str) -> Case:
    row = conn.execute(f"SELECT {_CASE_COLUMNS} FROM cases WHERE id = ?", (case_id,)).fetchone()  # noqa: S608
    if row is None:
        raise CaseNotFound(case_id)
    return Case(
        id=row[1],
        ref=row[2],
        kind=CaseKind(row[3]),
        channel=Channel(row[4]),
        status=Status(row[5]),
        location=row[6],
        callback=row[7],
        notes=row[8],
        group_size=row[9],
        condition=row[10],
        meeting_point=row[11],
        receiving_unit=row[12],
        window_start=_opt_time(row[13]),
        window_end=_opt_time(row[14]),
        outcome=None if row[15] is None else Outcome(row[15]),
        outcome_notes=row[16],
        duplicate_of=row[17],
        reason=row[18],
        flagged=bool(row[19]),
        failed_codeword_attempts=row[20],
        created_at=parse_time(row[21]),
        created_by=row[22],
        updated_at=parse_time(row[23]),
        status_changed_at=parse_time(row[24]),
        last_contact_at=_opt_time(row[25]),
        origin_site=row[26],
        persons=load_persons(conn, row[0]),
    )


def codeword_secret(conn: Any, case_id: str) -> tuple[bytes, bytes]:
    row = conn.execute(
        "SELECT codeword_salt, codeword_digest FROM cases WHERE id = ?", (case_id,)
    ).fetchone()
    if row is None:
        raise CaseNotFound(case_id)
    return bytes(row[0]), bytes(row[1])


def _summary(row: Sequence[Any]) -> CaseSummary:
    return CaseSummary(
        id=row[0],
        ref=row[1],
        status=Status(row[2]),
        names=row[3],
        status_changed_at=parse_time(row[4]),
        last_contact_at=_opt_time(row[5]),
        created_by=row[6],
        flagged=bool(row[7]),
    )


@dataclass(frozen=True, slots=True)
class QueueCursor:
    """Where the last page of the queue ended (keyset pagination: no OFFSET scans)."""

    queue_rank: int
    status_changed_at: str
    rowid: int


def queue_page(
    conn: Any,
    statuses: Iterable[Status] | None,
    after: QueueCursor | None,
    limit: int,
) -> tuple[list[CaseSummary], QueueCursor | None]:
    """One page of the case queue in action order, starting after `after`."""
    where: list[str] = []
    params: list[Any] = []
    if statuses is not None:
        ranks = sorted({QUEUE_RANK[status] for status in statuses})
        chosen = sorted(status.value for status in statuses)
        where.append(f"queue_rank IN ({','.join('?' * len(ranks))})")
        params += ranks
        where.append(f"status IN ({','.join('?' * len(chosen))})")
        params += chosen
    if after is not None:
        where.append("(queue_rank, status_changed_at, rowid) > (?, ?, ?)")
        params += [after.queue_rank, after.status_changed_at, after.rowid]
    sql = f"SELECT {_SUMMARY_COLUMNS}, queue_rank, rowid FROM cases"  # noqa: S608
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY queue_rank, status_changed_at, rowid LIMIT ?"
    params.append(limit)
    rows = conn.execute(sql, params).fetchall()
    summaries = [_summary(row) for row in rows]
    cursor = None
    if len(rows) == limit:
        last = rows[-1]
        cursor = QueueCursor(queue_rank=last[8], status_changed_at=last[4], rowid=last[9])
    return summaries, cursor


def count_cases(conn: Any, statuses: Iterable[Status] | None = None) -> int:
    if statuses is None:
        return int(conn.execute("SELECT count(*) FROM cases").fetchone()[0])
    chosen = [status.value for status in statuses]
    return int(
        conn.execute(
            f"SELECT count(*) FROM cases WHERE status IN ({','.join('?' * len(chosen))})",  # noqa: S608
            chosen,
        ).fetchone()[0]
    )


def summaries_for_rowids(conn: Any, rowids: Sequence[int]) -> list[CaseSummary]:
    if not rowids:
        return []
    marks = ",".join("?" * len(rowids))
    rows = conn.execute(
        f"SELECT {_SUMMARY_COLUMNS} FROM cases WHERE rowid IN ({marks})"  # noqa: S608
        " ORDER BY queue_rank, status_changed_at, rowid",
        list(rowids),
    ).fetchall()
    return [_summary(row) for row in rows]


def update_fields(
    conn: Any,
    case_id: str,
    fields: Mapping[str, Any],
    updated_at: datetime,
    by: str | None = None,
) -> None:
    """Set some case fields; each field group touched becomes one op with the whole group."""
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise ValueError(f"not a case field: {', '.join(sorted(unknown))}")
    if not fields:
        return
    at = format_time(updated_at)
    stored = {name: _stored(value) for name, value in fields.items()}
    touched = sorted({oplog.GROUP_OF_FIELD[name] for name in stored})
    current = _group_values(conn, case_id, touched)
    in_conflict = []
    for group in touched:
        values = {**current[group], **{k: v for k, v in stored.items() if k in current[group]}}
        if oplog.record(conn, case_id, oplog.SET, at, by, values, group).in_conflict:
            in_conflict.append(group)
    names = sorted(stored)
    assignments = ", ".join(f"{name} = ?" for name in names)
    conn.execute(
        f"UPDATE cases SET {assignments}, updated_at = max(updated_at, ?) WHERE id = ?",  # noqa: S608
        [*(stored[name] for name in names), at, case_id],
    )
    _refresh_conflicts(conn, case_id, in_conflict)


def _group_values(conn: Any, case_id: str, groups: Sequence[str]) -> dict[str, dict[str, Any]]:
    names = [name for group in groups for name in oplog.FIELD_GROUPS[group]]
    sql = f"SELECT {', '.join(names)} FROM cases WHERE id = ?"  # noqa: S608 - fixed names
    row = conn.execute(sql, (case_id,)).fetchone()
    if row is None:
        raise CaseNotFound(case_id)
    by_name = dict(zip(names, row, strict=True))
    return {group: {n: by_name[n] for n in oplog.FIELD_GROUPS[group]} for group in groups}


def _refresh_conflicts(conn: Any, case_id: str, groups: Iterable[str]) -> None:
    # A local edit replaces the shown version only; an open conflict keeps its other heads.
    for group in groups:
        sync.refresh_group_conflict(conn, case_id, group)


def _stored(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_time(value)
    if hasattr(value, "value"):
        return value.value
    return value


def set_status(conn: Any, case_id: str, change: StatusChange) -> None:
    """Move a case to a new status and log the change (an op of the ``status`` group)."""
    rowid = case_rowid(conn, case_id)
    at = format_time(change.at)
    from_status = None if change.from_status is None else change.from_status.value
    recorded = oplog.record(
        conn,
        case_id,
        oplog.SET,
        at,
        change.by,
        {"status": change.to_status.value, "from": from_status, "fields": dict(change.fields)},
        oplog.STATUS_GROUP,
    )
    conn.execute(
        "UPDATE cases SET status = ?, queue_rank = ?, status_changed_at = ?,"
        " updated_at = max(updated_at, ?) WHERE rowid = ?",
        (change.to_status.value, QUEUE_RANK[change.to_status], at, at, rowid),
    )
    if recorded.in_conflict:
        _refresh_conflicts(conn, case_id, [oplog.STATUS_GROUP])


def _entries(conn: Any, case_id: str) -> sync.DerivedCase:
    """The case as its ops make it, for its contacts, status history and codeword checks."""
    derived = sync.derive(oplog.ops_for_case(conn, case_id))
    if derived is None:
        raise CaseNotFound(case_id)
    return derived


def status_history(conn: Any, case_id: str) -> list[StatusChange]:
    """Every status the case had, oldest first (by time, then stamp)."""
    return [
        StatusChange(
            case_id=case_id,
            from_status=None if before is None else Status(before),
            to_status=Status(after),
            at=parse_time(at),
            by=by or "",
            fields=json.loads(fields),
        )
        for _op, before, after, at, by, fields in _entries(conn, case_id).history()
    ]


def add_contact(conn: Any, entry: ContactEntry) -> None:
    """Append one entry to a case's contact log."""
    rowid = case_rowid(conn, entry.case_id)
    at = format_time(entry.at)
    oplog.record(
        conn,
        entry.case_id,
        oplog.CONTACT,
        at,
        entry.operator,
        {"channel": entry.channel.value, "stage": entry.stage.value, "summary": entry.summary},
    )
    conn.execute(
        "UPDATE cases SET last_contact_at = max(coalesce(last_contact_at, ''), ?) WHERE rowid = ?",
        (at, rowid),
    )


def contacts(conn: Any, case_id: str) -> list[ContactEntry]:
    """The case's contact log, oldest first (by time, then stamp)."""
    return [
        ContactEntry(
            case_id=case_id,
            at=parse_time(at),
            channel=Channel(channel),
            operator=by or "",
            stage=ContactStage(stage),
            summary=summary,
        )
        for _op, at, channel, by, stage, summary in _entries(conn, case_id).contacts()
    ]


def record_codeword_attempt(conn: Any, attempt: CodewordAttempt, flag_after: int) -> int:
    """Log one attempt; returns failures since the last success, flagging the case at the limit.

    The count and flag are replayed from all checks of the case in time order, the way
    every other site derives them from the same ops.
    """
    rowid = case_rowid(conn, attempt.case_id)
    at = format_time(attempt.at)
    oplog.record(
        conn,
        attempt.case_id,
        oplog.CODEWORD,
        at,
        attempt.by,
        {"success": attempt.success, "flag_after": flag_after},
    )
    checks = [op for op in oplog.ops_for_case(conn, attempt.case_id) if op.kind == oplog.CODEWORD]
    failures, flagged = sync.replay_codeword_checks(checks)
    conn.execute(
        "UPDATE cases SET failed_codeword_attempts = ?, flagged = ? WHERE rowid = ?",
        (failures, int(flagged), rowid),
    )
    return failures


def codeword_attempts(conn: Any, case_id: str) -> list[CodewordAttempt]:
    """The case's codeword checks, oldest first (by time, then stamp)."""
    return [
        CodewordAttempt(case_id=case_id, at=parse_time(at), by=by or "", success=success)
        for _op, at, by, success in _entries(conn, case_id).attempts()
    ]


def persons_with_phone(conn: Any, phones: Sequence[str]) -> list[tuple[str, str, str]]:
    """(case id, full name, phone) of persons whose phone is one of these."""
    if not phones:
        return []
    marks = ",".join("?" * len(phones))
    return [
        (row[0], row[1], row[2])
        for row in conn.execute(
            f"SELECT c.id, p.full_name, p.phone FROM persons p"  # noqa: S608
            f" JOIN cases c ON c.rowid = p.case_rowid"
            f" WHERE p.phone IN ({marks}) LIMIT 50",
            list(phones),
        )
    ]


def persons_born(conn: Any, birth_dates: Sequence[str]) -> list[tuple[str, str, str]]:
    """(case id, full name, birth date) of persons born on one of these dates."""
    if not birth_dates:
        return []
    marks = ",".join("?" * len(birth_dates))
    return [
        (row[0], row[1], row[2])
        for row in conn.execute(
            f"SELECT c.id, p.full_name, p.birth_date FROM persons p"  # noqa: S608
            f" JOIN cases c ON c.rowid = p.case_rowid WHERE p.birth_date IN ({marks}) LIMIT 500",
            list(birth_dates),
        )
    ]
