"""Other sites this one exchanges transfer files with, and what each side has seen.

Per peer: its public keys, whether it is revoked, the next file sequence number to use
for it, how far into our op-log it has confirmed (``acked_lseq``) and which of our audit
checkpoints it has accepted. Per file: what we sent (sent_files) and what we imported
(received_files), and the peer's audit checkpoints we accepted (peer_checkpoints).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any


class PeerExists(ValueError):
    """A peer with this name or site id is already known."""


@dataclass(frozen=True, slots=True)
class Peer:
    site_id: str
    name: str
    signing_key: str  # OpenSSH "ssh-ed25519 AAAA..." without a comment
    recipient: str  # age1...
    fingerprint: str
    added_at: str
    added_by: str
    revoked_at: str | None
    revoked_by: str | None
    next_sequence: int
    acked_lseq: int
    acked_checkpoint: int
    their_epoch: str | None
    reset_epoch: str | None  # its epoch when its checkpoint was last reset (it was restored)
    reset_at: str | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def written_before_reset(self, epoch: str, created_at: str) -> bool:
        """Whether a file of this epoch and time predates the peer's restore and reset."""
        return (
            self.reset_at is not None
            and epoch == self.reset_epoch
            and created_at < self.reset_at
        )


@dataclass(frozen=True, slots=True)
class AcceptedCheckpoint:
    tree_size: int
    root: str  # hex
    proofs: dict[int, list[str]]  # from size -> proof nodes (hex), as the file carried them


_PEER_COLUMNS = (
    "site_id, name, signing_key, recipient, fingerprint, added_at, added_by, revoked_at,"
    " revoked_by, next_sequence, acked_lseq, acked_checkpoint, their_epoch, reset_epoch,"
    " reset_at"
)


def _peer(row: Any) -> Peer:
    return Peer(*row)


def add_peer(
    conn: Any,
    *,
    site_id: str,
    name: str,
    signing_key: str,
    recipient: str,
    fingerprint: str,
    at: str,
    by: str,
) -> Peer:
    """Record a new peer, or raise PeerExists."""
    clash = conn.execute(
        "SELECT name FROM peers WHERE site_id = ? OR name = ?", (site_id, name)
    ).fetchone()
    if clash is not None:
        raise PeerExists(f"a peer with this name or site id is already known ({clash[0]})")
    conn.execute(
        "INSERT INTO peers (site_id, name, signing_key, recipient, fingerprint, added_at,"
        " added_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (site_id, name, signing_key, recipient, fingerprint, at, by),
    )
    found = get_peer(conn, site_id)
    assert found is not None
    return found


def get_peer(conn: Any, site_id: str) -> Peer | None:
    """A peer by site id, or None."""
    row = conn.execute(
        f"SELECT {_PEER_COLUMNS} FROM peers WHERE site_id = ?", (site_id,)  # noqa: S608
    ).fetchone()
    return None if row is None else _peer(row)


def get_peer_by_name(conn: Any, name: str) -> Peer | None:
    """A peer by the name this site gave it, or None."""
    row = conn.execute(
        f"SELECT {_PEER_COLUMNS} FROM peers WHERE name = ?", (name,)  # noqa: S608
    ).fetchone()
    return None if row is None else _peer(row)


def list_peers(conn: Any) -> list[Peer]:
    """Every peer, revoked ones included, by name."""
    return [
        _peer(row)
        for row in conn.execute(f"SELECT {_PEER_COLUMNS} FROM peers ORDER BY name")  # noqa: S608
    ]


def revoke_peer(conn: Any, site_id: str, at: str, by: str) -> None:
    """Mark a peer revoked: its files are refused from now on."""
    conn.execute(
        "UPDATE peers SET revoked_at = ?, revoked_by = ? WHERE site_id = ? AND revoked_at IS NULL",
        (at, by, site_id),
    )


# --- this site's transfer epoch ------------------------------------------------------------


def local_site(conn: Any) -> str:
    """This site's id."""
    return str(conn.execute("SELECT site_id FROM site").fetchone()[0])


def current_epoch(conn: Any) -> str:
    """This site's transfer epoch (see start_new_epoch)."""
    return str(conn.execute("SELECT epoch FROM sync_state").fetchone()[0])


