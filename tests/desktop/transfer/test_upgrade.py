"""A vault made before transfer existed can send every one of its cases, unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

from db import oplog
from db.records import Status, StatusChange
from db.vault import now_utc
from desktop.session import Session
from tests.desktop.transfer.sites import HavenSite, canonical_dump, make_site, pair

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FIXTURE_PASSWORD = "fixture password 1"


def test_an_upgraded_vault_exports_its_old_cases_exactly(tmp_path: Path) -> None:
    data = tmp_path / "old"
    shutil.copytree(FIXTURES / "vault-v1", data)
    old = HavenSite("old", data, Session.open(data, "admin", FIXTURE_PASSWORD))
    fresh = make_site(tmp_path, "fresh")
    try:
        pair(old, fresh)
        with old.session.vault.reading() as conn:
            count = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
            assert conn.execute("SELECT count(*) FROM case_ops").fetchone()[0] == count > 0
        old.service.export(["fresh"], tmp_path / "old.haven", full=False)
        assert fresh.service.import_file(tmp_path / "old.haven").cases_new == count
        assert canonical_dump(fresh) == canonical_dump(old)
        # Edits made after the upgrade are newer than every backfilled op and replace them.
        case_id = old.session.cases_full().__next__().id
        with old.session.vault.transaction() as conn:
            from db import cases

            cases.set_status(conn, case_id, StatusChange(
                case_id, Status.REGISTERED, Status.WITHDRAWN, now_utc(), "admin",
                {"reason": "відмовився"}))
            ops = oplog.ops_for_case(conn, case_id)
        assert ops[-1].id > max(op.id for op in ops[:-1])
        assert ops[-1].parents == (ops[0].id,)
        old.service.export(["fresh"], tmp_path / "old2.haven", full=False)
        fresh.service.import_file(tmp_path / "old2.haven")
        assert canonical_dump(fresh) == canonical_dump(old)
    finally:
        old.close()
        fresh.close()
