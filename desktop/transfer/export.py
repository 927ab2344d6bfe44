"""Writing a transfer file for one or more peers.

By default a file carries every op the recipients have not confirmed holding (each
file a site sends back says how far into our op-log it holds everything), so exports
shrink as files go back and forth; ``full`` sends the whole op-log. Everything happens
in one transaction: the sequence numbers, the audit entry and the record of what was
sent are kept only if the file was written completely.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from db import audit, audit_tree, audit_union, merkle, oplog, peers
from db.peers import Peer
from db.vault import Vault, format_time, now_utc
from desktop.files import open_part, parts_removed_on_failure, publish, stage_file
from desktop.transfer import age, sshsig
from desktop.transfer.payload import (
    AUDIT_ENTRIES_PER_LINE,
    Acknowledgement,
    Header,
    audit_line,
    case_line,
    end_line,
)
from desktop.transfer.streams import ChunkReader, Progress, Steps
from desktop.transfer.transfer_file import (
    Checkpoint,
    Consistency,
    Manifest,
    Recipient,
    write_transfer_tar,
)

# Proofs from this many unconfirmed checkpoints at most; older files arriving after newer
# ones can then no longer be checked, and are refused.
MAX_UNCONFIRMED_PROOFS = 15
_BATCH_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class ExportResult:
    path: Path
    recipients: tuple[tuple[str, int], ...]  # (peer name, sequence)
    cases: int  # cases sent, each with all of its ops
    full: bool
    checkpoint_size: int


class _HashingWriter:
    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self._handle.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


def _payload_chunks(
    conn: Any, header: Header, base: int, upto: int, audit_from: dict[str, int],
    counter: list[int], progress: Progress | None,
) -> Iterator[bytes]:
    yield header.line()
    batch: list[bytes] = []
    size = 0
    steps = Steps(progress, oplog.count_after(conn, base, upto))
    for case_id, array in oplog.cases_after(conn, base, upto):
        line = case_line(case_id, array)
        batch.append(line)
        size += len(line)
        counter[0] += 1
        steps.at(counter[0])
        if size >= _BATCH_BYTES:
            yield b"".join(batch)
            batch, size = [], 0
    if batch:
        yield b"".join(batch)
    for origin, after in sorted(audit_from.items()):
        upto_entry = header.audit_held[origin]
        entries = audit_union.entries_after(conn, header.sender, origin, after, upto_entry)
        while chunk := list(itertools.islice(entries, AUDIT_ENTRIES_PER_LINE)):
            yield audit_line(chunk)
    yield end_line(counter[0])


def _checkpoint(conn: Any, recipients: Sequence[Peer], epoch: str) -> Checkpoint:
    tree = audit_tree.local_tree(conn, store=True)
    size = tree.size
    from_sizes: set[int] = set()
    for peer in recipients:
        if peer.acked_checkpoint:
            from_sizes.add(peer.acked_checkpoint)
        from_sizes.update(
            peers.unconfirmed_checkpoint_sizes(conn, peer, epoch, MAX_UNCONFIRMED_PROOFS)
        )
    proofs = tuple(
        Consistency(old, tuple(node.hex() for node in merkle.consistency_proof(tree, old)))
        for old in sorted(from_sizes)
        if 0 < old <= size
    )
    return Checkpoint(tree_size=size, root=tree.root().hex(), consistency=proofs)


def export_file(
    vault: Vault, user: str, recipients: Sequence[Peer], destination: Path, *, full: bool,
    progress: Progress | None = None,
) -> ExportResult:
    """Write ``destination`` for these peers; all or nothing.

    The file is written hidden beside ``destination`` and put in place only once the vault
    has recorded it (its file numbers, its audit entry): a finished-looking file always has
    its record. A crash in between leaves a hidden part and a number unused, which the
    receiving site reports as a file it has not seen; the next file carries its changes.
    ``progress`` is told how many of the cases to send were written so far.
    """
    signing_key = vault.site_signing_key()
    with parts_removed_on_failure() as staged:
        result = _export(
            vault, user, recipients, destination, full, signing_key, staged, progress
        )
        publish(staged[0], destination)
    return result


def _export(
    vault: Vault,
    user: str,
    recipients: Sequence[Peer],
    destination: Path,
    full: bool,
    signing_key: Ed25519PrivateKey,
    staged: list[Path],
    progress: Progress | None,
) -> ExportResult:
    with vault.transaction() as conn:
        site_id = peers.local_site(conn)
        epoch = peers.current_epoch(conn)
        created_at = format_time(now_utc())
        upto = oplog.last_lseq(conn)
        sequences = {peer.site_id: peers.take_sequence(conn, peer.site_id) for peer in recipients}
        bases = {peer.site_id: 0 if full else min(peer.acked_lseq, upto) for peer in recipients}
        acks = {
            peer.site_id: Acknowledgement(
                epoch=peer.their_epoch,
                lseq=0 if peer.their_epoch is None
                else peers.coverage(conn, peer.site_id, peer.their_epoch),
                checkpoint=peers.latest_checkpoint_size(conn, peer.site_id),
            )
            for peer in recipients
        }
        # One payload serves every recipient, so it starts where the furthest-behind one is.
        # A peer's own ops go back to it too: after a restore from backup it may need them.
        base = min(bases.values())
        audit.append(
            conn,
            user,
            "transfer_exported",
            detail=", ".join(f"{p.name} #{sequences[p.site_id]}" for p in recipients)
            + (" (full)" if full else ""),
        )
        checkpoint = _checkpoint(conn, recipients, epoch)
        # Audit entries: of every log held here, those after what all recipients hold.
        held = audit_union.held(conn, site_id)
        their_held = {} if full else audit_union.acknowledged(
            conn, [peer.site_id for peer in recipients]
        )
        audit_from = {
            origin: their_held.get(origin, 0)
            for origin, count in held.items()
            if count > their_held.get(origin, 0)
        }
        header = Header(site_id, epoch, sequences, created_at, upto, bases, acks, held)
        counter = [0]
        fd, payload_name = open_part(destination)  # the payload, encrypted, until the tar
        try:
            with os.fdopen(fd, "w+b") as payload_file:
                writer = _HashingWriter(payload_file)
                age.encrypt_stream(
                    ChunkReader(_payload_chunks(
                        conn, header, base, upto, audit_from, counter, progress
                    )),
                    writer,
                    [peer.recipient for peer in recipients],
                )
                manifest = Manifest(
                    sender=site_id,
                    epoch=epoch,
                    recipients=tuple(
                        Recipient(peer.site_id, sequences[peer.site_id]) for peer in recipients
                    ),
                    created_at=created_at,
                    payload_sha256=writer.sha256.hexdigest(),
                    payload_size=writer.size,
                    checkpoint=checkpoint,
                )
                manifest_bytes = manifest.to_bytes()
                signature = sshsig.sign(
                    manifest_bytes, signing_key, sshsig.TRANSFER_NAMESPACE
                ).encode("ascii")
                payload_file.seek(0)
                staged.append(stage_file(destination, lambda handle: write_transfer_tar(
                    handle, manifest_bytes, signature, payload_file, writer.size
                )))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(payload_name)
        for peer in recipients:
            peers.record_sent(
                conn,
                peer=peer.site_id,
                epoch=epoch,
                sequence=sequences[peer.site_id],
                base_lseq=bases[peer.site_id],
                upto_lseq=upto,
                checkpoint_size=checkpoint.tree_size,
                created_at=created_at,
                payload_sha256=manifest.payload_sha256,
            )
    return ExportResult(
        path=destination,
        recipients=tuple((peer.name, sequences[peer.site_id]) for peer in recipients),
        cases=counter[0],
        full=full,
        checkpoint_size=checkpoint.tree_size,
    )
