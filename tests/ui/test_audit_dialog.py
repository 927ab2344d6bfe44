"""The audit log dialog: this site's entries and another site's, one case's, verification."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt

from db import audit
from tests.desktop.transfer.sites import make_sites, new_case
from tests.ui.conftest import WAIT_MS
from ui.audit_dialog import AuditDialog
from ui.language import apply_language
from ui.tasks import TaskRunner


def column(dialog: AuditDialog, index: int) -> list[str]:
    return [dialog.table.item(row, index).text() for row in range(dialog.table.rowCount())]


def test_entries_of_both_sites_one_case_and_verification(  # type: ignore[no-untyped-def]
    qtbot, runner: TaskRunner, tmp_path: Path
) -> None:
    north, south = make_sites(tmp_path, ["north", "south"])
    try:
        case_id = new_case(north, "Шевченко Тарас")
        new_case(north, "Коваль Олена")
        north.service.export(["south"], tmp_path / "n.haven", full=False)
        south.service.import_file(tmp_path / "n.haven")
        ref = south.session.get_case(case_id, audit_view=False).ref

        dialog = AuditDialog(south.session, runner)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitUntil(lambda: runner.idle() and dialog.table.rowCount() > 0, timeout=WAIT_MS)
        sites = column(dialog, 1)
        assert {"north", south.session.site.name} <= set(sites)
        assert column(dialog, 4).count("case registered") == 2
        assert column(dialog, 0)[0].endswith(" UTC")
        assert f"{dialog.table.rowCount()} entries." in dialog.summary.text()

        qtbot.keyClicks(dialog.case_edit, ref.lower().replace("-", ""))
        qtbot.keyClick(dialog.case_edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: runner.idle() and dialog.table.rowCount() == 1, timeout=WAIT_MS)
        assert column(dialog, 4) == ["case registered"]
        assert column(dialog, 5) == [ref]
        assert column(dialog, 1) == ["north"]

        dialog.case_edit.setText("KM-4TX-7PA-9")
        qtbot.mouseClick(dialog.show_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: runner.idle() and dialog.error.isVisible(), timeout=WAIT_MS)
        assert dialog.error.text() == "No case has this reference."
        assert dialog.table.rowCount() == 0

        dialog.case_edit.clear()
        qtbot.mouseClick(dialog.verify_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: runner.idle() and dialog.verdict.isVisible(), timeout=WAIT_MS)
        assert dialog.verdict.text().startswith("This site's audit log is intact: ")
        assert not dialog.error.isVisible()
        assert not dialog.alarm.isVisible()
        assert column(dialog, 4)[-1] == "audit log verified"
        assert column(dialog, 6)[-1].endswith(" entries, intact")
    finally:
        runner.cancel_all()
        runner.wait_for_done()
        north.close()
        south.close()


def test_an_altered_log_stays_reported_whatever_is_listed(  # type: ignore[no-untyped-def]
    qtbot, runner: TaskRunner, tmp_path: Path
) -> None:
    (north,) = make_sites(tmp_path, ["north"])
    try:
        new_case(north, "Шевченко Тарас")
        with north.session.vault.transaction() as conn:
            conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
        dialog = AuditDialog(north.session, runner)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitUntil(lambda: runner.idle() and dialog.table.rowCount() > 0, timeout=WAIT_MS)
        dialog.case_edit.setText("KM-4TX-7PA-9")  # typed, not shown yet: no such case
        qtbot.mouseClick(dialog.verify_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: runner.idle() and dialog.error.isVisible(), timeout=WAIT_MS)
        assert dialog.error.text() == "No case has this reference."
        assert dialog.alarm.isVisible()
        assert dialog.alarm.text() == (
            "This site's audit log was altered:\nentry 2 was altered after it was written")
        assert not dialog.verdict.isVisible()
        apply_language("uk")  # the autouse fixture restores English
        from ui.audit_dialog import problem_text
        assert problem_text("entry 2 was altered after it was written") == (
            "запис 2 змінено після того, як його записали")
        assert problem_text("entry 7 is missing (next entry is 9)") == (
            "запису 7 бракує (наступний — 9)")
        apply_language("en")

        dialog.case_edit.clear()
        qtbot.mouseClick(dialog.show_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: runner.idle() and dialog.table.rowCount() > 0, timeout=WAIT_MS)
        assert dialog.alarm.isVisible()  # listing again does not hide it
        verified = column(dialog, 4).index("audit log verified")
        assert column(dialog, 6)[verified].endswith(" entries, 1 problem(s) found")
    finally:
        runner.cancel_all()
        runner.wait_for_done()
        north.close()


def test_every_action_recorded_reads_in_ukrainian() -> None:
    import re

    from ui import labels
    from ui.language import apply_language

    source = "\n".join(path.read_text() for folder in ("db", "desktop")
                       for path in (Path(__file__).parents[2] / folder).rglob("*.py"))
    recorded = set(re.findall(r'(?:audit\.append\(\s*conn,\s*[^,]+,\s*|_audit\()"([a-z_]+)"',
                              source))
    assert {"login", "case_registered", "transfer_imported"} <= recorded
    apply_language("uk")  # the autouse fixture restores English
    untranslated = {code for code in recorded if labels.audit_action(code) == code}
    assert untranslated == set()
    assert labels.audit_action("case_registered") == "справу зареєстровано"
    assert labels.audit_action("a_newer_sites_action") == "a_newer_sites_action"


def test_hidden_characters_in_another_sites_entry_are_shown_visible(  # type: ignore[no-untyped-def]
    qtbot, runner: TaskRunner, tmp_path: Path, monkeypatch
) -> None:
    north, south = make_sites(tmp_path, ["north", "south"])
    try:
        with monkeypatch.context() as patch:
            patch.setattr(audit, "_CONTROL", re.compile("(?!)"))  # as an older desk wrote it
            with north.session.vault.transaction() as conn:
                audit.append(conn, "admin", "transfer_refused", None, "in\x1b[2Jbox \u202eevah")
        north.service.export(["south"], tmp_path / "n.haven", full=False)
        south.service.import_file(tmp_path / "n.haven")
        dialog = AuditDialog(south.session, runner)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitUntil(lambda: runner.idle() and dialog.table.rowCount() > 0, timeout=WAIT_MS)
        assert "in\ufffd[2Jbox \ufffdevah" in column(dialog, 6)
    finally:
        runner.cancel_all()
        runner.wait_for_done()
        north.close()
        south.close()
