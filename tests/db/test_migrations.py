"""Vaults made by earlier schema versions open and upgrade with their data intact."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from db import audit, audit_tree, merkle
from db.migrate import available_migrations, latest_version, schema_version
from desktop.session import Session

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# Made by `python -m tests.fixtures.make_vault` at each schema version; never regenerated.
FIXTURE_PASSWORD = "fixture password 1"


def test_migrations_are_numbered_without_gaps() -> None:
    assert [v for v, _ in available_migrations()] == list(range(1, latest_version() + 1))


@pytest.mark.parametrize("version", sorted(p.name for p in FIXTURES.glob("vault-v*")))
def test_old_vault_upgrades_and_keeps_its_cases(tmp_path: Path, version: str) -> None:
    data = tmp_path / version
    shutil.copytree(FIXTURES / version, data)
    expected = (FIXTURES / version / "refs.txt").read_text().split()
    session = Session.open(data, "admin", FIXTURE_PASSWORD)
    try:
        assert schema_version(session.vault.conn) == latest_version()
        for ref in expected:
            case = session.get_case(session.resolve(ref))
            assert case.persons
            hits = session.search(case.persons[0].full_name.split()[0])
            assert ref in [hit.ref for hit in hits]
        assert session.verify_audit().ok
        assert session.vault.integrity_problems() == []
        with session.vault.reading() as conn:
            # The stored audit blocks were filled at the unlock, and make the same root.
            stored = conn.execute("SELECT count(*) FROM audit_blocks").fetchone()[0]
            leaves = audit.leaf_hashes(conn)
            assert stored == len(leaves) // audit_tree.BLOCK
            assert audit_tree.local_tree(conn, store=False).root() == merkle.root(leaves)
    finally:
        session.close()
