"""One case: its persons and details, contact timeline, status history and next steps."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db.records import Case, CodewordAttempt, ContactEntry, Outcome, Status, StatusChange
from desktop.errors import NotFound
from desktop.i18n import _, ngettext
from desktop.permissions import Action
from desktop.printing import (
    ON_THE_SHEET,
    PRINTABLE,
    PrintedSheet,
    preview_handoff_sheet,
    print_handoff_sheet,
)
from desktop.session import Session
from desktop.workflow import Transition, in_asked_order
from ui import labels
from ui.confirm import ConfirmDialog
from ui.conflicts_dialog import group_label
from ui.contact_bar import ContactBar
from ui.handoff_preview import HandoffPreviewDialog, SheetUnreadable, describe_print_failure
from ui.messages import describe_failure
from ui.places import load_places
from ui.style import heading_font, mono_font
from ui.tasks import TaskRunner
from ui.transition_form import TransitionDialog
from ui.widgets import BusyBar, ErrorLabel, plain_label, set_role

PERSON_COLUMNS = ("full_name", "birth_date", "phone", "rank", "unit", "mobilization")
_DETAIL_FIELDS = ("location", "callback", "notes", "group_size", "condition", "meeting_point",
                  "receiving_unit", "window_start", "window_end", "received_by", "outcome",
                  "outcome_notes", "reason", "duplicate_of")




def _history_value(name: str, value: str, references: dict[str, str]) -> str:
    """A field of the status history as the operator reads it (local times, labels, the
    reference of a case it names)."""
    if name == "duplicate_of":
        return references.get(value, value)
    if name in ("window_start", "window_end"):
        try:
            return labels.moment(datetime.fromisoformat(value))
        except ValueError:
            return value
    if name == "outcome":
        try:
            return labels.label(Outcome(value))
        except ValueError:
            return value
    return value


def _window_passed(case: Case) -> bool:
    """Whether an arranged meeting's window has ended with no handoff recorded."""
    return (
        case.status == Status.HANDOFF_ARRANGED
        and case.window_end is not None
        and case.window_end < datetime.now(UTC)
    )


@dataclass(frozen=True, slots=True)
class CaseBundle:
    """Everything the view shows, read in one worker call."""

    case: Case
    contacts: list[ContactEntry]
    history: list[StatusChange]
    attempts: list[CodewordAttempt]
    references: dict[str, str]  # the reference of each case it names (the one it duplicates)
    conflicts: list[str]  # field groups two sites changed without seeing each other


def read_bundle(session: Session, case_id: str, audit_view: bool) -> CaseBundle:
    case = session.get_case(case_id, audit_view=audit_view)
    history = session.status_history(case_id)
    named = {case.duplicate_of, *(change.fields.get("duplicate_of") for change in history)}
    references: dict[str, str] = {}
    for other in filter(None, named):
        with contextlib.suppress(NotFound):  # a case of another site not yet here: its id
            references[other] = session.get_case(other, audit_view=False).ref
    return CaseBundle(case, session.contacts(case_id), history,
                      session.codeword_attempts(case_id), references,
                      session.conflicted_groups(case_id))


