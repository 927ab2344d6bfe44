"""The union of audit logs: this site's own and the entries of other sites' logs it holds.

Each site's log is an RFC 6962 tree (see db.audit). A transfer file carries, for every
log its sender holds, the entries after those its recipients said they hold; they are
kept as they came, each with its leaf hash recomputed here, so a site's entries can be
checked against that site's signed checkpoint. Entries are never changed or removed,
with one exception. A file is signed by its sender alone, so the entries it relays of a
third site's log are only its sender's word. When that site's own file contradicts such a
copy, one its signed checkpoint never vouched for, its own entries take the copy's place
in the log; the copy is set aside (kept and listed, never sent on, never in a tree).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from db import audit, audit_tree, merkle


class AuditMismatch(Exception):
    """An incoming entry differs from the one held under the same site and number."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One audit entry of some site's log, as it travels."""

    origin: str
    seq: int
    at: str
    actor: str
    action: str
    case_id: str | None
    detail: str

    def leaf(self) -> bytes:
        """Its RFC 6962 leaf hash, computed from its content."""
        return audit.leaf_hash(
            audit.canonical_entry(
                self.seq, self.at, self.actor, self.action, self.case_id, self.detail
            )
        )


def held(conn: Any, site_id: str) -> dict[str, int]:
    """For every log held here, how many of its first entries are all here (own log included)."""
    result = {site_id: audit_tree.local_size(conn)}
    for origin, highest, count in conn.execute(
        "SELECT origin, max(seq), count(*) FROM peer_audit WHERE archived_at IS NULL"
        " GROUP BY origin"
    ):
        result[str(origin)] = int(highest) if highest == count else _unbroken(conn, origin)
    return result


def _unbroken(conn: Any, origin: str) -> int:
    """The last number of the unbroken run of a log's entries from its first one."""
    if conn.execute(
        "SELECT 1 FROM peer_audit WHERE origin = ? AND seq = 1 AND archived_at IS NULL",
        (origin,),
    ).fetchone() is None:
        return 0
    row = conn.execute(
        "SELECT min(a.seq) FROM peer_audit a WHERE a.origin = ?1 AND a.archived_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM peer_audit b WHERE b.origin = ?1 AND b.seq = a.seq + 1"
        " AND b.archived_at IS NULL)",
        (origin,),
    ).fetchone()
    return int(row[0])


def entries_after(
    conn: Any, site_id: str, origin: str, after: int, upto: int
) -> Iterator[Entry]:
    """Entries of one log numbered in (after, upto], in order."""
    log = audit_tree.LOCAL if origin == site_id else origin
    rows = audit_tree.log_rows(conn, log, "seq, at, actor, action, case_id, detail", after, upto)
    for seq, at, actor, action, case_id, detail in rows:
        yield Entry(origin, int(seq), at, actor, action, case_id, detail)


@dataclass(frozen=True, slots=True)
class Stored:
    """What became of a run of incoming entries."""

    new: int
    disagreeing: int  # relayed entries that differ from the ones held here, left out
    replaced: int = 0  # relayed copies the sender's own entries replaced
    numbers: tuple[int, ...] = ()  # the numbers of the new ones