def start_new_epoch(conn: Any) -> str:
    """After a restore: new file numbering, and peers are sent everything again."""
    epoch = secrets.token_hex(8)
    conn.execute("UPDATE sync_state SET epoch = ?", (epoch,))
    conn.execute("UPDATE peers SET next_sequence = 1, acked_lseq = 0")
    return epoch


# --- files sent ----------------------------------------------------------------------------


def take_sequence(conn: Any, site_id: str) -> int:
    """The sequence number of the next file to this peer (and count it as used)."""
    row = conn.execute(
        "UPDATE peers SET next_sequence = next_sequence + 1 WHERE site_id = ?"
        " RETURNING next_sequence - 1",
        (site_id,),
    ).fetchone()
    return int(row[0])


def record_sent(
    conn: Any,
    *,
    peer: str,
    epoch: str,
    sequence: int,
    base_lseq: int,
    upto_lseq: int,
    checkpoint_size: int,
    created_at: str,
    payload_sha256: str,
) -> None:
    """Remember a file written for a peer: what it covered, which checkpoint."""
    conn.execute(
        "INSERT INTO sent_files (peer, epoch, sequence, base_lseq, upto_lseq, checkpoint_size,"
        " created_at, payload_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (peer, epoch, sequence, base_lseq, upto_lseq, checkpoint_size, created_at, payload_sha256),
    )


def unconfirmed_checkpoint_sizes(conn: Any, peer: Peer, epoch: str, limit: int) -> list[int]:
    """Checkpoint sizes we sent this peer that it may hold without having told us yet: the
    oldest of them (a peer that imports in order but has not written back holds it) and
    the newest, ``limit`` in all."""
    query = (
        "SELECT DISTINCT checkpoint_size FROM sent_files WHERE peer = ? AND epoch = ?"
        " AND checkpoint_size > ? ORDER BY checkpoint_size {order} LIMIT ?"
    )
    arguments = (peer.site_id, epoch, peer.acked_checkpoint)
    oldest = [int(row[0]) for row in conn.execute(query.format(order="ASC"), (*arguments, 1))]
    newest = [
        int(row[0]) for row in conn.execute(query.format(order="DESC"), (*arguments, limit - 1))
    ]
    return sorted(set(oldest + newest), reverse=True)


# --- files received ------------------------------------------------------------------------


def was_received(conn: Any, peer: str, epoch: str, sequence: int) -> bool:
    """Whether this file of the peer was imported already (a replay)."""
    return (
        conn.execute(
            "SELECT 1 FROM received_files WHERE peer = ? AND epoch = ? AND sequence = ?",
            (peer, epoch, sequence),
        ).fetchone()
        is not None
    )


def newest_received(conn: Any, peer: str, epoch: str) -> int | None:
    """The number of the newest file of the peer's epoch imported here, if any."""
    row = conn.execute(
        "SELECT max(sequence) FROM received_files WHERE peer = ? AND epoch = ?", (peer, epoch)
    ).fetchone()
    return None if row[0] is None else int(row[0])


def first_written(conn: Any, peer: str, epoch: str) -> str | None:
    """When the earliest file of the peer's epoch imported here was written, if any."""
    row = conn.execute(
        "SELECT min(created_at) FROM received_files WHERE peer = ? AND epoch = ?", (peer, epoch)
    ).fetchone()
    return None if row[0] is None else str(row[0])


def missing_before(
    conn: Any, peer: str, epoch: str, sequence: int, limit: int = 20
) -> tuple[list[int], int]:
    """Earlier files from the peer not imported yet (a gap): the first few, and how many."""
    have = [
        int(row[0])
        for row in conn.execute(
            "SELECT sequence FROM received_files WHERE peer = ? AND epoch = ? AND sequence < ?"
            " ORDER BY sequence",
            (peer, epoch, sequence),
        )
    ]
    held = set(have)
    first: list[int] = []
    number = 1
    # Walk only as far as needed: a hostile sequence number must not cost memory.
    while number < sequence and len(first) < limit:
        if number not in held:
            first.append(number)
        number += 1
    return first, sequence - 1 - len(have)


