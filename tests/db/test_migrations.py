"""Vaults made by earlier schema versions open and upgrade with their data intact."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlcipher3

from db import audit, audit_tree, keyslots, merkle
from db.migrate import available_migrations, latest_version, schema_version
from db.vault import DB_NAME, KEYSLOTS_NAME
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


Entries = dict[str, list[tuple[object, ...]]]


def _fields(fields: dict[str, str]) -> str:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False)


def _entries_in_old_tables(data: Path) -> Entries:
    """Each case's contacts, status history and codeword checks as the old tables hold them."""
    slots = keyslots.read_keyslots(data / KEYSLOTS_NAME)
    kdf = next(slot.kdf for slot in slots.slots if slot.kdf is not None)
    key = keyslots.open_password_slot(slots, "admin", FIXTURE_PASSWORD, kdf).keys[0]
    conn = sqlcipher3.connect(str(data / DB_NAME))
    try:
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        found: Entries = {}
        for kind, sql in (
            ("contact", "SELECT c.id, k.at, k.channel, k.operator, k.stage, k.summary"
                        " FROM contacts k JOIN cases c ON c.rowid = k.case_rowid"),
            ("status", "SELECT c.id, h.from_status, h.to_status, h.at, h.by, h.fields"
                       " FROM status_history h JOIN cases c ON c.rowid = h.case_rowid"),
            ("codeword", "SELECT c.id, a.at, a.by, a.success"
                         " FROM codeword_attempts a JOIN cases c ON c.rowid = a.case_rowid"),
        ):
            for case_id, *entry in conn.execute(sql):
                if kind == "status":
                    entry[-1] = _fields(json.loads(entry[-1]))
                found.setdefault(case_id, []).append((kind, *entry))
    finally:
        conn.close()
    return {case_id: sorted(entries, key=repr) for case_id, entries in found.items()}


def _entries_shown(session: Session, case_id: str) -> list[tuple[object, ...]]:
    def at(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    entries: list[tuple[object, ...]] = [
        ("contact", at(c.at), c.channel.value, c.operator, c.stage.value, c.summary)
        for c in session.contacts(case_id)
    ]
    entries += [
        ("status", None if h.from_status is None else h.from_status.value, h.to_status.value,
         at(h.at), h.by, _fields(h.fields))
        for h in session.status_history(case_id)
    ]
    entries += [
        ("codeword", at(a.at), a.by, int(a.success)) for a in session.codeword_attempts(case_id)
    ]
    return sorted(entries, key=repr)


# Vaults made before schema 6, which still keep these entries in tables of their own.
@pytest.mark.parametrize(
    "version", sorted(p.name for p in FIXTURES.glob("vault-v*") if int(p.name[7:]) < 6)
)
def test_contacts_history_and_codeword_checks_survive_the_upgrade(
    tmp_path: Path, version: str
) -> None:
    data = tmp_path / version
    shutil.copytree(FIXTURES / version, data)
    before = _entries_in_old_tables(data)
    assert sum(len(entries) for entries in before.values()) > 0
    session = Session.open(data, "admin", FIXTURE_PASSWORD)
    try:
        with session.vault.reading() as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert not tables & {"contacts", "status_history", "codeword_attempts"}
        for case_id, entries in before.items():
            assert _entries_shown(session, case_id) == entries
    finally:
        session.close()
