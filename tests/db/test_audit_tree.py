"""Audit roots read through stored block hashes: the same roots, and tampering still found."""

from __future__ import annotations

from typing import Any

from db import audit, audit_tree, audit_union, merkle

BLOCK = audit_tree.BLOCK
PEER = "b" * 32
AT = "2026-11-28T00:00:00.000Z"


def _append(conn: Any, count: int) -> None:
    for number in range(count):
        audit.append(conn, "admin", "case_viewed", detail=f"view {number}")


def _stored_blocks(conn: Any, log: str) -> int:
    row = conn.execute("SELECT count(*) FROM audit_blocks WHERE log = ?", (log,)).fetchone()
    return int(row[0])


def _peer_entries(first: int, last: int) -> list[audit_union.Entry]:
    return [
        audit_union.Entry(PEER, seq, "2026-11-27T10:00:00.000Z", "anna", "case_viewed", None,
                          f"seen {seq}")
        for seq in range(first, last + 1)
    ]


def test_the_root_of_a_long_log_is_the_root_of_all_its_entries(site) -> None:  # type: ignore[no-untyped-def]
    vault = site.session.vault
    with vault.transaction() as conn:
        _append(conn, 2 * BLOCK + 37)
        first = audit_tree.local_tree(conn, store=True)
        assert first.root() == merkle.root(audit.leaf_hashes(conn))
        assert _stored_blocks(conn, audit_tree.LOCAL) == first.size // BLOCK
        old_size = first.size
        _append(conn, BLOCK)
        grown = audit_tree.local_tree(conn, store=True)
        leaves = audit.leaf_hashes(conn)
        assert grown.root() == merkle.root(leaves)
        assert _stored_blocks(conn, audit_tree.LOCAL) == grown.size // BLOCK
        proof = merkle.consistency_proof(grown, old_size)
        assert proof == merkle.consistency_proof(leaves, old_size)
        assert merkle.verify_consistency(old_size, grown.size, first.root(), grown.root(), proof)


def test_audit_verify_reports_a_stored_block_that_no_longer_matches(site) -> None:  # type: ignore[no-untyped-def]
    vault = site.session.vault
    with vault.transaction() as conn:
        _append(conn, 2 * BLOCK)
        audit_tree.local_tree(conn, store=True)
        assert audit.verify(conn).ok
        conn.execute("UPDATE audit_blocks SET hash = zeroblob(32) WHERE log = '' AND block = 1")
        report = audit.verify(conn)
    assert not report.ok
    assert report.problems == (
        f"the stored tree hash of entries {BLOCK + 1}–{2 * BLOCK} does not match them",
    )


def test_a_peer_log_with_a_gap_has_no_root_and_set_aside_entries_take_their_blocks(site) -> None:  # type: ignore[no-untyped-def]
    vault = site.session.vault
    with vault.transaction() as conn:
        site_id = conn.execute("SELECT site_id FROM site").fetchone()[0]
        entries = _peer_entries(1, BLOCK + 10)
        audit_union.store(conn, site_id, PEER, entries, AT)
        expected = merkle.root([entry.leaf() for entry in entries])
        assert audit_union.root(conn, PEER, BLOCK + 10) == expected
        assert _stored_blocks(conn, PEER) == 1
        assert audit_union.root(conn, PEER, BLOCK + 11) is None  # entry BLOCK + 11 not here
        audit_union.store(conn, site_id, PEER, _peer_entries(BLOCK + 12, 2 * BLOCK + 5), AT)
        assert audit_union.root(conn, PEER, 2 * BLOCK + 5) is None  # a gap inside block 1
        assert _stored_blocks(conn, PEER) == 1

        audit_union.set_aside(conn, PEER, "2026-11-27T11:00:00.000Z")
        assert _stored_blocks(conn, PEER) == 0
        assert audit_union.root(conn, PEER, BLOCK + 10) is None
        # The restored site's log goes on differently; its new entries make a new tree.
        restored = [
            audit_union.Entry(PEER, e.seq, e.at, e.actor, "login", None, e.detail)
            for e in _peer_entries(1, BLOCK)
        ]
        audit_union.store(conn, site_id, PEER, restored, AT)
        assert audit_union.root(conn, PEER, BLOCK) == merkle.root([e.leaf() for e in restored])
