"""The intake dialog (Ctrl+N): a first contact registered by keyboard during the call."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from db.records import CaseKind, Channel, Person
from desktop.case_json import new_case_problems, parse_new_case
from desktop.i18n import _, ngettext
from desktop.session import DuplicateHint, IntakeResult, Session
from ui import labels
from ui.messages import explain
from ui.person_form import PersonForm
from ui.style import heading_font, mono_font
from ui.tasks import Task, TaskRunner
from ui.widgets import (
    BusyBar,
    ErrorLabel,
    FieldErrors,
    discard_asked,
    fit_to_screen,
    focus,
    plain_label,
)

DUPLICATE_DELAY_MS = 300


def _duplicates_hint() -> str:
    return _("Cases with the same phone, or a similar name and the same birth date, "
             "appear here while you type.") + " " + _(
        "A case the caller names: Ctrl+F finds it in the queue, Ctrl+I comes back here.")


def _reason(reason: str) -> str:
    if reason == "phone":
        return _("same phone")
    if reason == "name and birth date":
        return _("similar name, same birth date")
    return reason


class IntakeDialog(QDialog):
    """Kind, channel, persons, location, callback and notes; then the reference and codeword."""

    registered = Signal(object)  # IntakeResult
    open_case = Signal(str)
    find_requested = Signal()  # Ctrl+F: the desk's search, beside the intake

    def __init__(self, session: Session, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self._session = session
        self._runner = runner
        self._saving = False
        self._duplicate_task: Task | None = None
        self.result_value: IntakeResult | None = None
        self.persons: list[PersonForm] = []
        self.setWindowTitle(_("Haven — new intake"))
        fit_to_screen(self, 1100, 760, near=parent)

        self.pages = QStackedWidget()
        self.pages.addWidget(self._build_form_page())
        self.pages.addWidget(self._build_result_page())
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)

        self._duplicate_timer = QTimer(self)
        self._duplicate_timer.setSingleShot(True)
        self._duplicate_timer.setInterval(DUPLICATE_DELAY_MS)
        self._duplicate_timer.timeout.connect(self._check_duplicates)

        QShortcut(QKeySequence("Ctrl+Shift+P"), self, activated=self.add_person)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.save)
        QShortcut(QKeySequence("Ctrl+Enter"), self, activated=self.save)
        QShortcut(QKeySequence("Ctrl+S"), self, activated=self.save)
        QShortcut(QKeySequence("Ctrl+D"), self, activated=self.go_to_duplicates)
        QShortcut(QKeySequence("Ctrl+F"), self, activated=self.find_requested.emit)
        self.add_person()
        self._dirty = False
        focus(self.kind_combo)

    # --- building ------------------------------------------------------------------------------

    def _build_form_page(self) -> QWidget:
        page = QWidget()
        self.general_error = ErrorLabel()
        self.errors = FieldErrors(self.general_error)

        self.kind_combo = QComboBox()
        for kind in CaseKind:
            self.kind_combo.addItem(labels.label(kind), kind.value)
        self.channel_combo = QComboBox()
        for channel in Channel:
            self.channel_combo.addItem(labels.label(channel), channel.value)
        top = QGridLayout()
        for column, (key, combo) in enumerate(
            (("kind", self.kind_combo), ("channel", self.channel_combo))
        ):
            caption = QLabel(labels.field_label(key) + ":")
            caption.setBuddy(combo)
            error = ErrorLabel()
            top.addWidget(caption, 0, column * 2)
            top.addWidget(combo, 0, column * 2 + 1)
            top.addWidget(error, 1, column * 2 + 1)
            self.errors.add(key, combo, error)
            combo.currentIndexChanged.connect(self._mark_dirty)
        top.setColumnStretch(4, 1)

        self.persons_box = QVBoxLayout()
        self.persons_box.setContentsMargins(0, 0, 0, 0)
        persons_widget = QWidget()
        persons_outer = QVBoxLayout(persons_widget)
        persons_outer.setContentsMargins(0, 0, 0, 0)
        persons_outer.addLayout(self.persons_box)
        self.add_person_button = QPushButton(_("Add person (Ctrl+Shift+P)"))
        self.add_person_button.setAutoDefault(False)
        self.add_person_button.clicked.connect(self.add_person)
        self.persons_error = ErrorLabel()
        self.errors.add("persons", self.add_person_button, self.persons_error)
        add_row = QHBoxLayout()
        add_row.addWidget(self.add_person_button)
        add_row.addWidget(self.persons_error)
        add_row.addStretch(1)
        persons_outer.addLayout(add_row)
        persons_outer.addStretch(1)
        self.persons_scroll = QScrollArea()
        self.persons_scroll.setWidgetResizable(True)
        self.persons_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no Tab stop of its own
        self.persons_scroll.setWidget(persons_widget)

        self.location_edit = QLineEdit()
        self.location_edit.setObjectName("location")
        self.location_edit.setPlaceholderText(_("where the caller is now"))
        self.callback_edit = QLineEdit()
        self.callback_edit.setObjectName("callback")
        self.callback_edit.setPlaceholderText(_("number or messenger handle to call back"))
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setObjectName("notes")
        self.notes_edit.setTabChangesFocus(True)
        self.notes_edit.setFixedHeight(70)
        details = QFormLayout()
        for key, widget in (("location", self.location_edit), ("callback", self.callback_edit),
                            ("notes", self.notes_edit)):
            caption = QLabel(labels.field_label(key) + ":")
            caption.setBuddy(widget)
            error = ErrorLabel()
            details.addRow(caption, widget)
            details.addRow("", error)
            self.errors.add(key, widget, error)
        self.location_edit.textChanged.connect(self._mark_dirty)
        self.callback_edit.textChanged.connect(self._mark_dirty)
        self.notes_edit.textChanged.connect(self._mark_dirty)

        self.busy = BusyBar()
        self.save_button = QPushButton(_("&Save (Ctrl+Enter)"))
        self.save_button.setObjectName("save")
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton(_("Cancel"))
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.cancel_button)

        form = QVBoxLayout()
        title = QLabel(_("New intake"))
        title.setFont(heading_font(15))
        form.addWidget(title)
        form.addLayout(top)
        form.addWidget(self.persons_scroll, 1)
        form.addLayout(details)
        form.addWidget(self.busy)
        form.addWidget(self.general_error)
        form.addLayout(buttons)

        side = QVBoxLayout()
        side_title = QLabel(_("Possible duplicates (Ctrl+D)"))
        side_title.setFont(heading_font(11))
        self.duplicates_list = QListWidget()
        self.duplicates_list.setObjectName("duplicates")
        self.duplicates_list.setWordWrap(True)
        # Out of the Tab chain, so Tab goes on through the form; Ctrl+D reaches it.
        self.duplicates_list.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.duplicates_list.itemActivated.connect(self._open_duplicate)
        self.duplicates_list.installEventFilter(self)
        self._before_duplicates: QWidget | None = None
        self.duplicates_hint = QLabel(_duplicates_hint())
        self.duplicates_hint.setWordWrap(True)
        self.duplicates_hint.setProperty("role", "hint")
        side.addWidget(side_title)
        side.addWidget(self.duplicates_list, 1)
        side.addWidget(self.duplicates_hint)

        row = QHBoxLayout(page)
        row.addLayout(form, 3)
        row.addLayout(side, 1)
        return page

    def _build_result_page(self) -> QWidget:
        page = QWidget()
        title = QLabel(_("Case registered. Read both to the caller:"))
        title.setFont(heading_font(15))
        title.setWordWrap(True)
        self.ref_label = plain_label()
        self.ref_label.setObjectName("result_ref")
        self.codeword_label = plain_label()
        self.codeword_label.setObjectName("result_codeword")
        grid = QGridLayout()
        for row, (caption_text, value) in enumerate(
            ((_("Reference"), self.ref_label), (_("Codeword"), self.codeword_label))
        ):
            caption = QLabel(caption_text)
            caption.setFont(heading_font(14))
            value.setFont(mono_font(34, bold=True))
            value.setProperty("role", "readout")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(caption, row, 0)
            grid.addWidget(value, row, 1)
        grid.setColumnStretch(1, 1)
        reminder = QLabel(
            _("The caller must say the codeword at the next contact. It is shown only now "
              "and cannot be looked up later.")
        )
        reminder.setWordWrap(True)
        reminder.setProperty("role", "warning")
        # Who was saved, so the operator can check it against the caller's group: empty
        # person blocks were left out.
        self.persons_label = plain_label()
        self.persons_label.setObjectName("result_persons")
        self.persons_label.setWordWrap(True)
        # The codeword cannot be shown again: the page stays until the operator says it was
        # read out, so a stray Enter or Esc after saving does not take it away.
        self.read_check = QCheckBox(_("I have &read both to the caller"))
        self.read_check.toggled.connect(self._read_out)
        self.open_button = QPushButton(_("&Open the case"))
        self.open_button.clicked.connect(self._open_registered)
        self.close_button = QPushButton(_("&Close"))
        self.close_button.clicked.connect(self.accept)
        for button in (self.open_button, self.close_button):
            button.setAutoDefault(False)
            button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(page)
        layout.addWidget(title)
        layout.addLayout(grid)
        layout.addWidget(reminder)
        layout.addWidget(self.persons_label)
        layout.addWidget(self.read_check)
        layout.addStretch(1)
        layout.addLayout(buttons)
        return page

    # --- persons -------------------------------------------------------------------------------

    def add_person(self) -> None:
        """Another person of the group; the cursor moves to the new name field."""
        if self.pages.currentIndex() != 0:
            return
        form = PersonForm(self.errors, len(self.persons))
        form.changed.connect(self._mark_dirty)
        form.identity_changed.connect(self._duplicate_timer.start)
        form.remove_requested.connect(self.remove_person)
        self.persons.append(form)
        self.persons_box.addWidget(form)
        form.show()  # now, not on the next event loop pass, so focus can move into it at once
        self._update_persons()
        focus(form.edits["full_name"])
        QTimer.singleShot(0, lambda: self.persons_scroll.ensureWidgetVisible(form))

    def remove_person(self, form: PersonForm) -> None:
        if len(self.persons) <= 1:
            return
        if not form.is_empty():
            answer = QMessageBox.question(
                self, _("Remove person"), _("Remove {name}?").format(
                    name=form.edits["full_name"].text().strip() or form.title()),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,  # Enter keeps what was typed
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        position = self.persons.index(form)
        self.errors.remove_prefix(f"persons[{len(self.persons) - 1}].")
        self.persons.remove(form)
        form.setParent(None)
        form.deleteLater()
        for index, other in enumerate(self.persons):
            other.set_index(index)
        self._update_persons()
        self._duplicate_timer.start()
        focus(self.persons[min(position, len(self.persons) - 1)].edits["full_name"])

    def _update_persons(self) -> None:
        for form in self.persons:
            form.remove_button.setVisible(len(self.persons) > 1)
        chain: list[QWidget] = [self.kind_combo, self.channel_combo]
        for form in self.persons:
            chain += [w for w in form.focus_widgets() if not w.isHidden()]
        chain += [self.add_person_button, self.location_edit, self.callback_edit,
                  self.notes_edit, self.save_button, self.cancel_button]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)
        self._mark_dirty()

    # --- state ---------------------------------------------------------------------------------

    def _mark_dirty(self) -> None:
        self._dirty = True

    def has_unsaved_input(self) -> bool:
        """Typed but not saved, or a codeword not yet read out: closing would lose it."""
        if self.result_value is not None:
            return not self.read_check.isChecked()
        if self.pages.currentIndex() != 0:
            return False
        typed = any(not form.is_empty() for form in self.persons) or any(
            text.strip() for text in (self.location_edit.text(), self.callback_edit.text(),
                                      self.notes_edit.toPlainText())
        )
        return self._dirty and typed

    def raw_case(self) -> dict[str, Any]:
        """The form as case JSON, for desktop.case_json to check."""
        return {
            "kind": self.kind_combo.currentData(),
            "channel": self.channel_combo.currentData(),
            "persons": [form.raw() for form in self.persons],
            "location": self.location_edit.text() or None,
            "callback": self.callback_edit.text() or None,
            "notes": self.notes_edit.toPlainText() or None,
        }

    # --- saving --------------------------------------------------------------------------------

    def save(self) -> None:
        """Check every field, then register the case on a worker thread."""
        if self._saving or self.pages.currentIndex() != 0:
            return
        raw = self.raw_case()
        raw["persons"] = [
            person for person, form in zip(raw["persons"], self.persons, strict=True)
            if not form.is_empty() or len(self.persons) == 1
        ]
        problems = new_case_problems(raw)
        if problems:
            self._show_problems(problems, raw)
            return
        new_case = parse_new_case(raw)
        self.errors.clear()
        self._set_saving(True)
        session = self._session
        self._runner.run(lambda: session.register_case(new_case),
                         lambda result: self._saved(result, new_case.persons), self._save_failed)

    def _show_problems(
        self, errors: Sequence[BaseException], raw: dict[str, Any] | None = None
    ) -> None:
        """Every problem next to its field; the first field on the form gets the focus."""
        shown: list[tuple[str | None, str]] = []
        for error in errors:
            problem = explain(error)
            shown.append((self._field_on_screen(problem.field, raw), problem.text))
        widget = self.errors.show_all(shown)
        if widget is not None:
            self.persons_scroll.ensureWidgetVisible(widget)

    def _field_on_screen(self, field: str | None, raw: dict[str, Any] | None) -> str | None:
        if field and raw is not None and field.startswith("persons["):
            # Empty person blocks were left out; map the index back to the form on screen.
            kept = [i for i, form in enumerate(self.persons)
                    if not form.is_empty() or len(self.persons) == 1]
            position = int(field[len("persons["):field.index("]")])
            if position < len(kept):
                field = f"persons[{kept[position]}]" + field[field.index("]") + 1:]
        if field == "persons" and self.persons:
            field = "persons[0].full_name"
        return field

    def _set_saving(self, saving: bool) -> None:
        self._saving = saving
        self.busy.setVisible(saving)
        self.save_button.setEnabled(not saving)

    def _saved(self, result: IntakeResult, persons: Sequence[Person]) -> None:
        self._set_saving(False)
        self.result_value = result
        self.ref_label.setText(result.ref)
        self.codeword_label.setText(result.codeword)
        self.persons_label.setText(
            ngettext("{count} person registered: {names}", "{count} persons registered: {names}",
                     len(persons)).format(count=len(persons),
                                          names="; ".join(p.full_name for p in persons)))
        self.pages.setCurrentIndex(1)
        self.setWindowTitle(_("Haven — case {ref} registered").format(ref=result.ref))
        self.read_check.setFocus()
        self.registered.emit(result)

    def _save_failed(self, error: BaseException) -> None:
        self._set_saving(False)
        self._show_problems([error])

    # --- duplicates ----------------------------------------------------------------------------

    def _check_duplicates(self) -> None:
        typed = [(form.index, form.loose_person()) for form in self.persons]
        numbers = [index + 1 for index, person in typed if person is not None]
        persons = [person for _index, person in typed if person is not None]
        if self._duplicate_task is not None:
            self._duplicate_task.cancel()
            self._duplicate_task = None
        if not persons:
            self.duplicates_list.clear()
            return
        session = self._session
        self._duplicate_task = self._runner.run(
            lambda: session.possible_duplicates(persons),
            lambda hints: self._show_duplicates(hints, numbers), self._no_duplicates,
        )

    def _show_duplicates(self, hints: list[DuplicateHint], numbers: list[int]) -> None:
        """Each hint with the person of this intake it is like (Person 2), as the form
        numbers them: in a group of twelve the operator must know whom it is about."""
        self._duplicate_task = None
        self.duplicates_list.clear()
        self.duplicates_hint.setText(_duplicates_hint())
        for hint in hints:
            like = ", ".join(_("Person {number}").format(number=numbers[position])
                             for position in hint.persons)
            item = QListWidgetItem(
                _("{persons}: {ref} · {name}\n{status}, {reason}").format(
                    persons=like, ref=hint.ref, name=hint.full_name,
                    status=labels.label(hint.status), reason=_reason(hint.reason),
                )
            )
            item.setData(Qt.ItemDataRole.UserRole, hint.case_id)
            self.duplicates_list.addItem(item)
        if self.duplicates_list.hasFocus() and self.duplicates_list.count():
            self.duplicates_list.setCurrentRow(0)  # refilled under the operator: Enter works

    def _no_duplicates(self, error: BaseException) -> None:
        self._duplicate_task = None
        self.duplicates_list.clear()
        self.duplicates_hint.setText(explain(error).text)

    def go_to_duplicates(self) -> None:
        """Ctrl+D: to the possible duplicates, the first one chosen, so Enter opens it; Esc,
        Tab or Ctrl+D again goes back to the field it came from."""
        if self.pages.currentIndex() != 0:
            return
        if self.duplicates_list.hasFocus():
            self._back_from_duplicates()
            return
        if self.duplicates_list.count() == 0:
            self.duplicates_hint.setText(_("No possible duplicates so far."))
            return
        self._before_duplicates = self.focusWidget()
        if self.duplicates_list.currentRow() < 0:
            self.duplicates_list.setCurrentRow(0)
        self.duplicates_list.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _back_from_duplicates(self) -> None:
        before = self._before_duplicates
        self._before_duplicates = None
        if before is not None and before.isVisible():
            before.setFocus(Qt.FocusReason.ShortcutFocusReason)
        else:
            self.focusNextChild()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """In the duplicates list, Esc and Tab go back to the form (Esc would close it)."""
        if watched is self.duplicates_list and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
                self._back_from_duplicates()
                return True
        return super().eventFilter(watched, event)

    def _open_duplicate(self, item: QListWidgetItem) -> None:
        self.open_case.emit(str(item.data(Qt.ItemDataRole.UserRole)))

    # --- leaving -------------------------------------------------------------------------------

    def _read_out(self, read: bool) -> None:
        for button in (self.open_button, self.close_button):
            button.setEnabled(read)
            button.setAutoDefault(read)  # Enter presses the button that has the focus
        self.close_button.setDefault(read)

    def _open_registered(self) -> None:
        if self.result_value is not None:
            self.open_case.emit(self.result_value.case_id)
        self.accept()

    def confirm_discard(self) -> bool:
        """Ask before typed input is thrown away; True when it may go."""
        if not self.has_unsaved_input():
            return True
        return discard_asked(
            self,
            _("Discard the intake?"),
            _("This intake is not saved. Close it and lose what was typed?"),
        )

    def reject(self) -> None:
        if self.result_value is not None and not self.read_check.isChecked():
            self.read_check.setFocus()
            return
        if self._saving or not self.confirm_discard():
            return
        super().reject()
