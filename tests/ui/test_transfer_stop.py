"""Stopping an export or an import from its dialog: nothing done, and the dialog says so."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.desktop.transfer.sites import HavenSite, make_sites, new_case, vault_digest
from tests.ui.conftest import WAIT_MS
from ui.tasks import TaskRunner
from ui.transfer_dialog import ExportDialog, ImportDialog


@pytest.fixture
def held(tmp_path: Path, qapp: QApplication) -> Iterator[tuple[HavenSite, HavenSite, TaskRunner,
                                                              threading.Event]]:
    """Sites "a" and "b", and a one-thread runner whose next task waits until the event is
    set: so a test can ask a task to stop before it has begun, whatever the machine's pace."""
    a, b = make_sites(tmp_path, ["a", "b"])
    tasks = TaskRunner(max_threads=1)
    gate = threading.Event()
    yield a, b, tasks, gate
    gate.set()
    tasks.cancel_all()
    tasks.wait_for_done()
    QApplication.processEvents()
    a.close()
    b.close()


def test_esc_stops_an_export_and_no_file_or_number_is_used(qtbot, held, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, _b, runner, gate = held
    new_case(a, "Шевченко Тарас")
    dialog = ExportDialog(a.service, runner)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.peer_list.count() > 0 and runner.idle(), timeout=WAIT_MS)
    dialog.set_peer_checked("b")
    dialog.path_edit.setText(str(tmp_path / "to-b"))
    runner.run(gate.wait)
    qtbot.keyClick(dialog.path_edit, Qt.Key.Key_Return)
    assert dialog.summary.text() == "Writing the file…"
    assert dialog.stop_button.isVisible()
    assert not dialog.close_button.isEnabled()

    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible()  # it stays to say what became of the export
    assert dialog.summary.text() == "Stopping…"
    gate.set()
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
    assert dialog.summary.text() == (
        "Stopped: no file was written, and no file number was used.")
    assert not dialog.error.isVisible()
    assert list(tmp_path.glob("*to-b*")) == []
    assert not dialog.stop_button.isVisible()

    qtbot.keyClick(dialog.path_edit, Qt.Key.Key_Return)  # again, to the end
    qtbot.waitUntil(lambda: runner.idle() and "Wrote" in dialog.summary.text(),
                    timeout=WAIT_MS)
    assert "b (file #1)" in dialog.summary.text()
    assert (tmp_path / "to-b.haven").is_file()  # typed without a suffix
    qtbot.keyClick(dialog.path_edit, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_stop_takes_back_an_import_and_the_file_can_be_imported_after(  # type: ignore[no-untyped-def]
    qtbot, held, tmp_path: Path
) -> None:
    a, b, runner, gate = held
    new_case(a, "Шевченко Тарас")
    carried = tmp_path / "to-b.haven"
    a.service.export(["b"], carried, full=False)
    before = vault_digest(b)
    dialog = ImportDialog(b.service, runner)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.path_edit.setText(str(carried))
    qtbot.keyClick(dialog.path_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: runner.idle() and dialog.import_button.isEnabled(), timeout=WAIT_MS)

    runner.run(gate.wait)
    qtbot.keyClick(dialog.import_button, Qt.Key.Key_Return)
    assert dialog.summary.text() == "Importing…"
    qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
    gate.set()
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
    assert dialog.summary.text() == "Stopped: nothing was imported."
    assert vault_digest(b) == before
    assert b.session.search("Шевченко") == []
    assert not dialog.import_button.isEnabled()  # a new check comes first

    qtbot.keyClick(dialog.path_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: runner.idle() and dialog.import_button.isEnabled(), timeout=WAIT_MS)
    qtbot.keyClick(dialog.path_edit, Qt.Key.Key_Return)  # checked: Enter imports
    qtbot.waitUntil(lambda: runner.idle() and "The import is done." in dialog.summary.text(),
                    timeout=WAIT_MS)
    assert len(b.session.search("Шевченко")) == 1
    qtbot.keyClick(dialog.path_edit, Qt.Key.Key_Return)  # done: Enter closes
    assert not dialog.isVisible()
