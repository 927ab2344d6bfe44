"""The peers and audit dialogs by keyboard alone: Tab leaves their tables, and what a cell or
a mouse-only label held can be reached and copied."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from db.vault import parse_time
from tests.desktop.transfer.sites import HavenSite, make_sites, new_case
from tests.ui.conftest import WAIT_MS
from ui import labels
from ui.audit_dialog import AuditDialog
from ui.peers_dialog import PeersDialog
from ui.tasks import TaskRunner


@pytest.fixture
def sites(tmp_path: Path, qapp: QApplication) -> Iterator[tuple[HavenSite, HavenSite,
                                                               TaskRunner]]:
    a, b = make_sites(tmp_path, ["a", "b"])
    tasks = TaskRunner()
    yield a, b, tasks
    tasks.cancel_all()
    tasks.wait_for_done()
    QApplication.processEvents()
    a.close()
    b.close()


def test_peers_dialog_by_keyboard(qtbot, sites) -> None:  # type: ignore[no-untyped-def]
    a, _b, runner = sites
    a.service.revoke_peer("b")
    dialog = PeersDialog(a.service, runner)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1 and runner.idle(), timeout=WAIT_MS)
    [peer] = a.service.list_peers()
    assert peer.revoked_at is not None
    assert dialog.table.item(0, 3).text() == (
        "revoked " + labels.moment(parse_time(peer.revoked_at)))  # local time, as elsewhere
    for key in (dialog.fingerprint, dialog.signing_key, dialog.recipient):
        assert key.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByKeyboard
        assert key.focusPolicy() != Qt.FocusPolicy.NoFocus  # Tab reaches it, Ctrl+C copies

    dialog.activateWindow()
    qtbot.keyClick(dialog, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)  # "&Peers:"
    qtbot.waitUntil(dialog.table.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(dialog.table, Qt.Key.Key_Tab)
    assert not dialog.table.hasFocus()  # on to the buttons, not the next cell


def test_audit_dialog_shows_the_chosen_entry_whole(qtbot, sites) -> None:  # type: ignore[no-untyped-def]
    a, _b, runner = sites
    new_case(a, "Шевченко Тарас")
    a.service.export(["b"], a.data / ".." / "a-b.haven", full=False)
    dialog = AuditDialog(a.session, runner)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: runner.idle() and dialog.table.rowCount() > 0, timeout=WAIT_MS)
    actions = [dialog.table.item(row, 4).text() for row in range(dialog.table.rowCount())]
    row = actions.index("transfer file exported")
    dialog.table.setFocus()
    dialog.table.selectRow(row)
    assert dialog.detail.text() == dialog.entries[row].detail == "b #1"
    assert dialog.detail.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByKeyboard
    qtbot.keyClick(dialog.table, Qt.Key.Key_Tab)
    assert not dialog.table.hasFocus()
    assert isinstance(dialog.focusWidget(), QLabel | type(dialog.verify_button))
