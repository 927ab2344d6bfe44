"""The one-line contact entry of a case view: Ctrl+K, type what was said, Enter."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from db.records import Channel, ContactEntry, ContactStage, Status
from desktop.i18n import _
from desktop.session import Session
from ui import labels
from ui.messages import explain
from ui.tasks import TaskRunner
from ui.widgets import ErrorLabel, focus

# The stage a new contact most likely belongs to, by the case's status. A registered case's
# callers mostly call again before they reach controlled territory; the call that confirms
# the case is the Confirm step's, whose record is the status history.
DEFAULT_STAGE = {
    Status.REGISTERED: ContactStage.FOLLOW_UP,
    Status.CONFIRMED: ContactStage.HANDOFF,
    Status.HANDOFF_ARRANGED: ContactStage.HANDOFF,
}


class _SummaryEdit(QLineEdit):
    """Escape hides the bar (the text stays for next time)."""

    escaped = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            return
        super().keyPressEvent(event)


class ContactBar(QWidget):
    """Summary, stage and channel of a contact; emits `added(entry)` once it is saved."""

    added = Signal(object)

    def __init__(self, session: Session, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self._session = session
        self._runner = runner
        self._case_id = ""
        self._busy = False
        self.summary_edit = _SummaryEdit()
        self.summary_edit.setObjectName("contact_summary")
        self.summary_edit.setPlaceholderText(_("What was said — Enter saves, Esc hides"))
        self.stage_combo = QComboBox()
        for stage in ContactStage:
            self.stage_combo.addItem(labels.label(stage), stage.value)
        self.channel_combo = QComboBox()
        for channel in Channel:
            self.channel_combo.addItem(labels.label(channel), channel.value)
        self.error = ErrorLabel()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.stage_combo)
        row.addWidget(self.channel_combo)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary_edit)
        layout.addWidget(self.error)
        layout.addLayout(row)
        self.summary_edit.returnPressed.connect(self.save)
        self.summary_edit.escaped.connect(self.hide)
        for combo in (self.stage_combo, self.channel_combo):
            combo.installEventFilter(self)
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter saves and Esc hides from the stage and channel too, as from the text."""
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.save()
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(watched, event)

    def start(self, case_id: str, status: Status, channel: Channel) -> None:
        """Show the bar for a case with the likely stage and the case's channel chosen; a
        summary left from before keeps the stage and channel chosen with it."""
        if not (self.has_unsaved_input() and case_id == self._case_id):
            stage = DEFAULT_STAGE.get(status, ContactStage.FOLLOW_UP)
            self.stage_combo.setCurrentIndex(self.stage_combo.findData(stage.value))
            self.channel_combo.setCurrentIndex(self.channel_combo.findData(channel.value))
        self._case_id = case_id
        self.show()
        focus(self.summary_edit)

    def has_unsaved_input(self) -> bool:
        return bool(self.summary_edit.text().strip())

    def save(self) -> None:
        summary = self.summary_edit.text().strip()
        if self._busy:
            return
        if not summary:
            self.error.show_error(_("Write what was said."))
            focus(self.summary_edit)
            return
        session, case_id = self._session, self._case_id
        channel = Channel(self.channel_combo.currentData())
        stage = ContactStage(self.stage_combo.currentData())
        self._busy = True
        self.summary_edit.setReadOnly(True)
        self._runner.run(
            lambda: session.add_contact(case_id, channel, stage, summary),
            self._saved,
            self._failed,
        )

    def _saved(self, entry: ContactEntry) -> None:
        self._busy = False
        self.summary_edit.setReadOnly(False)
        self.summary_edit.clear()
        self.error.clear_error()
        self.hide()
        self.added.emit(entry)

    def _failed(self, error: BaseException) -> None:
        self._busy = False
        self.summary_edit.setReadOnly(False)
        self.error.show_error(explain(error).text)
        focus(self.summary_edit)
