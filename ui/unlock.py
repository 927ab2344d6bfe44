"""The unlock dialog: user name and password, Argon2id on a worker thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.i18n import _
from desktop.session import Session
from ui.messages import explain
from ui.style import heading_font
from ui.tasks import TaskRunner
from ui.widgets import BusyBar, ErrorLabel, FieldErrors, focus, plain_label, set_default_button


def parse_demo_login(value: str | None) -> tuple[str, str] | None:
    """HAVEN_DEMO_LOGIN="user:password", as `make run` sets it; None when unset or malformed."""
    if not value or ":" not in value:
        return None
    user, password = value.split(":", 1)
    return (user, password) if user else None


class UnlockDialog(QDialog):
    """Asks for the user name and password; emits `unlocked(session)` once the vault opens."""

    unlocked = Signal(object)
    # After this long the status says why an unlock can take a while.
    SLOW_HINT_MS = 5000

    def __init__(
        self,
        data_dir: Path,
        site_label: str,
        runner: TaskRunner,
        demo_login: tuple[str, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._data_dir = data_dir
        self._runner = runner
        self._busy = False
        self.session: Session | None = None
        self.setWindowTitle(_("Haven — unlock"))
        self.setMinimumWidth(480)

        title = QLabel(_("Haven"))
        title.setFont(heading_font(18))
        place = plain_label(site_label)
        place.setProperty("role", "hint")
        place.setWordWrap(True)

        self.user_edit = QLineEdit()
        self.user_edit.setObjectName("user")
        self.user_error = ErrorLabel()
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_error = ErrorLabel()
        self.general_error = ErrorLabel()
        self.errors = FieldErrors(self.general_error)
        self.errors.add("user", self.user_edit, self.user_error)
        self.errors.add("password", self.password_edit, self.password_error)

        form = QFormLayout()
        form.addRow(_("&User name:"), self.user_edit)
        form.addRow("", self.user_error)
        form.addRow(_("&Password:"), self.password_edit)
        form.addRow("", self.password_error)

        self.busy = BusyBar()
        self.status = plain_label()
        self.status.setProperty("role", "hint")
        self.status.setWordWrap(True)
        self._slow = QTimer(self)
        self._slow.setSingleShot(True)
        self._slow.timeout.connect(self._still_unlocking)

        self.buttons = QDialogButtonBox()
        self.unlock_button = self.buttons.addButton(
            _("Un&lock"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.addButton(_("&Quit"), QDialogButtonBox.ButtonRole.RejectRole)
        set_default_button(self.buttons, self.unlock_button)
        self.buttons.accepted.connect(self.try_unlock)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(place)
        if demo_login is not None:
            hint = QLabel(
                _("Demo site. Sign in as “{user}” with the password “{password}”.").format(
                    user=demo_login[0], password=demo_login[1]
                )
            )
            hint.setObjectName("demo_login")
            hint.setProperty("role", "warning")
            hint.setWordWrap(True)
            layout.addWidget(hint)
            self.user_edit.setText(demo_login[0])
        layout.addLayout(form)
        layout.addWidget(self.general_error)
        layout.addWidget(self.busy)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        focus(self.password_edit if self.user_edit.text() else self.user_edit)

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        focus(self.password_edit if self.user_edit.text() else self.user_edit)

    def try_unlock(self) -> None:
        """Check the fields, then open the vault on a worker thread."""
        if self._busy:
            return
        user = self.user_edit.text().strip()
        password = self.password_edit.text()
        if not user:
            self.errors.show("user", _("Enter your user name."))
            return
        if not password:
            self.errors.show("password", _("Enter your password."))
            return
        self.errors.clear()
        self._set_busy(True)
        data_dir = self._data_dir
        self._runner.run(
            lambda: Session.open(data_dir, user, password), self._opened, self._failed
        )

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy.setVisible(busy)
        self.status.setText(_("Unlocking the vault…") if busy else "")
        if busy:
            self._slow.start(self.SLOW_HINT_MS)
        else:
            self._slow.stop()
        for widget in (self.user_edit, self.password_edit, self.unlock_button):
            widget.setEnabled(not busy)

    def _still_unlocking(self) -> None:
        if self._busy:
            self.status.setText(_(
                "Still unlocking. The first unlock after Haven was updated can take a minute"
                " or two on a large vault; the next ones are quick."
            ))

    def _opened(self, session: Session) -> None:
        self._set_busy(False)
        if self.result() == QDialog.DialogCode.Rejected and not self.isVisible():
            session.close()  # the person quit while the key was being derived
            return
        self.session = session
        self.password_edit.clear()
        self.unlocked.emit(session)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        problem = explain(error)
        about_login = problem.field in ("user", "password")
        if about_login:
            self.password_edit.clear()  # else (a full disk, say) the same login works later
        self.errors.show(problem.field if about_login else "password", problem.text)
        if problem.field == "user":
            return
        focus(self.password_edit)
