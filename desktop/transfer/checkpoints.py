"""Checking a peer's audit checkpoint against the ones already accepted from it.

Every accepted checkpoint of a peer must describe a prefix of the same log: a newer one
must come with an RFC 6962 consistency proof from the newest one accepted, and one that
arrives late (older than the newest accepted) must be covered by a proof that a later
accepted file carried from its size. Since all accepted checkpoints are consistent with
one another, one such check is enough: prefixes of a common tree are prefixes of each other.
"""

from __future__ import annotations

from collections.abc import Sequence

from db import merkle
from db.peers import AcceptedCheckpoint
from desktop.errors import InputRejected
from desktop.transfer.transfer_file import Checkpoint


class InconsistentCheckpoint(InputRejected):
    """The sender's audit log does not extend the one it showed before: history was rewritten."""


class UnprovableCheckpoint(InconsistentCheckpoint):
    """The file carries no proof that would link its checkpoint to those accepted: nothing
    says its history was rewritten, but nothing shows it was not."""


class LateCheckpoint(UnprovableCheckpoint):
    """An older file arriving after newer ones, whose checkpoint no accepted file proved."""


def _verify(
    old_size: int, new_size: int, old_root: str, new_root: str, proof: Sequence[str]
) -> bool:
    return merkle.verify_consistency(
        old_size,
        new_size,
        bytes.fromhex(old_root),
        bytes.fromhex(new_root),
        [bytes.fromhex(node) for node in proof],
    )


def check_checkpoint(
    accepted: Sequence[AcceptedCheckpoint], incoming: Checkpoint, after_file: int | None = None
) -> None:
    """Raise InconsistentCheckpoint unless ``incoming`` agrees with every accepted checkpoint.

    ``after_file`` is the number of the newest file imported from the sender, when the file
    checked was written after it (same numbering, higher number): its log cannot be shorter.
    """
    if not accepted:
        return  # the first checkpoint from a peer is taken on trust, like its keys
    same = next((a for a in accepted if a.tree_size == incoming.tree_size), None)
    if same is not None:
        if same.root != incoming.root:
            raise InconsistentCheckpoint(
                f"the sender's audit log of {incoming.tree_size} entries differs from the one it"
                " showed before: its history was rewritten"
            )
        return
    newest = max(accepted, key=lambda a: a.tree_size)
    if incoming.tree_size > newest.tree_size:
        proof = next(
            (c.proof for c in incoming.consistency if c.from_size == newest.tree_size), None
        )
        if proof is None:
            raise UnprovableCheckpoint(
                "the file carries no proof that the sender's audit log extends the"
                f" {newest.tree_size} entries accepted before"
            )
        if not _verify(newest.tree_size, incoming.tree_size, newest.root, incoming.root, proof):
            raise InconsistentCheckpoint(
                "the sender's audit log does not extend the one it showed before"
                f" ({newest.tree_size} entries): its history was rewritten"
            )
        return
    for later in sorted(accepted, key=lambda a: a.tree_size):
        if later.tree_size > incoming.tree_size and incoming.tree_size in later.proofs:
            nodes = later.proofs[incoming.tree_size]
            if not _verify(incoming.tree_size, later.tree_size, incoming.root, later.root, nodes):
                raise InconsistentCheckpoint(
                    "this older file's audit checkpoint disagrees with a newer one already"
                    " accepted: the sender's history was rewritten"
                )
            return
    if after_file is not None:
        raise InconsistentCheckpoint(
            f"the sender's audit log has {incoming.tree_size} entries, fewer than it showed in"
            f" its file #{after_file}: its last entries were cut off"
        )
    raise LateCheckpoint(
        "this file is older than files already imported from the sender and its audit"
        " checkpoint can no longer be checked"
    )