class CaseView(QWidget):
    """A tab of the main window; emits `changed(case_id)` after any saved change."""

    changed = Signal(str)
    title_changed = Signal(str)
    loaded = Signal(object)

    def __init__(
        self, session: Session, runner: TaskRunner, case_id: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._runner = runner
        self.case_id = case_id
        self.case: Case | None = None
        self._references: dict[str, str] = {}
        self._dialog: ConfirmDialog | TransitionDialog | None = None
        self._preview: HandoffPreviewDialog | None = None
        self._loading = False
        self._rendering = False
        self._after_step = False  # the next load follows a step: focus what comes next

        self.ref_label = plain_label("…")
        self.ref_label.setObjectName("case_ref")
        self.ref_label.setFont(mono_font(20, bold=True))
        self.ref_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label = plain_label()
        self.status_label.setObjectName("case_status")
        self.status_label.setFont(heading_font(13))
        self.flag_label = plain_label()
        self.flag_label.setObjectName("case_flag")
        self.flag_label.setProperty("role", "warning")
        self.flag_label.setWordWrap(True)
        self.flag_label.hide()
        self.conflict_label = plain_label()
        self.conflict_label.setObjectName("case_conflict")
        self.conflict_label.setProperty("role", "warning")
        self.conflict_label.setWordWrap(True)
        self.conflict_label.hide()
        self.busy = BusyBar()
        self.error = ErrorLabel()

        self.persons_table = QTableWidget(0, len(PERSON_COLUMNS))
        self.persons_table.setObjectName("persons")
        self.persons_table.setHorizontalHeaderLabels(
            [labels.field_label(name) for name in PERSON_COLUMNS]
        )
        self.persons_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.persons_table.verticalHeader().hide()
        rows = self.persons_table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.persons_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.persons_table.horizontalHeader().setStretchLastSection(True)

        self.details = QFormLayout()
        self.detail_labels: dict[str, QLabel] = {}
        for name in _DETAIL_FIELDS:
            value = plain_label()
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.detail_labels[name] = value
            self.details.addRow(labels.field_label(name) + ":", value)

        self.contacts_list = QListWidget()
        self.contacts_list.setObjectName("contacts")
        self.contacts_list.setWordWrap(True)
        self.contact_bar = ContactBar(session, runner)
        self.contact_bar.added.connect(self._contact_added)
        self.add_contact_button = QPushButton(_("Add contact (Ctrl+K)"))
        self.add_contact_button.setAutoDefault(False)
        self.add_contact_button.clicked.connect(self.start_contact)
        self.add_contact_button.setVisible(session.can(Action.WORK_CASE))
        self.history_list = QListWidget()
        self.history_list.setObjectName("history")
        self.history_list.setWordWrap(True)

        self.print_button = QPushButton(_("Print handoff sheet… (Ctrl+P)"))
        self.print_button.setObjectName("print_handoff")
        self.print_button.setAutoDefault(False)
        self.print_button.setShortcut(QKeySequence("Ctrl+P"))
        self.print_button.clicked.connect(self.print_handoff)
        self.print_button.hide()
        self.actions_row = QHBoxLayout()
        self.actions_row.addWidget(self.print_button)
        self.actions_row.addStretch(1)
        self.transition_buttons: dict[Status, QPushButton] = {}

        self._layout(session)
        self.load(audit_view=True)

    def _layout(self, session: Session) -> None:
        header = QHBoxLayout()
        header.addWidget(self.ref_label)
        header.addSpacing(16)
        header.addWidget(self.status_label)
        header.addStretch(1)
        self.persons_box = QGroupBox(_("Persons"))
        QVBoxLayout(self.persons_box).addWidget(self.persons_table)
        details_box = QGroupBox(_("Details"))
        details_box.setLayout(self.details)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        # The persons take the room the details leave: a group of twelve is read at a glance
        # on a laptop screen, where the details are a few lines.
        left_layout.addWidget(self.persons_box, 1)
        left_layout.addWidget(details_box, 0)
        contacts_box = QGroupBox(_("Contacts"))
        contacts_layout = QVBoxLayout(contacts_box)
        contacts_layout.addWidget(self.contacts_list, 1)
        contacts_layout.addWidget(self.contact_bar)
        contacts_layout.addWidget(self.add_contact_button, 0, Qt.AlignmentFlag.AlignLeft)
        history_box = QGroupBox(_("Status history"))
        QVBoxLayout(history_box).addWidget(self.history_list)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(contacts_box, 3)
        right_layout.addWidget(history_box, 2)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.flag_label)
        layout.addWidget(self.conflict_label)
        layout.addWidget(self.busy)
        layout.addWidget(self.error)
        layout.addWidget(splitter, 1)
        layout.addLayout(self.actions_row)

    # --- loading -------------------------------------------------------------------------------

    def load(self, audit_view: bool = False) -> None:
        """Read the case again on a worker thread (the first read is audited as a view)."""
        if self._loading:
            return
        self._loading = True
        self.busy.show()
        session, case_id = self._session, self.case_id
        self._runner.run(
            lambda: read_bundle(session, case_id, audit_view), self._show, self._load_failed
        )

    def _load_failed(self, error: BaseException) -> None:
        self._loading = False
        self.busy.hide()
        self.error.show_error(describe_failure(error))

    def _show(self, bundle: CaseBundle) -> None:
        self._loading = False
        self.busy.hide()
        self.error.clear_error()
        case = bundle.case
        self.case = case
        self.ref_label.setText(case.ref)
        self.status_label.setText(
            _("{kind} · {status}").format(kind=labels.label(case.kind),
                                          status=labels.label(case.status))
        )
        self._show_flag(case, bundle.attempts)
        self._show_conflicts(bundle.conflicts)
        self._show_persons(case)
        self._references = bundle.references
        self._show_details(case, bundle.history)
        self._show_contacts(bundle.contacts)
        self._show_history(bundle.history)
        self._show_transitions(case)
        self._show_print_action(case)
        if self._after_step:
            self._after_step = False
            self.focus_next_action()
        self.title_changed.emit(case.ref)
        self.loaded.emit(case)

    def _show_flag(self, case: Case, attempts: list[CodewordAttempt]) -> None:
        failed = sum(1 for attempt in attempts if not attempt.success)
        if case.flagged:
            self.flag_label.setText(
                _("Flagged as a possible impostor: the codeword failed repeatedly. "
                  "Do not arrange a meeting without the site manager.")
            )
        elif failed and attempts[-1].success:
            # Told apart from failures still standing: the caller did say it in the end.
            self.flag_label.setText(
                ngettext("{count} failed codeword attempt, then the right codeword.",
                         "{count} failed codeword attempts, then the right codeword.",
                         failed).format(count=failed)
            )
        elif failed:
            self.flag_label.setText(
                ngettext("{count} failed codeword attempt.", "{count} failed codeword attempts.",
                         failed).format(count=failed)
            )
        self.flag_label.setVisible(case.flagged or failed > 0)

    def _show_conflicts(self, groups: list[str]) -> None:
        if groups:
            text = _("Changed at two sites without either seeing the other: {fields}. The case"
                     " shows the newest version until a manager keeps one (Transfer →"
                     " Conflicts…).").format(fields=", ".join(map(group_label, groups)))
            if any(group in ON_THE_SHEET for group in groups):
                text += " " + _("No handoff sheet is printed until then.")
            self.conflict_label.setText(text)
        self.conflict_label.setVisible(bool(groups))

    def _show_persons(self, case: Case) -> None:
        self.persons_box.setTitle(_("Persons ({count})").format(count=len(case.persons)))
        self.persons_table.clearSpans()
        self.persons_table.setRowCount(len(case.persons) + sum(1 for p in case.persons if p.notes))
        row = 0
        for person in case.persons:
            values = (person.full_name, labels.birth_date(person.birth_date), person.phone,
                      person.rank, person.unit, labels.label(person.mobilization))
            for column, value in enumerate(values):
                self.persons_table.setItem(row, column, QTableWidgetItem(value or ""))
            row += 1
            if person.notes:
                # Under the person, across the table, as the handoff sheet prints them: a
                # column of their own would sit off a laptop screen's edge.
                features = QTableWidgetItem(_("Features: {features}").format(
                    features=" ".join(person.notes.split())))
                features.setToolTip(person.notes)
                italic = features.font()
                italic.setItalic(True)
                features.setFont(italic)
                # No width asked: the name column is sized to the names, the line elided.
                features.setSizeHint(QSize(1, self.persons_table.verticalHeader()
                                           .defaultSectionSize()))
                self.persons_table.setItem(row, 0, features)
                self.persons_table.setSpan(row, 0, 1, len(values))
                row += 1

    def _show_details(self, case: Case, history: list[StatusChange]) -> None:
        # Who took custody is kept with the step to handed off, not as a field of the case.
        received = next((change.fields.get("received_by") for change in reversed(history)
                         if change.to_status == Status.HANDED_OFF), None)
        for name, value_label in self.detail_labels.items():
            value = received if name == "received_by" else getattr(case, name)
            if name in ("window_start", "window_end"):
                text = labels.moment(value) if value else ""
                late = name == "window_end" and _window_passed(case)
                if late:
                    text = _("{end} — passed: arrange the handoff again").format(end=text)
                set_role(value_label, "warning" if late else None)
            elif name == "outcome":
                text = labels.label(value) if value else ""
            elif name == "duplicate_of":
                text = self._references.get(value, value) if value else ""
            else:
                text = "" if value is None else str(value)
            value_label.setText(text)
            self.details.setRowVisible(value_label, bool(text))

    def _show_contacts(self, contacts: list[ContactEntry]) -> None:
        self.contacts_list.clear()
        for entry in contacts:
            self.contacts_list.addItem(
                _("{at} · {stage} · {channel} · {operator}\n{summary}").format(
                    at=labels.moment(entry.at), stage=labels.label(entry.stage),
                    channel=labels.label(entry.channel), operator=entry.operator,
                    summary=entry.summary,
                )
            )
        self.contacts_list.scrollToBottom()

    def _show_history(self, history: list[StatusChange]) -> None:
        self.history_list.clear()
        for change in history:
            names = in_asked_order(change.to_status, change.fields)
            fields = "; ".join(
                # A resolution names its conflict by an id that means nothing here.
                _("conflict between sites resolved: one version kept") if name == "resolved"
                else f"{labels.field_label(name)}: "
                     f"{_history_value(name, change.fields[name], self._references)}"
                for name in names if name != "codeword"
            )
            line = _("{at} · {status} · {by}").format(
                at=labels.moment(change.at), status=labels.label(change.to_status), by=change.by
            )
            self.history_list.addItem(line + ("\n" + fields if fields else ""))

    def _show_transitions(self, case: Case) -> None:
        for button in self.transition_buttons.values():
            self.actions_row.removeWidget(button)
            button.deleteLater()
        self.transition_buttons.clear()
        for transition in self._session.allowed_transitions(case):
            button = QPushButton(labels.transition_label(transition.target))
            button.setObjectName(f"to_{transition.target.value}")
            button.setAutoDefault(False)
            button.clicked.connect(lambda _checked=False, t=transition: self.take(t))
            self.actions_row.addWidget(button)
            if self.isVisible():
                button.show()  # at once, so its Alt+letter works right away
            self.transition_buttons[transition.target] = button

    def focus_next_action(self) -> None:
        """After a step, the keyboard is where the work goes on: printing the sheet once the
        handoff is arranged, else the case's next step forward, else its history."""
        arranged = self.case is not None and self.case.status == Status.HANDOFF_ARRANGED
        if arranged and self.print_button.isVisibleTo(self) and self.print_button.isEnabled():
            self.print_button.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        forward = (Status.CONFIRMED, Status.HANDOFF_ARRANGED, Status.HANDED_OFF, Status.CLOSED)
        button = next((self.transition_buttons[target] for target in forward
                       if target in self.transition_buttons), None)
        (button or self.history_list).setFocus(Qt.FocusReason.OtherFocusReason)

    # --- acting --------------------------------------------------------------------------------

    def start_contact(self) -> None:
        """Ctrl+K: the one-line contact entry, with the likely stage and channel chosen."""
        if self.case is not None and self._session.can(Action.WORK_CASE):
            self.contact_bar.start(self.case.id, self.case.status, self.case.channel)

    def _contact_added(self, _entry: ContactEntry) -> None:
        self.load()
        self.changed.emit(self.case_id)

    def take(self, transition: Transition) -> None:
        """Open the form of a step; confirming and arranging get their guided dialog."""
        case = self.case
        if case is None or self._dialog is not None:
            return
        if transition.target in (Status.CONFIRMED, Status.HANDOFF_ARRANGED):
            session = self._session
            self.busy.show()
            self._runner.run(
                lambda: load_places(session),
                lambda places: self._open_confirm(case, transition, places),
                self._load_failed,
            )
            return
        dialog = TransitionDialog(self._session, self._runner, case, transition, parent=self)
        dialog.advanced.connect(self._advanced)
        self._open_dialog(dialog)

    def _open_confirm(self, case: Case, transition: Transition, places: dict) -> None:
        self.busy.hide()
        dialog = ConfirmDialog(
            self._session, self._runner, case, places,
            arrange_only=transition.target == Status.HANDOFF_ARRANGED, parent=self,
        )
        dialog.case_changed.connect(self._advanced)
        dialog.attempted.connect(self._codeword_checked)
        self._open_dialog(dialog)

    def _open_dialog(self, dialog: ConfirmDialog | TransitionDialog) -> None:
        self._dialog = dialog
        dialog.finished.connect(self._dialog_closed)
        dialog.open()

    def _dialog_closed(self) -> None:
        if self._dialog is not None:
            self._dialog.deleteLater()
        self._dialog = None

    # --- handoff sheet -------------------------------------------------------------------------

    def _show_print_action(self, case: Case) -> None:
        allowed = self._session.can(Action.PRINT_HANDOFF) and case.status in PRINTABLE
        self.print_button.setVisible(allowed)
        self.print_button.setEnabled(allowed and not self._rendering)

    def print_handoff(self) -> None:
        """Ctrl+P: render the sheet's preview (nothing is registered yet), then show it."""
        case = self.case
        if (case is None or self._rendering or self._preview is not None
                or self._dialog is not None or self.print_button.isHidden()):
            return
        self._rendering = True
        self.print_button.setEnabled(False)
        self.error.clear_error()
        self.busy.show()
        session, case_id = self._session, case.id
        self._runner.run(
            lambda: preview_handoff_sheet(session, case_id),
            lambda sheet: self._sheet_ready(sheet, case_id),
            self._print_failed,
        )

    def _sheet_ready(self, sheet: PrintedSheet, case_id: str) -> None:
        self._rendering = False
        self.busy.hide()
        self.print_button.setEnabled(True)
        ref = self.case.ref if self.case is not None else ""
        session = self._session
        try:
            preview = HandoffPreviewDialog(
                sheet, ref, self._runner,
                lambda put_out: print_handoff_sheet(session, case_id, put_out), parent=self,
            )
        except SheetUnreadable as error:
            self.error.show_error(describe_print_failure(error))
            return
        preview.finished.connect(self._preview_closed)
        self._preview = preview
        if self.isVisible():
            preview.open()
        # else: the desk is locked or another tab is in front; showEvent opens it later.

    def _print_failed(self, error: BaseException) -> None:
        self._rendering = False
        self.busy.hide()
        self.print_button.setEnabled(True)
        self.error.show_error(describe_print_failure(error))

    def _preview_closed(self) -> None:
        if self._preview is not None:
            self._preview.deleteLater()
        self._preview = None

    @property
    def preview(self) -> HandoffPreviewDialog | None:
        """The handoff sheet preview open over this case, if any."""
        return self._preview

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._preview is not None and not self._preview.isVisible():
            self._preview.open()

    @property
    def dialog(self) -> ConfirmDialog | TransitionDialog | None:
        """The step dialog open over this case, if any."""
        return self._dialog

    def _codeword_checked(self) -> None:
        """A failed attempt can flag the case: the tab and the queue show it at once."""
        self.load()
        self.changed.emit(self.case_id)

    def _advanced(self, case: Case) -> None:
        self.case = case
        self._after_step = True
        self.load()
        self.changed.emit(self.case_id)

    def has_unsaved_input(self) -> bool:
        dialog_input = self._dialog is not None and self._dialog.has_unsaved_input()
        return self.contact_bar.has_unsaved_input() or dialog_input
