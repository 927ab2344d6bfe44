"""The peers and audit dialogs by keyboard alone: Tab leaves their tables, and what a cell or
a mouse-only label held can be reached and copied."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from db.vault import parse_time
from tests.desktop.transfer.sites import new_case
from tests.ui.conftest import WAIT_MS
from tests.ui.test_transfer_gui import pair  # noqa: F401 - the fixture: two sites, peers
from ui import labels
from ui.audit_dialog import AuditDialog
from ui.peers_dialog import PeersDialog


def test_peers_dialog_by_keyboard(qtbot, pair) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    a, _b, runner = pair
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


def test_audit_dialog_shows_the_chosen_entry_whole(qtbot, pair) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    a, _b, runner = pair
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
    assert dialog.entries[row].detail == "b #1"
    assert dialog.detail.text() == "Detail: b #1"
    assert dialog.detail.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByKeyboard
    qtbot.keyClick(dialog.table, Qt.Key.Key_Tab)
    assert not dialog.table.hasFocus()
    assert isinstance(dialog.focusWidget(), QLabel | type(dialog.verify_button))

    dialog.table.selectRow(0)  # a row that the next listing has too
    dialog.case_edit.setText(a.session.search("Шевченко")[0].ref)  # one case's entries now
    qtbot.mouseClick(dialog.show_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: runner.idle() and dialog.table.rowCount() == 1, timeout=WAIT_MS)
    chosen = dialog.table.selectionModel().selectedRows()
    shown = dialog.entries[chosen[0].row()].detail if chosen else ""
    assert dialog.detail.text() == (f"Detail: {shown}" if shown else "")  # not the one before
