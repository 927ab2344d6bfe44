"""An export killed at any point leaves no file that looks finished without its record.

The receiving site must never hold a file whose number the sender gives out again.
"""

from __future__ import annotations

from pathlib import Path

from tests.desktop.transfer.sites import HavenSite, make_sites, new_case
from tests.killed import kill_at


def _exports_recorded(site: HavenSite) -> int:
    with site.session.vault.reading() as conn:
        return int(conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'transfer_exported'"
        ).fetchone()[0])


def _export_killed(tmp_path: Path, module: str, attribute: str, when: str) -> tuple[
    HavenSite, HavenSite, Path, list[str]
]:
    a, b = make_sites(tmp_path, "ab")
    ids = [new_case(a), new_case(a, "Петренко Іван")]
    a.close()
    stick = tmp_path / "stick"
    stick.mkdir()
    kill_at(module, attribute, when, a.data, "export", "--to", "b", "-o", str(stick / "a.haven"))
    return a, b, stick, ids


def _reopened(site: HavenSite) -> HavenSite:
    from desktop.session import Session
    from tests.conftest import PASSWORD

    return HavenSite(site.name, site.data, Session.open(site.data, "admin", PASSWORD))


def test_killed_before_its_commit_the_export_leaves_no_file_and_no_number_used(
    tmp_path: Path,
) -> None:
    a, b, stick, ids = _export_killed(tmp_path, "desktop.transfer.export", "stage_file", "after")
    assert not (stick / "a.haven").exists()
    # Written whole, with its encrypted payload beside it: hidden, and not put in place.
    assert all(part.name.startswith(".a.haven.") for part in stick.iterdir())
    assert len(list(stick.iterdir())) == 2
    a = _reopened(a)
    try:
        assert _exports_recorded(a) == 0
        result = a.service.export(["b"], stick / "again.haven", full=False)
        assert result.recipients == (("b", 1),)  # the number the killed export had taken
        assert sorted(path.name for path in stick.iterdir()) == ["again.haven"]  # swept
        report = b.service.import_file(stick / "again.haven")
        assert (report.sequence, report.missing, report.cases_new) == (1, (), len(ids))
    finally:
        a.close()
        b.close()


def test_killed_after_its_commit_the_export_costs_a_number_that_the_next_file_covers(
    tmp_path: Path,
) -> None:
    a, b, stick, ids = _export_killed(tmp_path, "desktop.transfer.export", "publish", "before")
    assert not (stick / "a.haven").exists()
    a = _reopened(a)
    try:
        assert _exports_recorded(a) == 1
        result = a.service.export(["b"], stick / "next.haven", full=False)
        assert result.recipients == (("b", 2),)
        assert sorted(path.name for path in stick.iterdir()) == ["next.haven"]
        # The receiver hears of a file it never saw, and gets every change all the same.
        report = b.service.import_file(stick / "next.haven")
        assert (report.sequence, report.missing, report.cases_new) == (2, (1,), len(ids))
    finally:
        a.close()
        b.close()
