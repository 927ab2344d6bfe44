"""The site's lists of meeting points and receiving units, edited by a manager."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.i18n import _
from desktop.session import Session
from ui.messages import explain
from ui.tasks import TaskRunner
from ui.widgets import BusyBar, ErrorLabel, focus

KINDS = ("meeting_point", "receiving_unit")


def load_places(session: Session) -> dict[str, list[str]]:
    """Both lists, for a worker thread."""
    return {kind: session.site_places(kind) for kind in KINDS}


class PlacesDialog(QDialog):
    """One name per line in each list; emits `saved(places)` once both are stored."""

    saved = Signal(object)

    def __init__(self, session: Session, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self._session = session
        self._runner = runner
        self.setWindowTitle(_("Site lists"))
        self.resize(640, 420)
        self.meeting_edit = QPlainTextEdit()
        self.meeting_edit.setObjectName("meeting_points")
        self.units_edit = QPlainTextEdit()
        self.units_edit.setObjectName("receiving_units")
        for edit in (self.meeting_edit, self.units_edit):
            edit.setTabChangesFocus(True)
            edit.setEnabled(False)
        # Setting a list narrows the arrange step to it: the manager should know before saving.
        self.hint = QLabel(_(
            "Operators arrange a handoff with these names. While a list is empty they type any"
            " place; once it has names, only a listed one can be chosen."))
        self.hint.setObjectName("places_hint")
        self.hint.setProperty("role", "hint")
        self.hint.setWordWrap(True)
        grid = QGridLayout()
        meeting_label = QLabel(_("&Meeting points (one per line):"))
        meeting_label.setBuddy(self.meeting_edit)
        units_label = QLabel(_("&Receiving units (one per line):"))
        units_label.setBuddy(self.units_edit)
        grid.addWidget(meeting_label, 0, 0)
        grid.addWidget(units_label, 0, 1)
        grid.addWidget(self.meeting_edit, 1, 0)
        grid.addWidget(self.units_edit, 1, 1)
        self.error = ErrorLabel()
        self.busy = BusyBar()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addLayout(grid)
        layout.addWidget(self.error)
        layout.addWidget(self.busy)
        layout.addWidget(self.buttons)
        self.busy.show()
        self._runner.run(lambda: load_places(session), self._loaded, self._failed)

    def _loaded(self, places: dict[str, list[str]]) -> None:
        self.busy.hide()
        self.meeting_edit.setPlainText("\n".join(places["meeting_point"]))
        self.units_edit.setPlainText("\n".join(places["receiving_unit"]))
        for edit in (self.meeting_edit, self.units_edit):
            edit.setEnabled(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(True)
        focus(self.meeting_edit)

    def save(self) -> None:
        places = {
            "meeting_point": _lines(self.meeting_edit.toPlainText()),
            "receiving_unit": _lines(self.units_edit.toPlainText()),
        }
        session = self._session

        def store() -> dict[str, list[str]]:
            for kind, names in places.items():
                session.set_site_places(kind, names)
            return load_places(session)

        self.busy.show()
        self.buttons.setEnabled(False)
        self._runner.run(store, self._stored, self._failed)

    def _stored(self, places: dict[str, list[str]]) -> None:
        self.busy.hide()
        self.buttons.setEnabled(True)
        self.saved.emit(places)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.busy.hide()
        self.buttons.setEnabled(True)
        self.error.show_error(explain(error).text)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]
