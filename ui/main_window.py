"""The operator's desk: the queue, open cases as tabs, intake, locking and settings."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QWidget,
)

from desktop.i18n import _
from desktop.permissions import Action
from desktop.session import IntakeResult, Session
from desktop.transfer.service import TransferService
from ui import labels
from ui.audit_dialog import AuditDialog
from ui.case_view import CaseView
from ui.conflicts_dialog import ConflictsDialog
from ui.intake import IntakeDialog
from ui.lock import IdleWatcher, LockKey, LockScreen
from ui.messages import describe_failure
from ui.peers_dialog import PeersDialog
from ui.places import PlacesDialog
from ui.queue_panel import QueuePanel
from ui.settings import SettingsDialog, UiSettings
from ui.tasks import TaskRunner
from ui.transfer_dialog import ExportDialog, ImportDialog
from ui.widgets import BusyBar, discard_asked, fit_to_screen, plain_label

DESK_PAGE, LOCK_PAGE = 0, 1
AGE_REFRESH_MS = 60_000


class MainWindow(QMainWindow):
    """Composes the desk's widgets; every service call goes through the session it is given."""

    language_changed = Signal(str)

    def __init__(
        self, session: Session, runner: TaskRunner, settings: UiSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = runner
        self.settings = settings
        self.locked = False
        self._hidden_dialogs: list[QWidget] = []
        self._focus_before: QWidget | None = None  # where the focus was when it locked
        self._force_close = False
        self.intakes: list[IntakeDialog] = []
        self._title = _("Haven — {site}").format(site=session.site.name)
        self.setWindowTitle(self._title)
        fit_to_screen(self, 1280, 800)

        self.queue = QueuePanel(session, runner)
        self.queue.open_case.connect(self.open_case)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("desk_tabs")
        self.tabs.setTabsClosable(True)
        self.tabs.setDocumentMode(True)
        if self.queue.allowed:
            self.tabs.addTab(self.queue, _("Queue"))
        else:
            self.tabs.addTab(_without_cases(session), _("Desk"))
        self.tabs.tabBar().setTabButton(0, self.tabs.tabBar().ButtonPosition.RightSide, None)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.lock_screen = LockScreen(session, runner)
        self.lock_screen.unlocked.connect(self.unlock)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.tabs)
        self.stack.addWidget(self.lock_screen)
        self.setCentralWidget(self.stack)

        self.busy = BusyBar()
        self.busy.setMaximumWidth(120)
        runner.busy_changed.connect(self.busy.setVisible)
        runner.task_failed.connect(self._report_failure)
        self.who = plain_label(
            _("{user} ({role}) · {site}").format(
                user=session.user.name, role=labels.label(session.role), site=session.site.name
            )
        )
        self.statusBar().addPermanentWidget(self.busy)
        self.statusBar().addPermanentWidget(self.who)

        self._create_actions()
        self.idle = IdleWatcher(settings.idle_minutes, self)
        self.idle.idle.connect(self.lock)
        self._ages = QTimer(self)
        self._ages.setInterval(AGE_REFRESH_MS)
        self._ages.timeout.connect(self.queue.queue_model.tick)
        self._ages.timeout.connect(self.queue.search_model.tick)
        self._ages.start()
        self.queue.reload()
        self.queue.focus_search()

    # --- actions -------------------------------------------------------------------------------

    def _action(self, text: str, shortcut: str | None, slot: object, allowed: bool = True
                ) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        action.setVisible(allowed)
        action.setEnabled(allowed)
        self.addAction(action)
        return action

    def _create_actions(self) -> None:
        can = self.session.can
        self.new_intake_action = self._action(
            _("&New intake…"), "Ctrl+N", self.new_intake, can(Action.REGISTER_CASE)
        )
        self.back_to_intake_action = self._action(
            _("&Back to the open intake"), "Ctrl+I", self.back_to_intake,
            can(Action.REGISTER_CASE),
        )
        # Finding cases and closing their tabs are for those who see cases.
        self.find_action = self._action(_("&Find"), "Ctrl+F", self._find, can(Action.VIEW_CASES))
        self.contact_action = self._action(
            _("Add &contact"), "Ctrl+K", self._add_contact, can(Action.WORK_CASE)
        )
        self.close_tab_action = self._action(_("Close &tab"), "Ctrl+W", self._close_current,
                                             can(Action.VIEW_CASES))
        self.lock_action = self._action(_("&Lock"), "Ctrl+L", self.lock)
        # Locking works from any Haven window, the intake dialog included.
        self.lock_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self._lock_key = LockKey(QKeySequence("Ctrl+L"), self)
        self._lock_key.pressed.connect(self.lock)
        self.places_action = self._action(
            _("Meeting points and &receiving units…"), None, self._edit_places,
            can(Action.MANAGE_SITE_LISTS),
        )
        self.settings_action = self._action(_("&Settings…"), None, self._edit_settings)
        self.audit_action = self._action(
            _("&Audit log…"), None, self.show_audit, can(Action.VERIFY_AUDIT))
        self.quit_action = self._action(_("&Quit"), "Ctrl+Q", self.close)
        may_transfer = can(Action.TRANSFER)
        self.export_action = self._action(
            _("&Export transfer file…"), None, self.export_transfer, may_transfer)
        self.import_action = self._action(
            _("&Import transfer file…"), None, self.import_transfer, may_transfer)
        self.peers_action = self._action(_("&Peers and keys…"), None, self.show_peers,
                                         may_transfer)
        # Listing conflicts needs VIEW_CASES as well: an IT officer transfers but never decides.
        self.conflicts_action = self._action(
            _("&Conflicts…"), None, self.show_conflicts,
            can(Action.MANAGE_HANDOFF) and can(Action.VIEW_CASES),
        )
        file_menu = self.menuBar().addMenu(_("&Desk"))
        for action in (self.new_intake_action, self.back_to_intake_action, self.find_action,
                       self.contact_action, self.close_tab_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        site_menu = self.menuBar().addMenu(_("&Site"))
        site_menu.addAction(self.places_action)
        site_menu.addAction(self.settings_action)
        site_menu.addAction(self.audit_action)
        site_menu.addSeparator()
        site_menu.addAction(self.lock_action)
        self.transfer_menu = self.menuBar().addMenu(_("&Transfer"))
        for action in (self.export_action, self.import_action, self.peers_action):
            self.transfer_menu.addAction(action)
        self.transfer_menu.addSeparator()
        self.transfer_menu.addAction(self.conflicts_action)
        # A manager resolves conflicts without transferring: the menu shows what she may use.
        self.transfer_menu.menuAction().setVisible(
            may_transfer or self.conflicts_action.isVisible())
        self._data_actions = [self.new_intake_action, self.back_to_intake_action,
                              self.find_action, self.contact_action,
                              self.close_tab_action, self.places_action, self.settings_action,
                              self.audit_action, self.export_action, self.import_action,
                              self.peers_action, self.conflicts_action]

    # --- cases ---------------------------------------------------------------------------------

    def new_intake(self) -> IntakeDialog | None:
        """Ctrl+N: a new intake beside the queue (searching stays possible during the call)."""
        if self.locked or not self.session.can(Action.REGISTER_CASE):
            return None
        dialog = IntakeDialog(self.session, self.runner, self)
        dialog.registered.connect(self._registered)
        dialog.open_case.connect(self.open_case)
        dialog.find_requested.connect(self._find)
        dialog.finished.connect(lambda _result, d=dialog: self._intake_closed(d))
        self.intakes.append(dialog)
        dialog.show()
        dialog.activateWindow()
        return dialog

    def back_to_intake(self) -> IntakeDialog | None:
        """Ctrl+I: back to the intake still open (the newest), its focus where it was; from
        a case opened beside it, say."""
        if self.locked or not self.intakes:
            return None
        dialog = self.intakes[-1]
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _intake_closed(self, dialog: IntakeDialog) -> None:
        if dialog in self.intakes:
            self.intakes.remove(dialog)
        dialog.deleteLater()

    def _registered(self, _result: IntakeResult) -> None:
        self.queue.reload()

    def case_views(self) -> list[CaseView]:
        return [w for i in range(self.tabs.count())
                if isinstance(w := self.tabs.widget(i), CaseView)]

    def open_case(self, case_id: str) -> CaseView | None:
        """Show the case in its tab, opening one if needed."""
        if self.locked:
            return None
        for view in self.case_views():
            if view.case_id == case_id:
                self.tabs.setCurrentWidget(view)
                return view
        view = CaseView(self.session, self.runner, case_id)
        view.changed.connect(lambda _case_id: self.queue.reload())
        view.title_changed.connect(lambda ref, v=view: self._retitle(v, ref))
        self.tabs.addTab(view, "…")
        self.tabs.setCurrentWidget(view)
        self.raise_()
        self.activateWindow()
        return view

    def _retitle(self, view: CaseView, ref: str) -> None:
        index = self.tabs.indexOf(view)
        if index >= 0:
            self.tabs.setTabText(index, ref)

    def current_case(self) -> CaseView | None:
        widget = self.tabs.currentWidget()
        return widget if isinstance(widget, CaseView) else None

    def _add_contact(self) -> None:
        view = self.current_case()
        if view is not None and not self.locked:
            view.start_contact()

    def _find(self) -> None:
        """Ctrl+F, here or in the intake (which stays open: Ctrl+I goes back to it)."""
        if not self.locked and self.queue.allowed:
            self.raise_()
            self.activateWindow()
            self.tabs.setCurrentWidget(self.queue)
            self.queue.focus_search()

    def close_tab(self, index: int) -> None:
        view = self.tabs.widget(index)
        if not isinstance(view, CaseView):
            return
        if view.has_unsaved_input() and not self._ask_discard():
            return
        self.tabs.removeTab(index)
        view.deleteLater()
        # The keyboard goes on in the tab now shown, not on the tab bar.
        shown = self.tabs.currentWidget()
        if shown is self.queue:
            self.queue.focus_search()
        elif isinstance(shown, CaseView):
            shown.focus_next_action()

    def _close_current(self) -> None:
        self.close_tab(self.tabs.currentIndex())

    # --- site lists and settings ---------------------------------------------------------------

    def _edit_places(self) -> None:
        if not self.locked:
            PlacesDialog(self.session, self.runner, self).open()

    def _edit_settings(self) -> None:
        if self.locked:
            return
        before = self.settings.language
        dialog = SettingsDialog(self.settings, self)
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        self.idle.set_minutes(self.settings.idle_minutes)
        if self.settings.language != before:
            self.language_changed.emit(self.settings.language)

    # --- transfer ------------------------------------------------------------------------------

    def export_transfer(self) -> ExportDialog | None:
        if self.locked:
            return None
        dialog = ExportDialog(TransferService(self.session), self.runner, self)
        dialog.open()
        return dialog

    def import_transfer(self) -> ImportDialog | None:
        if self.locked:
            return None
        dialog = ImportDialog(TransferService(self.session), self.runner, self)
        dialog.imported.connect(lambda _report: self.queue.reload())
        dialog.open()
        return dialog

    def show_peers(self) -> PeersDialog | None:
        if self.locked:
            return None
        dialog = PeersDialog(TransferService(self.session), self.runner, self)
        dialog.open()
        return dialog

    def show_audit(self) -> AuditDialog | None:
        if self.locked:
            return None
        dialog = AuditDialog(self.session, self.runner, self)
        dialog.open()
        return dialog

    def show_conflicts(self) -> ConflictsDialog | None:
        if self.locked:
            return None
        dialog = ConflictsDialog(TransferService(self.session), self.runner, self)
        dialog.finished.connect(lambda _result: self.queue.reload())
        dialog.open()
        return dialog

    # --- locking -------------------------------------------------------------------------------

    def lock(self) -> None:
        """Hide every piece of data until the password is given again."""
        if self.locked:
            return
        self.locked = True
        focused = QApplication.focusWidget()
        self._focus_before = focused if focused is not None and self.isAncestorOf(focused) else None
        self.idle.pause()
        self.queue.clear()
        shown = [
            widget for widget in self.findChildren(QWidget)
            if widget.isWindow() and widget is not self and widget.isVisible()
        ]
        for widget in shown:
            widget.hide()
        # A question (Discard? Remove?) ends when hidden, answered as cancelled, and is gone.
        self._hidden_dialogs = [w for w in shown if not isinstance(w, QMessageBox)]
        for action in self._data_actions:
            action.setEnabled(False)
        self.stack.setCurrentIndex(LOCK_PAGE)
        self.tabs.hide()
        self.setWindowTitle(_("Haven — locked"))
        self.lock_screen.prepare()
        if shown:
            # The window typed in is gone: the password goes to this one, not to nowhere.
            self.raise_()
            self.activateWindow()

    def unlock(self) -> None:
        """The password was right: show the desk again, as it was."""
        if not self.locked:
            return
        self.locked = False
        try:
            can = self.session.can
            allowed = {self.new_intake_action: can(Action.REGISTER_CASE),
                       self.back_to_intake_action: can(Action.REGISTER_CASE),
                       self.contact_action: can(Action.WORK_CASE),
                       self.places_action: can(Action.MANAGE_SITE_LISTS),
                       self.audit_action: can(Action.VERIFY_AUDIT),
                       self.find_action: can(Action.VIEW_CASES),
                       self.close_tab_action: can(Action.VIEW_CASES)}
            allowed |= {action: action.isVisible() for action in (
                self.export_action, self.import_action, self.peers_action, self.conflicts_action)}
            for action in self._data_actions:
                action.setEnabled(allowed.get(action, True))
            self.tabs.show()
            self.stack.setCurrentIndex(DESK_PAGE)
            self.setWindowTitle(self._title)
            self.queue.reload()
            for view in self.case_views():
                view.load()
            for widget in self._hidden_dialogs:
                if shiboken6.isValid(widget):
                    widget.show()
            self._hidden_dialogs = []
            # The focus goes back where it was (the search box, a case's field), if that is there.
            focus, self._focus_before = self._focus_before, None
            if focus is not None and shiboken6.isValid(focus) and focus.isVisible():
                focus.setFocus()
        finally:
            self.idle.resume()  # whatever failed above, idle time locks again

    # --- closing -------------------------------------------------------------------------------

    def has_unsaved_input(self) -> bool:
        return any(d.has_unsaved_input() for d in self.intakes) or any(
            view.has_unsaved_input() for view in self.case_views()
        )

    def _ask_discard(self) -> bool:
        return discard_asked(
            self, _("Unsaved input"), _("Some input is not saved yet. Close and lose it?")
        )

    def close_without_asking(self) -> None:
        """Close even with unsaved input (the language is switched, or the app quits)."""
        self._force_close = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._force_close and self.has_unsaved_input():
            if self.locked:
                # Behind the lock nobody may throw away what was typed: say so.
                self.lock_screen.error.show_error(_(
                    "Haven stays open: unsaved input waits behind the lock. Unlock to save or"
                    " discard it."))
                event.ignore()
                return
            if not self._ask_discard():
                event.ignore()
                return
        self.idle.stop()
        self._ages.stop()
        self.runner.cancel_all()
        for dialog in list(self.intakes):
            dialog.done(0)
        super().closeEvent(event)

    def _report_failure(self, error: BaseException) -> None:
        self.statusBar().showMessage(describe_failure(error), 10_000)


def _without_cases(session: Session) -> QWidget:
    """What a desk without cases offers, in place of the queue."""
    note = QLabel(_(
        "Cases are not part of the {role} role. Transfer files, peers and keys are in the"
        " Transfer menu; the audit log and the settings in the Site menu; accounts and backups"
        " in haven-admin."
    ).format(role=labels.label(session.role)))
    note.setObjectName("no_cases")
    note.setWordWrap(True)
    note.setAlignment(Qt.AlignmentFlag.AlignCenter)
    note.setMargin(40)
    return note
