"""RFC 6962 Merkle trees, checked against the published transparency-dev/merkle vectors.

The known-answer values below come from transparency-dev/merkle (proof/verify_test.go and
rfc6962/rfc6962_test.go), which inherited them from certificate-transparency-go; they were
produced by implementations independent of this one.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from db import merkle


def h(hex_string: str) -> bytes:
    return bytes.fromhex(hex_string)


# The eight leaf entries (raw data, not yet hashed) of the reference tree.
LEAVES = [
    b"",
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]

# ROOTS[i] is the tree hash of the first i + 1 leaves.
ROOTS = [
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# (leaf index, tree size, audit path)
INCLUSION_PROOFS = [
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (0, 1, []),
]

# (old size, new size, consistency proof)
CONSISTENCY_PROOFS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")
LEAF_HASHES = [merkle.leaf_hash(entry) for entry in LEAVES]


def flip_bit(proof: list[bytes], i: int, mask: int) -> list[bytes]:
    node = bytearray(proof[i])
    node[0] ^= mask
    return [*proof[:i], bytes(node), *proof[i + 1 :]]


# --- hashing -------------------------------------------------------------------------------


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert merkle.root([]) == h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def test_leaf_and_node_hashes_match_the_reference() -> None:
    assert merkle.leaf_hash(b"") == h(
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert merkle.leaf_hash(b"L123456") == h(
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert merkle.node_hash(b"N123", b"N456") == h(
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


def test_node_hash_is_not_a_leaf_hash_of_the_concatenation() -> None:
    a, b = merkle.leaf_hash(b"Hello"), merkle.leaf_hash(b"World")
    assert merkle.node_hash(a, b) != merkle.leaf_hash(a + b)
    assert merkle.node_hash(a, b) != merkle.node_hash(b, a)


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_the_reference_tree(size: int) -> None:
    assert merkle.root(LEAF_HASHES[:size]) == ROOTS[size - 1]


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH exactly as written in RFC 6962 2.1, recursive, to check the iterative version."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return merkle.node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def test_iterative_root_agrees_with_the_recursive_definition() -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(70)]
    for size in range(71):
        assert merkle.root(leaves[:size]) == reference_root(leaves[:size])


# --- inclusion -----------------------------------------------------------------------------


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS)
def test_inclusion_proofs_match_the_reference(index: int, size: int, proof: list[bytes]) -> None:
    assert merkle.inclusion_proof(LEAF_HASHES[:size], index) == proof


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS)
def test_reference_inclusion_proofs_verify(index: int, size: int, proof: list[bytes]) -> None:
    leaf = LEAF_HASHES[index]
    assert merkle.verify_inclusion(leaf, index, size, proof, ROOTS[size - 1])


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS[:4])
def test_corrupted_inclusion_proofs_are_rejected(index: int, size: int, proof: list[bytes]) -> None:
    # The probes of transparency-dev's corruptInclusionProof.
    root, leaf = ROOTS[size - 1], LEAF_HASHES[index]
    probes = [
        (leaf, index - 1, size, proof, root),
        (leaf, index + 1, size, proof, root),
        (leaf, index ^ 2, size, proof, root),
        (leaf, index, size * 2, proof, root),
        (leaf, index, size // 2, proof, root),
        (b"WrongLeaf", index, size, proof, root),
        (leaf, index, size, proof, merkle.EMPTY_ROOT),
        (leaf, index, size, proof, SOME_HASH),
        (leaf, index, size, [*proof, b""], root),
        (leaf, index, size, [*proof, root], root),
        (leaf, index, size, [b"", *proof], root),
        (leaf, index, size, [root, *proof], root),
        (leaf, index, size, proof[:-1], root),
    ]
    probes += [(leaf, index, size, flip_bit(proof, i, 8), root) for i in range(len(proof))]
    if len(proof) > 1:
        probes.append((leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root))
    for probe in probes:
        assert not merkle.verify_inclusion(*probe), probe


def test_single_entry_tree() -> None:
    leaf = merkle.leaf_hash(b"data")
    assert merkle.root([leaf]) == leaf
    assert merkle.inclusion_proof([leaf], 0) == []
    assert merkle.verify_inclusion(leaf, 0, 1, [], leaf)
    assert not merkle.verify_inclusion(leaf, 0, 1, [], b"")
    assert not merkle.verify_inclusion(b"", 0, 1, [], leaf)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (2, 1), (-1, 3)])
def test_inclusion_with_impossible_index_is_rejected(index: int, size: int) -> None:
    assert not merkle.verify_inclusion(SOME_HASH, index, size, [], merkle.EMPTY_ROOT)


@pytest.mark.parametrize("index", [-1, 8])
def test_inclusion_proof_for_missing_leaf_raises(index: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        merkle.inclusion_proof(LEAF_HASHES, index)


def test_every_inclusion_proof_of_small_trees_verifies() -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(40)]
    for size in range(1, 41):
        tree_root = merkle.root(leaves[:size])
        for index in range(size):
            proof = merkle.inclusion_proof(leaves[:size], index)
            assert merkle.verify_inclusion(leaves[index], index, size, proof, tree_root)
            wrong = leaves[(index + 1) % size]
            assert size == 1 or not merkle.verify_inclusion(wrong, index, size, proof, tree_root)


# --- consistency ---------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_PROOFS)
def test_consistency_proofs_match_the_reference(old: int, new: int, proof: list[bytes]) -> None:
    assert merkle.consistency_proof(LEAF_HASHES[:new], old) == proof


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_PROOFS)
def test_reference_consistency_proofs_verify(old: int, new: int, proof: list[bytes]) -> None:
    assert merkle.verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], proof)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_PROOFS[1:])
def test_corrupted_consistency_proofs_are_rejected(old: int, new: int, proof: list[bytes]) -> None:
    # The probes of transparency-dev's corruptConsistencyProof.
    r1, r2 = ROOTS[old - 1], ROOTS[new - 1]
    probes = [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof),
        (old, new, b"WrongRoot", r2, proof),
        (old, new, r1, b"WrongRoot", proof),
        (old, new, r2, r1, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, b""]),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, [*proof, r2]),
        (old, new, r1, r2, [b"", *proof]),
        (old, new, r1, r2, [r1, *proof]),
        (old, new, r1, r2, [r2, *proof]),
        (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, proof[:-1]),
    ]
    probes += [(old, new, r1, r2, flip_bit(proof, i, 16)) for i in range(len(proof))]
    for probe in probes:
        assert not merkle.verify_consistency(*probe), probe


@pytest.mark.parametrize(
    ("old", "new", "old_root", "new_root", "proof", "expected"),
    [
        # Cases of transparency-dev's TestVerifyConsistency.
        (0, 0, b"root 1", b"root 2", [], False),
        (1, 1, b"root 1", b"root 2", [], False),
        (0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [], True),
        (0, 1, b"root 1", b"root 2", [], True),
        (1, 1, SOME_HASH, SOME_HASH, [], True),
        (1, 0, b"root 1", b"root 2", [], False),
        (2, 1, b"root 1", b"root 2", [], False),
        (1, 2, b"root 1", b"root 2", [], False),
        (0, 0, merkle.EMPTY_ROOT, b"root 2", [], False),
        (1, 1, merkle.EMPTY_ROOT, b"root 2", [], False),
        (0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [merkle.EMPTY_ROOT], False),
        (0, 1, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [merkle.EMPTY_ROOT], False),
        (1, 1, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [merkle.EMPTY_ROOT], False),
    ],
)
def test_trivial_consistency_cases(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes], expected: bool
) -> None:
    assert merkle.verify_consistency(old, new, old_root, new_root, proof) is expected


def test_trivial_consistency_proofs_are_empty() -> None:
    assert merkle.consistency_proof(LEAF_HASHES, 0) == []
    assert merkle.consistency_proof(LEAF_HASHES, 8) == []


@pytest.mark.parametrize("old_size", [-1, 9])
def test_consistency_proof_with_impossible_size_raises(old_size: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        merkle.consistency_proof(LEAF_HASHES, old_size)


def test_every_consistency_proof_of_small_trees_verifies() -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(33)]
    roots = [merkle.root(leaves[:n]) for n in range(34)]
    for new in range(1, 34):
        for old in range(1, new + 1):
            proof = merkle.consistency_proof(leaves[:new], old)
            assert merkle.verify_consistency(old, new, roots[old], roots[new], proof), (old, new)


TREE_SIZE = 300
TREE = [merkle.leaf_hash(b"entry %d" % i) for i in range(TREE_SIZE)]


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.tuples(
        st.integers(min_value=1, max_value=TREE_SIZE), st.integers(min_value=1, max_value=TREE_SIZE)
    ).map(sorted),
    data=st.data(),
)
def test_consistency_proofs_between_random_sizes(sizes: list[int], data: st.DataObject) -> None:
    old, new = sizes
    old_root, new_root = merkle.root(TREE[:old]), merkle.root(TREE[:new])
    proof = merkle.consistency_proof(TREE[:new], old)
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)
    if old == new:
        return
    i = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="node")
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    tampered = bytearray(proof[i])
    tampered[bit // 8] ^= 1 << (bit % 8)
    bad_proof = [*proof[:i], bytes(tampered), *proof[i + 1 :]]
    assert not merkle.verify_consistency(old, new, old_root, new_root, bad_proof)
    # A log that rewrote one old entry cannot prove consistency with the old root.
    rewritten = list(TREE[:new])
    changed = data.draw(st.integers(min_value=0, max_value=old - 1), label="rewritten entry")
    rewritten[changed] = merkle.leaf_hash(b"rewritten")
    forged_proof = merkle.consistency_proof(rewritten, old)
    assert not merkle.verify_consistency(old, new, old_root, merkle.root(rewritten), forged_proof)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=TREE_SIZE).flatmap(
        lambda size: st.tuples(st.just(size), st.integers(min_value=0, max_value=size - 1))
    )
)
def test_inclusion_proofs_in_random_trees(size_and_index: tuple[int, int]) -> None:
    size, index = size_and_index
    proof = merkle.inclusion_proof(TREE[:size], index)
    assert merkle.verify_inclusion(TREE[index], index, size, proof, merkle.root(TREE[:size]))


def _blocks_of(leaves: list[bytes], block: int) -> tuple[merkle.Blocks, list[tuple[int, int]]]:
    """A Blocks tree over these leaves, and the leaf ranges it was asked to read."""
    reads: list[tuple[int, int]] = []

    def read(start: int, end: int) -> list[bytes]:
        reads.append((start, end))
        return leaves[start:end]

    hashes = [merkle.root(leaves[i : i + block]) for i in range(0, len(leaves) - block + 1, block)]
    return merkle.Blocks(len(leaves), hashes, read, block), reads


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=TREE_SIZE),
    old=st.integers(min_value=0, max_value=TREE_SIZE),
    block=st.sampled_from([2, 4, 8, 16, 64]),
)
def test_roots_and_proofs_through_blocks_equal_those_from_every_leaf(
    size: int, old: int, block: int
) -> None:
    old = min(old, size)
    tree, reads = _blocks_of(TREE[:size], block)
    assert tree.root() == merkle.root(TREE[:size])
    assert merkle.consistency_proof(tree, old) == merkle.consistency_proof(TREE[:size], old)
    # What it read leaf by leaf stays within one block, or the leaves after the last block.
    last_block_end = size // block * block
    assert all(end - start < block or start == last_block_end for start, end in reads)


def test_a_root_through_blocks_reads_only_the_leaves_after_the_last_block() -> None:
    tree, reads = _blocks_of(TREE, 64)
    assert tree.root() == merkle.root(TREE)
    assert reads == [(256, 300)]


@pytest.mark.parametrize(("size", "blocks", "block"), [(10, 3, 4), (10, 2, 3), (8, 4, 4)])
def test_blocks_that_do_not_fit_the_tree_are_refused(size: int, blocks: int, block: int) -> None:
    with pytest.raises(ValueError, match="blocks of"):
        merkle.Blocks(size, [b"\0" * 32] * blocks, lambda a, b: TREE[a:b], block)