def store(
    conn: Any, site_id: str, sender: str, entries: Sequence[Entry], at: str
) -> Stored:
    """Keep the entries not held yet.

    The sender's own entries must agree with what is held of its log (AuditMismatch
    otherwise: its signed checkpoint vouches for them). Entries it relays from other logs
    that differ from the ones held here are left out and counted: after a site is
    restored from a backup its log goes on differently, and sites that have not caught up
    keep relaying the old entries. Relayed copies that the sender's own entries replace are
    set aside (``at``), not deleted. Entries of this site's own log are never stored.
    """
    if not entries:
        return Stored(0, 0)
    origin = entries[0].origin
    low, high = entries[0].seq, entries[-1].seq
    if origin == site_id:
        sql = "SELECT seq, leaf_hash FROM audit_log WHERE seq BETWEEN ? AND ?"
        params: tuple[Any, ...] = (low, high)
    else:
        sql = (
            "SELECT seq, leaf_hash FROM peer_audit WHERE origin = ? AND seq BETWEEN ? AND ?"
            " AND archived_at IS NULL"
        )
        params = (origin, low, high)
    known = {int(seq): bytes(leaf) for seq, leaf in conn.execute(sql, params)}
    fresh = []
    replaced = []
    disagreeing = 0
    vouched: int | None = None
    for entry in entries:
        leaf = entry.leaf()
        mine = known.get(entry.seq)
        if mine is None and origin != site_id:
            fresh.append((entry, leaf))
        elif mine != leaf:
            if origin != sender:
                disagreeing += 1
                continue
            if vouched is None:
                vouched = vouched_size(conn, origin)
            if entry.seq <= vouched:
                raise AuditMismatch(
                    f"entry {entry.seq} of the sender's audit log differs from the one held"
                    " here: its history was rewritten"
                )
            replaced.append((entry, leaf))
    if replaced:
        _drop(conn, origin, [entry.seq for entry, _ in replaced], at)
    _forget_copies_set_aside(conn, origin, [*fresh, *replaced])
    conn.executemany(
        "INSERT INTO peer_audit (origin, seq, at, actor, action, case_id, detail, leaf_hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(e.origin, e.seq, e.at, e.actor, e.action, e.case_id, e.detail, leaf)
         for e, leaf in (*fresh, *replaced)],
    )
    return Stored(len(fresh), disagreeing, len(replaced), tuple(e.seq for e, _ in fresh))


def _accepted_checkpoint(conn: Any, origin: str) -> tuple[int, str] | None:
    """The size and root of a peer's latest checkpoint accepted here (None if none)."""
    row = conn.execute(
        "SELECT tree_size, root FROM peer_checkpoints WHERE peer = ?"
        " ORDER BY tree_size DESC LIMIT 1",
        (origin,),
    ).fetchone()
    return (int(row[0]), str(row[1])) if row is not None and row[0] else None


def vouched_size(conn: Any, origin: str) -> int:
    """How many of a peer's first entries held here its own latest accepted checkpoint
    vouches for: all of that checkpoint's entries if they make its root, else none."""
    accepted = _accepted_checkpoint(conn, origin)
    if accepted is None:
        return 0
    size, signed = accepted
    found = audit_tree.tree(conn, origin, size, store=False)
    return size if found is not None and found.root().hex() == signed else 0


def runs(entries: Sequence[Entry]) -> list[tuple[int, int]]:
    """The numbers of entries of one log, in increasing order, as (first, last) runs."""
    first, last = entries[0].seq, entries[-1].seq
    if last - first + 1 == len(entries):
        return [(first, last)]  # nearly always: a file sends a log in order
    found: list[tuple[int, int]] = []
    previous = first
    for number in (entry.seq for entry in entries[1:]):
        if number != previous + 1:
            found.append((first, previous))
            first = number
        previous = number
    found.append((first, previous))
    return found