def record_received(
    conn: Any,
    *,
    peer: str,
    epoch: str,
    sequence: int,
    base_lseq: int,
    upto_lseq: int,
    created_at: str,
    imported_at: str,
    payload_sha256: str,
) -> None:
    """Remember an imported file: what of the peer's log it covered."""
    conn.execute(
        "INSERT INTO received_files (peer, epoch, sequence, base_lseq, upto_lseq, created_at,"
        " imported_at, payload_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (peer, epoch, sequence, base_lseq, upto_lseq, created_at, imported_at, payload_sha256),
    )


def coverage(conn: Any, peer: str, epoch: str) -> int:
    """How far into the peer's op-log we hold everything: the end of the covered prefix.

    Each imported file covered the peer's ops in (base, upto]; files may come in any
    order, so only the unbroken run from the start counts.
    """
    covered = 0
    for base, upto in conn.execute(
        "SELECT base_lseq, upto_lseq FROM received_files WHERE peer = ? AND epoch = ?"
        " ORDER BY base_lseq, upto_lseq",
        (peer, epoch),
    ):
        if base > covered:
            break
        covered = max(covered, int(upto))
    return covered


def note_acknowledgement(
    conn: Any,
    peer: Peer,
    *,
    their_epoch: str,
    our_epoch: str,
    acked_epoch: str | None,
    acked_lseq: int,
    acked_checkpoint: int,
) -> None:
    """Take in what a peer's file says it has seen of ours.

    Normally the confirmations only grow. When the peer starts a new epoch (it was
    restored from a backup and may have lost what we sent), its word replaces ours.
    """
    valid = acked_epoch == our_epoch
    lseq = acked_lseq if valid else 0
    if peer.their_epoch is None or peer.their_epoch == their_epoch:
        conn.execute(
            "UPDATE peers SET acked_lseq = max(acked_lseq, ?),"
            " acked_checkpoint = max(acked_checkpoint, ?), their_epoch = ? WHERE site_id = ?",
            (lseq, acked_checkpoint, their_epoch, peer.site_id),
        )
    else:
        conn.execute(
            "UPDATE peers SET acked_lseq = ?, acked_checkpoint = ?, their_epoch = ?"
            " WHERE site_id = ?",
            (lseq, acked_checkpoint, their_epoch, peer.site_id),
        )


# --- the peer's audit checkpoints ----------------------------------------------------------


def accepted_checkpoints(conn: Any, peer: str) -> list[AcceptedCheckpoint]:
    """The peer's audit checkpoints accepted so far, smallest first."""
    return [
        AcceptedCheckpoint(
            tree_size=int(row[0]),
            root=str(row[1]),
            proofs={int(k): v for k, v in json.loads(row[2]).items()},
        )
        for row in conn.execute(
            "SELECT tree_size, root, proofs FROM peer_checkpoints WHERE peer = ?"
            " ORDER BY tree_size",
            (peer,),
        )
    ]


def accept_checkpoint(
    conn: Any, peer: str, tree_size: int, root: str, proofs: dict[int, list[str]], at: str
) -> None:
    """Keep a checkpoint of the peer's audit log, with the proofs it came with."""
    conn.execute(
        "INSERT OR IGNORE INTO peer_checkpoints (peer, tree_size, root, proofs, accepted_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (peer, tree_size, root, json.dumps({str(k): v for k, v in proofs.items()}), at),
    )


def latest_checkpoint_size(conn: Any, peer: str) -> int:
    """Size of the peer's largest accepted audit checkpoint (0: none)."""
    row = conn.execute(
        "SELECT max(tree_size) FROM peer_checkpoints WHERE peer = ?", (peer,)
    ).fetchone()
    return int(row[0] or 0)


def forget_checkpoints(conn: Any, peer: Peer, at: str) -> None:
    """Drop every accepted checkpoint of the peer: its next one is taken like a first one.

    Files of its epoch until now written before ``at`` come from before its restore; the
    importer takes their cases but not their checkpoints (see Peer.written_before_reset).
    """
    conn.execute("DELETE FROM peer_checkpoints WHERE peer = ?", (peer.site_id,))
    conn.execute(
        "UPDATE peers SET reset_epoch = their_epoch, reset_at = ? WHERE site_id = ?",
        (at, peer.site_id),
    )
