"""Start-up: first-run assistant or unlock dialog, then the desk; rebuilt on a language change."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from desktop import gui_support
from desktop.i18n import _
from desktop.permissions import Action
from desktop.session import Session
from ui import style
from ui.first_run import FirstRunDialog, RecoveryKeyDialog
from ui.language import apply_language
from ui.main_window import MainWindow
from ui.settings import UiSettings
from ui.tasks import TaskRunner
from ui.unlock import UnlockDialog, parse_demo_login


class DeskApp(QObject):
    """Owns the session for the life of the process and the window that shows it."""

    def __init__(
        self,
        data_dir: Path,
        kdf: Any = None,
        demo_login: tuple[str, str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.kdf = kdf  # Argon2id cost for a new site; None means the default
        self.demo_login = demo_login
        self.runner = TaskRunner(self)
        self.settings = UiSettings(data_dir)
        self._rekey_told = False
        self.session: Session | None = None
        self.window: MainWindow | None = None
        self.start_dialog: QDialog | None = None
        apply_language(self.settings.language)

    def start(self) -> None:
        """Show the first-run assistant or the unlock dialog."""
        if gui_support.vault_exists(self.data_dir):
            dialog: QDialog = UnlockDialog(
                self.data_dir,
                _("Vault: {folder}").format(folder=str(self.data_dir)),
                self.runner,
                self.demo_login,
            )
            dialog.unlocked.connect(self.show_desk)
        else:
            dialog = FirstRunDialog(self.data_dir, self.runner, self.kdf)
            dialog.created.connect(self._site_created)
        dialog.rejected.connect(self._quit_before_desk)
        self.start_dialog = dialog
        dialog.show()

    def _site_created(self, session: Session, recovery_key: str) -> None:
        self.session = session
        RecoveryKeyDialog(recovery_key).exec()
        self.show_desk(session)

    def show_desk(self, session: Session) -> None:
        self.session = session
        self.start_dialog = None
        self.window = MainWindow(session, self.runner, self.settings)
        self.window.language_changed.connect(self.switch_language)
        self.window.show()
        if (
            not self._rekey_told
            and session.can(Action.MANAGE_USERS)
            and session.rekey_unfinished
        ):
            self._rekey_told = True  # once a login, not again at a change of language
            window = self.window
            QTimer.singleShot(0, lambda: QMessageBox.warning(
                window,
                _("Re-keying not finished"),
                _("The vault was not re-keyed to the end since an account was disabled: until"
                  " an IT officer or admin runs 'haven-admin site rekey' with the desk closed,"
                  " an old copy of the key may still open it."),
            ))

    def switch_language(self, code: str) -> None:
        """Rebuild the window in the new language, unless that would lose typed input."""
        window = self.window
        if window is None or self.session is None:
            return
        if window.has_unsaved_input():
            # Rebuilding the window would drop the typed input; the setting is kept.
            QMessageBox.information(
                window, _("Language"), _("The new language applies the next time Haven starts.")
            )
            return
        apply_language(code)
        geometry = window.saveGeometry()
        # The cases open in tabs stay open, the one in front in front.
        opened = [view.case_id for view in window.case_views()]
        front = window.current_case()
        window.language_changed.disconnect(self.switch_language)
        window.close_without_asking()
        window.deleteLater()
        self.show_desk(self.session)
        rebuilt = self.window
        if rebuilt is not None:
            rebuilt.restoreGeometry(geometry)
            for case_id in opened:
                rebuilt.open_case(case_id)
            if front is None:
                rebuilt.tabs.setCurrentWidget(rebuilt.queue)
            else:
                rebuilt.open_case(front.case_id)

    def _quit_before_desk(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.quit()

    def shutdown(self) -> None:
        """Let workers finish, then close the vault."""
        self.runner.cancel_all()
        self.runner.wait_for_done()
        if self.session is not None:
            self.session.close()
            self.session = None


def run_app(app: QApplication, data_dir: Path) -> int:
    """The `haven` entry point's body: returns the process exit code."""
    style.install(app)
    app.setQuitOnLastWindowClosed(True)
    desk = DeskApp(data_dir, demo_login=parse_demo_login(os.environ.get("HAVEN_DEMO_LOGIN")))
    desk.start()
    try:
        return int(app.exec())
    finally:
        desk.shutdown()
