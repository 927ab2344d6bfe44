"""Locking: the idle timer, and the screen that asks for the password again."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop import gui_support
from desktop.i18n import _
from desktop.session import Session
from ui.labels import label
from ui.messages import explain
from ui.style import heading_font
from ui.tasks import TaskRunner
from ui.widgets import BusyBar, ErrorLabel, focus, plain_label

_ACTIVITY = frozenset({
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseMove,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
})


class IdleWatcher(QObject):
    """Emits `idle` after the given minutes without a key press or mouse movement."""

    idle = Signal()

    def __init__(self, minutes: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.idle)
        self.set_minutes(minutes)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def set_minutes(self, minutes: int) -> None:
        self._timer.setInterval(max(1, minutes) * 60_000)
        self._timer.start()

    def set_interval_ms(self, milliseconds: int) -> None:
        """For tests: the same timer, shorter."""
        self._timer.setInterval(milliseconds)
        self._timer.start()

    def pause(self) -> None:
        self._timer.stop()

    def resume(self) -> None:
        self._timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY and self._timer.isActive():
            self._timer.start()
        return False

    def stop(self) -> None:
        self._timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)


class LockKey(QObject):
    """Emits `pressed` for the lock shortcut typed in a modal dialog of the desk.

    The main window's own shortcut does not fire while a dialog (the sheet's preview, a
    confirmation) blocks it; the desk must lock from there all the same.
    """

    pressed = Signal()

    def __init__(self, sequence: QKeySequence, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sequence = sequence
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and QApplication.activeModalWidget() is not None
            and QKeySequence(event.keyCombination()) == self._sequence
        ):
            self.pressed.emit()
            return True
        return False


class LockScreen(QWidget):
    """Shown instead of the desk: nothing of the data, only the password field."""

    unlocked = Signal()

    def __init__(self, session: Session, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self._session = session
        self._runner = runner
        self._busy = False
        title = QLabel(_("Haven is locked"))
        title.setFont(heading_font(18))
        who = plain_label(
            _("Signed in as {user} ({role}). Enter the password to continue.").format(
                user=session.user.name, role=label(session.role)
            )
        )
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("lock_password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText(_("Password"))
        self.password_edit.returnPressed.connect(self.try_unlock)
        self.unlock_button = QPushButton(_("Un&lock"))
        self.unlock_button.clicked.connect(self.try_unlock)
        self.error = ErrorLabel()
        self.error.setObjectName("lock_error")
        self.busy = BusyBar()
        row = QHBoxLayout()
        row.addWidget(self.password_edit, 1)
        row.addWidget(self.unlock_button)
        box = QWidget()
        box.setMinimumWidth(520)
        inner = QVBoxLayout(box)
        inner.addWidget(title)
        inner.addWidget(who)
        inner.addLayout(row)
        inner.addWidget(self.error)
        inner.addWidget(self.busy)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)

    def prepare(self) -> None:
        """Fresh for a new lock: empty field, no old message, cursor in the field."""
        self.password_edit.clear()
        self.error.clear_error()
        self.password_edit.setEnabled(True)
        focus(self.password_edit)

    def try_unlock(self) -> None:
        password = self.password_edit.text()
        if self._busy:
            return
        if not password:
            self.error.show_error(_("Enter your password."))
            focus(self.password_edit)
            return
        self._busy = True
        self.busy.show()
        self.password_edit.setEnabled(False)
        session = self._session
        self._runner.run(
            lambda: gui_support.verify_password(session, password), self._verified, self._failed
        )

    def _verified(self, _result: object) -> None:
        self._busy = False
        self.busy.hide()
        self.password_edit.clear()
        self.password_edit.setEnabled(True)
        self.error.clear_error()
        self.unlocked.emit()

    def _failed(self, error: BaseException) -> None:
        self._busy = False
        self.busy.hide()
        self.password_edit.setEnabled(True)
        self.password_edit.clear()
        self.error.show_error(explain(error).text)
        focus(self.password_edit)
