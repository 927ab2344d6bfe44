"""RFC 6962 Merkle tree hashing for the audit log.

The tree is the one of RFC 6962 section 2.1 (kept unchanged in RFC 9162 section 2.1):
leaves are hashed as SHA-256(0x00 || entry), interior nodes as SHA-256(0x01 || left || right),
and a tree of n leaves splits at the largest power of two smaller than n. Building the tree
bottom-up, pairing neighbours and lifting an unpaired last node to the next level unchanged,
gives exactly that shape, so everything here is iterative and linear in the number of leaves.

Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step, so a proof made by
any conforming log (certificate-transparency-go, transparency-dev/merkle, Trillian) checks here.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 hash of one log entry: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _next_level(level: Sequence[bytes]) -> list[bytes]:
    sha256 = hashlib.sha256
    pairs = len(level) - 1
    parents = [sha256(_NODE_PREFIX + level[i] + level[i + 1]).digest() for i in range(0, pairs, 2)]
    if len(level) % 2:
        parents.append(level[-1])
    return parents


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash of the given leaf hashes (SHA-256 of b"" when empty)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level: Sequence[bytes] = leaf_hashes
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Return the audit path (RFC 6962 2.1.1) of leaf `index` in the tree of `leaf_hashes`."""
    if not 0 <= index < len(leaf_hashes):
        raise ValueError(f"leaf index {index} outside a tree of {len(leaf_hashes)} leaves")
    proof: list[bytes] = []
    level: Sequence[bytes] = leaf_hashes
    position = index
    while len(level) > 1:
        sibling = position ^ 1
        # A node without a right neighbour is lifted unchanged, so it contributes nothing.
        if sibling < len(level):
            proof.append(level[sibling])
        level = _next_level(level)
        position //= 2
    return proof


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


class Subtrees(Protocol):
    """A tree of `size` leaves that gives the hash of the subtree over leaves [start, end)."""

    @property
    def size(self) -> int: ...

    def subtree(self, start: int, end: int) -> bytes: ...


class Leaves:
    """Subtrees of a tree whose leaf hashes are all in memory."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self._leaves = leaf_hashes

    @property
    def size(self) -> int:
        return len(self._leaves)

    def subtree(self, start: int, end: int) -> bytes:
        return root(self._leaves[start:end])


class Blocks:
    """Subtrees of a tree read through the hashes of its complete blocks of leaves.

    Block i is the perfect subtree over leaves [i * block, (i + 1) * block). A subtree
    that starts on a block boundary is the tree over the blocks it covers and the tree of
    the leaves after them (the bottom-up pairing never crosses an aligned block boundary),
    so a root costs size / block hashes instead of size. ``read_leaves(start, end)`` gives
    the leaf hashes of [start, end) for the rest.
    """

    def __init__(
        self,
        size: int,
        blocks: Sequence[bytes],
        read_leaves: Callable[[int, int], Sequence[bytes]],
        block: int,
    ) -> None:
        if block < 2 or block & (block - 1) or len(blocks) != size // block:
            raise ValueError(f"{len(blocks)} blocks of {block} leaves for a tree of {size}")
        self._size = size
        self._blocks = blocks
        self._read_leaves = read_leaves
        self._block = block

    @property
    def size(self) -> int:
        return self._size

    def subtree(self, start: int, end: int) -> bytes:
        if not 0 <= start < end <= self._size:
            raise ValueError(f"subtree [{start}, {end}) outside a tree of {self._size}")
        block = self._block
        if start % block:
            return root(self._read_leaves(start, end))
        first, last = start // block, end // block
        nodes = list(self._blocks[first:last])
        if end > last * block:
            nodes.append(root(self._read_leaves(last * block, end)))
        return root(nodes)

    def root(self) -> bytes:
        return self.subtree(0, self._size) if self._size else EMPTY_ROOT


def consistency_proof(tree: Sequence[bytes] | Subtrees, old_size: int) -> list[bytes]:
    """Return the RFC 6962 2.1.2 proof that the first `old_size` leaves are a prefix of the tree.

    ``tree`` is the leaf hashes, or any :class:`Subtrees`. The proof is empty when
    `old_size` is 0 or equals the tree size: those trees are consistent with any tree of
    equal or greater size, and the verifier expects no nodes.
    """
    subtrees = Leaves(tree) if isinstance(tree, Sequence) else tree
    new_size = subtrees.size
    if not 0 <= old_size <= new_size:
        raise ValueError(f"old size {old_size} outside 0..{new_size}")
    if old_size in (0, new_size):
        return []
    # SUBPROOF(m, D[start:end], b) unrolled: each step appends one node after the deeper
    # part of the proof, so nodes are collected on the way down and reversed at the end.
    tail: list[bytes] = []
    start, end, m = 0, new_size, old_size
    old_is_complete_subtree = True
    while m != end - start:
        k = _largest_power_of_two_below(end - start)
        if m <= k:
            tail.append(subtrees.subtree(start + k, end))
            end = start + k
        else:
            tail.append(subtrees.subtree(start, start + k))
            start, m = start + k, m - k
            old_is_complete_subtree = False
    proof = [] if old_is_complete_subtree else [subtrees.subtree(start, end)]
    proof.extend(reversed(tail))
    return proof


def _equal(a: bytes, b: bytes) -> bool:
    return len(a) == HASH_SIZE and hmac.compare_digest(a, b)


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Check an audit path for leaf `index` of a tree of `tree_size` leaves (RFC 9162 2.1.3.2)."""
    if not 0 <= index < tree_size or len(leaf_hash) != HASH_SIZE:
        return False
    fn, sn = index, tree_size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0 or len(p) != HASH_SIZE:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and _equal(r, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Check that the tree with `new_root` extends the one with `old_root` (RFC 9162 2.1.4.2)."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and _equal(old_root, new_root)
    if old_size == 0:
        # The empty tree is a prefix of every tree; RFC 9162 defines no proof for it.
        return not proof
    if not proof or any(len(node) != HASH_SIZE for node in proof):
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and _equal(fr, old_root) and _equal(sr, new_root)
