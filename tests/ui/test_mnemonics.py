"""Every Alt+letter in a window is one action, in both languages: a letter shared by two
controls only moves the focus between them, and the action never runs."""

from __future__ import annotations

import re

import pytest
from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QMenuBar, QTabBar, QWidget

from desktop.transfer.service import ConflictVersion, ConflictView, TransferService
from tests.conftest import Site
from tests.ui.conftest import WAIT_MS
from ui.add_peer_dialog import AddPeerDialog
from ui.audit_dialog import AuditDialog
from ui.conflicts_dialog import ConflictsDialog, ResolveConflictDialog
from ui.language import apply_language
from ui.main_window import MainWindow
from ui.peers_dialog import PeersDialog
from ui.places import PlacesDialog
from ui.settings import SettingsDialog, UiSettings
from ui.tasks import TaskRunner
from ui.transfer_dialog import ExportDialog, ImportDialog

_MNEMONIC = re.compile(r"&([^&\s])")


def clashes(window: QWidget) -> dict[str, list[str]]:
    """Letters that more than one visible control of the window answers to."""
    found: dict[str, list[str]] = {}

    def add(text: str) -> None:
        match = _MNEMONIC.search(text.replace("&&", ""))
        if match:
            found.setdefault(match.group(1).casefold(), []).append(text)

    for widget in window.findChildren(QWidget):
        if not widget.isVisibleTo(window):
            continue
        labelled = isinstance(widget, QLabel) and widget.buddy() is not None
        if isinstance(widget, QAbstractButton) or labelled:
            add(widget.text())
        elif isinstance(widget, QGroupBox):
            add(widget.title())
        elif isinstance(widget, QMenuBar):
            for action in widget.actions():
                add(action.text())
        elif isinstance(widget, QTabBar):
            for index in range(widget.count()):
                add(widget.tabText(index))
    return {letter: texts for letter, texts in found.items() if len(texts) > 1}


@pytest.mark.parametrize("language", ["en", "uk"])
def test_the_desk_and_a_case_answer_each_letter_once(  # type: ignore[no-untyped-def]
    site: Site, runner: TaskRunner, qtbot, language: str
) -> None:
    from tests.desktop.test_duplicates import register

    apply_language(language)
    case_id = register(site, "Петренко Іван")
    window = MainWindow(site.session, runner, UiSettings(site.data))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
    assert clashes(window) == {}
    window.open_case(case_id)
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
    assert clashes(window) == {}
    window.close_without_asking()


def _conflict() -> ConflictView:
    """A conflict as list_conflicts gives it, for the resolve step's letters."""
    versions = tuple(
        ConflictVersion(f"op-{site}", site, site == "this site", "2026-11-20T08:30:00.000Z",
                        "olena", {"location": place})
        for site, place in (("this site", "КПП-3"), ("south", "КПП-4"), ("west", "КПП-5"))
    )
    return ConflictView("c0ffee", "case", "AB-CDE-FGH", "intake", versions)


@pytest.mark.parametrize("language", ["en", "uk"])
def test_the_dialogs_answer_each_letter_once(  # type: ignore[no-untyped-def]
    site: Site, runner: TaskRunner, qtbot, language: str
) -> None:
    apply_language(language)
    service = TransferService(site.session)
    for dialog in (ExportDialog(service, runner), ImportDialog(service, runner),
                   SettingsDialog(UiSettings(site.data)), AuditDialog(site.session, runner),
                   PeersDialog(service, runner), ConflictsDialog(service, runner),
                   PlacesDialog(site.session, runner), ResolveConflictDialog(_conflict()),
                   AddPeerDialog(service, runner)):
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
        assert clashes(dialog) == {}, type(dialog).__name__
