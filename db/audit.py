"""The audit log: append-only entries, each an RFC 6962 leaf, linked in a hash chain.

The leaf hash (SHA-256 of 0x00 || canonical entry) is what a Merkle tree over the
log is built from; the chain hash (SHA-256 of previous chain hash || leaf hash)
lets `audit verify` pinpoint the first edited, deleted or reordered entry.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from db import audit_tree
from db.records import AuditEntry
from db.vault import format_time, now_utc, parse_time

GENESIS = b"\x00" * 32
# C0 and C1 controls never enter an entry: peers refuse a log that holds them, and the log
# cannot be mended afterwards. A file name with a tab or a line break is written with U+FFFD.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def canonical_entry(
    seq: int, at: str, actor: str, action: str, case_id: str | None, detail: str
) -> bytes:
    """The bytes an entry's leaf hash covers."""
    return json.dumps(
        {"seq": seq, "at": at, "actor": actor, "action": action, "case": case_id, "detail": detail},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")


def leaf_hash(entry_bytes: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry_bytes).digest()


def append(conn: Any, actor: str, action: str, case_id: str | None = None, detail: str = "") -> int:
    """Add one entry inside the caller's transaction; returns its sequence number."""
    actor, detail = _CONTROL.sub("\ufffd", actor), _CONTROL.sub("\ufffd", detail)
    last = conn.execute(
        "SELECT seq, chain_hash FROM audit_log ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    seq, previous = (1, GENESIS) if last is None else (last[0] + 1, bytes(last[1]))
    at = format_time(now_utc())
    leaf = leaf_hash(canonical_entry(seq, at, actor, action, case_id, detail))
    chain = hashlib.sha256(previous + leaf).digest()
    conn.execute(
        "INSERT INTO audit_log (seq, at, actor, action, case_id, detail, leaf_hash, chain_hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, at, actor, action, case_id, detail, leaf, chain),
    )
    return int(seq)


@dataclass(frozen=True, slots=True)
class AuditReport:
    entries: int
    problems: tuple[str, ...]
    head: bytes  # chain hash of the last entry

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(conn: Any, max_problems: int = 20) -> AuditReport:
    """Recompute every leaf and link; report where the log was edited, cut or reordered."""
    problems: list[str] = []
    previous = GENESIS
    expected_seq = 1
    count = 0
    leaves: list[bytes] = []
    for row in conn.execute(
        "SELECT seq, at, actor, action, case_id, detail, leaf_hash, chain_hash"
        " FROM audit_log ORDER BY seq"
    ):
        seq, at, actor, action, case_id, detail, stored_leaf, stored_chain = row
        count += 1
        if seq != expected_seq:
            problems.append(f"entry {expected_seq} is missing (next entry is {seq})")
            expected_seq = seq
        leaf = leaf_hash(canonical_entry(seq, at, actor, action, case_id, detail))
        if leaf != bytes(stored_leaf):
            problems.append(f"entry {seq} was altered after it was written")
        chain = hashlib.sha256(previous + bytes(stored_leaf)).digest()
        if chain != bytes(stored_chain):
            problems.append(f"entry {seq} does not follow entry {seq - 1} (removed or reordered)")
        previous = bytes(stored_chain)
        leaves.append(bytes(stored_leaf))
        expected_seq += 1
        if len(problems) >= max_problems:
            problems.append("… more problems not listed")
            break
    else:
        size = audit_tree.BLOCK
        problems += [
            f"the stored tree hash of entries {block * size + 1}–{(block + 1) * size}"
            " does not match them"
            for block in audit_tree.stored_mismatches(conn, leaves)
        ][: max(0, max_problems - len(problems))]
        shown = _largest_checkpoint_shown(conn)
        if count < shown:
            problems.append(
                f"the log ends at entry {count}, but this site showed other sites a log of"
                f" {shown} entries in its transfer files: its last entries were cut off"
            )
    return AuditReport(entries=count, problems=tuple(problems), head=previous)


def _largest_checkpoint_shown(conn: Any) -> int:
    """The largest size of this site's log that a transfer file it wrote vouched for.

    (What peers acknowledged is not counted: after a restore from a backup, they hold more
    of the old log than the vault does, rightly.)
    """
    row = conn.execute("SELECT max(checkpoint_size) FROM sent_files").fetchone()
    return int(row[0] or 0)


def leaf_hashes(conn: Any, upto: int | None = None) -> list[bytes]:
    """Leaf hashes in order, for the Merkle tree over the first `upto` entries."""
    sql = "SELECT leaf_hash FROM audit_log ORDER BY seq"
    params: tuple[int, ...] = ()
    if upto is not None:
        sql = "SELECT leaf_hash FROM audit_log WHERE seq <= ? ORDER BY seq"
        params = (upto,)
    return [bytes(row[0]) for row in conn.execute(sql, params)]


def entries_for_case(conn: Any, case_id: str) -> Iterator[AuditEntry]:
    for row in conn.execute(
        "SELECT seq, at, actor, action, case_id, detail, leaf_hash, chain_hash"
        " FROM audit_log WHERE case_id = ? ORDER BY seq",
        (case_id,),
    ):
        yield AuditEntry(
            seq=row[0],
            at=parse_time(row[1]),
            actor=row[2],
            action=row[3],
            case_id=row[4],
            detail=row[5],
            leaf_hash=bytes(row[6]),
            chain_hash=bytes(row[7]),
        )