def _merged(runs: Sequence[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Runs of numbers in any order, sorted and joined where they meet: (firsts, lasts)."""
    firsts: list[int] = []
    lasts: list[int] = []
    for first, last in sorted(runs):
        if lasts and first <= lasts[-1] + 1:
            lasts[-1] = max(lasts[-1], last)
        else:
            firsts.append(first)
            lasts.append(last)
    return firsts, lasts


def drop_unvouched(
    conn: Any, origin: str, size: int, delivered: Sequence[tuple[int, int]], at: str
) -> int:
    """Set aside those of a peer's first ``size`` entries held here that neither its
    accepted checkpoint vouches for nor its own file delivered (``delivered``: runs of
    numbers, in any order); how many. They came by relay; the peer sends its own once it
    hears they are missing, and those of them it sends unchanged are taken back into the log."""
    vouched = vouched_size(conn, origin)
    # Sorted and joined, the runs are looked up by bisection: a file may send a log's
    # numbers in any order, and one run per number would make the lookups quadratic.
    firsts, lasts = _merged(delivered)

    def was_delivered(seq: int) -> bool:
        index = bisect.bisect_right(firsts, seq) - 1
        return index >= 0 and seq <= lasts[index]

    numbers = [
        int(seq)
        for (seq,) in conn.execute(
            "SELECT seq FROM peer_audit WHERE origin = ? AND archived_at IS NULL"
            " AND seq > ? AND seq <= ?",
            (origin, vouched, size),
        )
        if not was_delivered(int(seq))
    ]
    _drop(conn, origin, numbers, at)
    return len(numbers)


def set_aside_unproven(conn: Any, origin: str, numbers: Sequence[int], at: str) -> int:
    """Entries of a third site's log that one file relayed (``numbers``): if with them the
    log no longer makes the checkpoint that site signed and this one accepted, they are set
    aside, as its own file would have them; how many."""
    if not numbers:
        return 0  # nothing new of that log: no root to compute
    accepted = _accepted_checkpoint(conn, origin)
    if accepted is None:
        return 0
    size, signed = accepted
    found = root(conn, origin, size)
    if found is None or found.hex() == signed:
        return 0
    unproven = [seq for seq in numbers if seq <= size]
    _drop(conn, origin, unproven, at)
    return len(unproven)


def _drop(conn: Any, origin: str, numbers: Sequence[int], at: str) -> None:
    """Set relayed entries aside rather than delete them: a site that relayed entries of
    another's log that it never wrote is worth seeing."""
    if numbers:
        conn.executemany(
            "UPDATE peer_audit SET archived_at = ? WHERE origin = ? AND seq = ?"
            " AND archived_at IS NULL",
            [(at, origin, seq) for seq in numbers],
        )
        audit_tree.forget(conn, origin)


def _forget_copies_set_aside(
    conn: Any, origin: str, incoming: Sequence[tuple[Entry, bytes]]
) -> None:
    """Delete the set-aside copies of entries now going into the log unchanged (a true
    entry set aside with a false one, until its site sent it): so none is listed twice,
    and what the log holds comes from the incoming entry itself."""
    if not incoming:
        return
    low = min(entry.seq for entry, _ in incoming)
    high = max(entry.seq for entry, _ in incoming)
    aside: dict[tuple[int, bytes], int] = {}
    for row_id, seq, leaf in conn.execute(
        "SELECT id, seq, leaf_hash FROM peer_audit WHERE origin = ? AND seq BETWEEN ? AND ?"
        " AND archived_at IS NOT NULL",
        (origin, low, high),
    ):
        aside.setdefault((int(seq), bytes(leaf)), int(row_id))
    gone = [aside[(e.seq, leaf)] for e, leaf in incoming if (e.seq, leaf) in aside]
    conn.executemany("DELETE FROM peer_audit WHERE id = ?", [(row_id,) for row_id in gone])


def set_aside(conn: Any, origin: str, at: str) -> int:
    """Archive every entry held of one peer's log (it was restored); how many there were."""
    audit_tree.forget(conn, origin)
    return int(conn.execute(
        "UPDATE peer_audit SET archived_at = ? WHERE origin = ? AND archived_at IS NULL",
        (at, origin),
    ).rowcount)


def verify_held(conn: Any, names: Mapping[str, str], max_problems: int = 20) -> list[str]:
    """Problems with the other sites' entries held here: an entry whose content no longer
    gives its leaf hash, and a log whose entries no longer make the checkpoint its site
    signed and this site accepted. ``names`` gives a site's name by its id."""
    problems: list[str] = []
    for row in conn.execute(
        "SELECT origin, seq, at, actor, action, case_id, detail, leaf_hash,"
        " archived_at IS NOT NULL FROM peer_audit ORDER BY origin, seq"
    ):
        if Entry(*row[:7]).leaf() != bytes(row[7]):
            aside = " (set aside)" if row[8] else ""
            problems.append(
                f"entry {row[1]}{aside} of the log of '{names.get(row[0], row[0])}' held here"
                " was altered after it came"
            )
            if len(problems) >= max_problems:
                return [*problems, "… more problems not listed"]
    for origin, size, signed in conn.execute(
        "SELECT peer, tree_size, root FROM peer_checkpoints AS c WHERE tree_size ="
        " (SELECT max(tree_size) FROM peer_checkpoints WHERE peer = c.peer)"
    ).fetchall():
        # From the leaves themselves: the stored block hashes could have been rewritten too.
        leaves = [bytes(row[0]) for row in audit_tree.log_rows(conn, origin, "leaf_hash", 0, size)]
        if len(leaves) == size and merkle.root(leaves).hex() != signed:
            problems.append(
                f"the entries of the log of '{names.get(origin, origin)}' held here no longer"
                f" make the checkpoint of {size} entries it signed: they were altered"
            )
    return problems


def root(conn: Any, origin: str, size: int) -> bytes | None:
    """The tree root over a peer's first ``size`` entries, or None if they are not all here."""
    tree = audit_tree.tree(conn, origin, size, store=True)
    return None if tree is None else tree.root()


def acknowledged(conn: Any, peers: Sequence[str]) -> dict[str, int]:
    """Per log, what every one of these peers said it holds (the least of them)."""
    result: dict[str, int] = {}
    counts: dict[str, int] = {}
    for peer in peers:
        for origin, held_count in conn.execute(
            "SELECT origin, held FROM peer_audit_acks WHERE peer = ?", (peer,)
        ):
            result[origin] = min(result.get(origin, held_count), int(held_count))
            counts[origin] = counts.get(origin, 0) + 1
    # A log one of the peers has not mentioned is one it holds nothing of.
    return {origin: value for origin, value in result.items() if counts[origin] == len(peers)}


def note_acknowledgement(
    conn: Any, peer: str, epoch: str, sequence: int, their_held: Mapping[str, int]
) -> None:
    """Take in what a peer's file says it holds of each log, if no newer file said otherwise.

    The newest file's word replaces the older one's, so what a peer lost (it was restored,
    or set aside a restored site's entries) is sent to it again.
    """
    row = conn.execute(
        "SELECT epoch, sequence FROM peer_audit_acks WHERE peer = ? LIMIT 1", (peer,)
    ).fetchone()
    if row is not None and row[0] == epoch and int(row[1]) > sequence:
        return
    conn.execute("DELETE FROM peer_audit_acks WHERE peer = ?", (peer,))
    conn.executemany(
        "INSERT INTO peer_audit_acks (peer, epoch, sequence, origin, held)"
        " VALUES (?, ?, ?, ?, ?)",
        [(peer, epoch, sequence, origin, count) for origin, count in their_held.items()],
    )


def union(
    conn: Any, site_id: str, case_id: str | None = None, newest: int | None = None
) -> list[tuple[Entry, bool]]:
    """Every entry held, of every log (or those about one case), oldest first.

    Each comes with whether it was set aside (its site was restored from a backup since).
    ``newest`` keeps only that many of the latest entries.
    """
    where, params = ("WHERE case_id = ?", (case_id,)) if case_id else ("", ())
    columns = "seq, at, actor, action, case_id, detail"
    rows = conn.execute(
        f"SELECT ?, {columns}, 0 FROM audit_log {where}"  # noqa: S608 - fixed SQL
        f" UNION ALL SELECT origin, {columns}, archived_at IS NOT NULL FROM peer_audit {where}"
        " ORDER BY 3 DESC, 1 DESC, 2 DESC LIMIT ?",
        (site_id, *params, *params, -1 if newest is None else newest),
    ).fetchall()
    rows.reverse()
    return [(Entry(str(r[0]), int(r[1]), r[2], r[3], r[4], r[5], r[6]), bool(r[7]))
            for r in rows]


def count(conn: Any, case_id: str | None = None) -> int:
    """How many entries are held, of every log (or about one case)."""
    where, params = ("WHERE case_id = ?", (case_id,)) if case_id else ("", ())
    row = conn.execute(
        f"SELECT (SELECT count(*) FROM audit_log {where})"  # noqa: S608 - fixed SQL
        f" + (SELECT count(*) FROM peer_audit {where})",
        (*params, *params),
    ).fetchone()
    return int(row[0])
