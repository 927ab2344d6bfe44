"""The Merkle trees over the audit logs, read through stored block hashes.

A root over n entries would read and hash all n leaves; a site that has logged every
view and change for years holds millions, and the handoff sheet, each export and each
import need a root. So the hash of every complete block of BLOCK entries is stored in
``audit_blocks`` (one row per block, per log: this site's and each other site's held
here) the first time it is needed, and a root or a consistency proof then reads about
n / BLOCK block hashes and fewer than BLOCK leaves.

Entries never change once written; only another site's entries set aside (after its
restore, or relayed copies its own file contradicts) leave a log, and :func:`forget` drops
that log's blocks with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from db import merkle

BLOCK = 256
LOCAL = ""  # the log key of this site's own audit log


def log_rows(conn: Any, log: str, columns: str, after: int, upto: int) -> Any:
    """A cursor over these columns of one log's entries numbered in (after, upto], in order.

    ``log`` is LOCAL for this site's own log, else the site whose entries are held here;
    ``columns`` is a fixed list of column names that both tables have.
    """
    if log == LOCAL:
        return conn.execute(
            f"SELECT {columns} FROM audit_log"  # noqa: S608 - fixed column names
            " WHERE seq > ? AND seq <= ? ORDER BY seq",
            (after, upto),
        )
    return conn.execute(
        f"SELECT {columns} FROM peer_audit"  # noqa: S608 - fixed column names
        " WHERE origin = ? AND seq > ? AND seq <= ? AND archived_at IS NULL ORDER BY seq",
        (log, after, upto),
    )


def _leaves(conn: Any, log: str, start: int, end: int) -> list[bytes]:
    """Leaf hashes of the log's entries [start, end), counted from 0 (seq start+1 .. end)."""
    return [bytes(row[0]) for row in log_rows(conn, log, "leaf_hash", start, end)]


def _stored_blocks(conn: Any, log: str, count: int) -> list[bytes]:
    """The unbroken run of stored block hashes from block 0, at most ``count`` of them."""
    hashes: list[bytes] = []
    for number, digest in conn.execute(
        "SELECT block, hash FROM audit_blocks WHERE log = ? AND block < ? ORDER BY block",
        (log, count),
    ):
        if number != len(hashes):
            break
        hashes.append(bytes(digest))
    return hashes


def _block_hashes(leaves: Sequence[bytes]) -> list[bytes]:
    return [merkle.root(leaves[i : i + BLOCK]) for i in range(0, len(leaves), BLOCK)]


def tree(conn: Any, log: str, size: int, *, store: bool) -> merkle.Blocks | None:
    """The tree over the log's first ``size`` entries; None if some of them are not here.

    Blocks not stored yet are computed from their leaves, and with ``store`` written in
    the caller's transaction.
    """
    complete = size // BLOCK
    blocks = _stored_blocks(conn, log, complete)
    if len(blocks) < complete:
        start = len(blocks) * BLOCK
        leaves = _leaves(conn, log, start, complete * BLOCK)
        if len(leaves) != complete * BLOCK - start:
            return None
        fresh = _block_hashes(leaves)
        if store:
            conn.executemany(
                "INSERT OR REPLACE INTO audit_blocks (log, block, hash) VALUES (?, ?, ?)",
                [(log, len(blocks) + i, digest) for i, digest in enumerate(fresh)],
            )
        blocks += fresh
    tail = _leaves(conn, log, complete * BLOCK, size)
    if len(tail) != size - complete * BLOCK:
        return None
    tail_start = complete * BLOCK

    def read_leaves(start: int, end: int) -> Sequence[bytes]:
        if start >= tail_start:
            return tail[start - tail_start : end - tail_start]
        return _leaves(conn, log, start, end)

    return merkle.Blocks(size, blocks, read_leaves, BLOCK)


def local_size(conn: Any) -> int:
    """How many entries this site's own log holds."""
    return int(conn.execute("SELECT coalesce(max(seq), 0) FROM audit_log").fetchone()[0])


def local_tree(conn: Any, *, store: bool) -> merkle.Blocks:
    """The tree over this site's whole audit log."""
    found = tree(conn, LOCAL, local_size(conn), store=store)
    if found is None:
        raise ValueError("this site's audit log has a gap in its sequence numbers")
    return found


def blocks_missing(conn: Any) -> bool:
    """Whether complete blocks of this site's log have no stored hash yet (beyond the newest)."""
    stored = conn.execute(
        "SELECT count(*) FROM audit_blocks WHERE log = ?", (LOCAL,)
    ).fetchone()[0]
    return local_size(conn) // BLOCK > int(stored) + 1


def forget(conn: Any, log: str) -> None:
    """Drop a log's stored blocks (its entries were set aside)."""
    conn.execute("DELETE FROM audit_blocks WHERE log = ?", (log,))


def stored_mismatches(conn: Any, leaves: Sequence[bytes]) -> list[int]:
    """Numbers of this site's stored blocks that do not match its leaf hashes, in order."""
    stored = {
        int(number): bytes(digest)
        for number, digest in conn.execute(
            "SELECT block, hash FROM audit_blocks WHERE log = ?", (LOCAL,)
        )
    }
    return sorted(
        number
        for number, digest in stored.items()
        if merkle.root(leaves[number * BLOCK : (number + 1) * BLOCK]) != digest
        or len(leaves) < (number + 1) * BLOCK
    )
