"""The first-run assistant: create the site and its admin, then show the recovery key once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop import gui_support
from desktop.i18n import _
from desktop.session import Session
from ui.messages import explain
from ui.style import heading_font, mono_font
from ui.tasks import TaskRunner
from ui.widgets import BusyBar, ErrorLabel, FieldErrors, focus, set_default_button

MIN_PASSWORD = 10


class FirstRunDialog(QDialog):
    """Site name, admin account and password (twice); emits `created(session, recovery_key)`."""

    created = Signal(object, str)

    def __init__(
        self, data_dir: Path, runner: TaskRunner, kdf: Any = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._data_dir = data_dir
        self._runner = runner
        self._kdf = kdf
        self._busy = False
        self.setWindowTitle(_("Haven — set up this site"))
        self.setMinimumWidth(480)

        title = QLabel(_("Set up this site"))
        title.setFont(heading_font(16))
        intro = QLabel(
            _("There is no vault in {folder} yet. Name the site and create the first "
              "administrator account.").format(folder=str(data_dir))
        )
        intro.setWordWrap(True)

        self.site_edit = QLineEdit()
        self.admin_edit = QLineEdit()
        self.password_edit = QLineEdit()
        self.repeat_edit = QLineEdit()
        for edit in (self.password_edit, self.repeat_edit):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.general_error = ErrorLabel()
        self.errors = FieldErrors(self.general_error)
        form = QFormLayout()
        rows = (
            ("site_name", _("&Site name:"), self.site_edit),
            ("user", _("&Administrator:"), self.admin_edit),
            ("password", _("&Password:"), self.password_edit),
            ("repeat", _("&Repeat password:"), self.repeat_edit),
        )
        for key, text, edit in rows:
            error = ErrorLabel()
            form.addRow(text, edit)
            form.addRow("", error)
            self.errors.add(key, edit, error)
        hint = QLabel(_("At least {count} characters. The password cannot be recovered; "
                        "only the recovery key shown next can open the vault without it.")
                      .format(count=MIN_PASSWORD))
        hint.setProperty("role", "hint")
        hint.setWordWrap(True)

        self.busy = BusyBar()
        self.buttons = QDialogButtonBox()
        self.create_button = self.buttons.addButton(
            _("&Create site"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.addButton(_("&Quit"), QDialogButtonBox.ButtonRole.RejectRole)
        set_default_button(self.buttons, self.create_button)
        self.buttons.accepted.connect(self.try_create)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.general_error)
        layout.addWidget(self.busy)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        focus(self.site_edit)

    def try_create(self) -> None:
        if self._busy:
            return
        site = self.site_edit.text().strip()
        admin = self.admin_edit.text().strip()
        password = self.password_edit.text()
        if not site:
            self.errors.show("site_name", _("The site needs a name."))
            return
        if not admin:
            self.errors.show("user", _("Enter a user name for the administrator."))
            return
        if len(password) < MIN_PASSWORD:
            self.errors.show("password", _("The password must be at least 10 characters long."))
            return
        if password != self.repeat_edit.text():
            self.repeat_edit.clear()
            self.errors.show("repeat", _("The two passwords differ; type it again."))
            return
        self.errors.clear()
        self._set_busy(True)
        data_dir, kdf = self._data_dir, self._kdf
        self._runner.run(
            lambda: gui_support.create_site(data_dir, site, admin, password, kdf),
            self._created,
            self._failed,
        )

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy.setVisible(busy)
        for widget in (self.site_edit, self.admin_edit, self.password_edit, self.repeat_edit,
                       self.create_button):
            widget.setEnabled(not busy)

    def _created(self, result: tuple[Session, str]) -> None:
        self._set_busy(False)
        session, recovery_key = result
        self.password_edit.clear()
        self.repeat_edit.clear()
        self.created.emit(session, recovery_key)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        problem = explain(error)
        self.errors.show(problem.field, problem.text)


class RecoveryKeyDialog(QDialog):
    """Shows the recovery key once; continuing needs the 'written down' box ticked."""

    def __init__(self, recovery_key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Haven — recovery key"))
        title = QLabel(_("The recovery key of this site"))
        title.setFont(heading_font(16))
        warning = QLabel(
            _("It opens the vault if every password is lost. It is shown only now. "
              "Print it or write it down, and keep it in a safe.")
        )
        warning.setProperty("role", "warning")
        warning.setWordWrap(True)

        self.key_label = QLabel(_group_lines(recovery_key))
        self.key_label.setObjectName("recovery_key")
        self.key_label.setFont(mono_font(20, bold=True))
        self.key_label.setProperty("role", "readout")
        self.key_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.key_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.written = QCheckBox(_("I have &written it down"))
        self.buttons = QDialogButtonBox()
        self.continue_button = self.buttons.addButton(
            _("&Continue"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.continue_button.setEnabled(False)
        self.written.toggled.connect(self.continue_button.setEnabled)
        self.buttons.accepted.connect(self.accept)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(warning)
        layout.addWidget(self.key_label)
        layout.addWidget(self.written)
        layout.addWidget(self.buttons)
        self.written.setFocus()

    def reject(self) -> None:
        """Escape does not skip the key: it must be acknowledged."""
        if self.written.isChecked():
            super().reject()


def _group_lines(key: str, groups_per_line: int = 4) -> str:
    groups = key.split("-")
    lines = [
        "-".join(groups[i : i + groups_per_line]) for i in range(0, len(groups), groups_per_line)
    ]
    return "\n".join(lines)
