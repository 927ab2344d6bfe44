"""The fields of one workflow transition as a form, and the dialog that takes the step.

Which fields a step needs comes from desktop.workflow (Transition.required/.optional);
this module only decides how each field is typed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QDateTime, QEvent, QObject, Qt, QTime, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from db.records import OPEN_STATUSES, Case, Outcome, Status
from desktop.i18n import _, ngettext
from desktop.session import Session
from desktop.workflow import Transition
from ui import labels
from ui.messages import Problem, explain
from ui.tasks import TaskRunner
from ui.widgets import (
    BusyBar,
    ErrorLabel,
    FieldErrors,
    discard_asked,
    focus,
    plain_label,
    set_default_button,
)

PLACE_FIELDS = ("meeting_point", "receiving_unit")
TIME_FIELDS = ("window_start", "window_end")
TIME_FORMAT = "yyyy-MM-dd HH:mm"


def _next_hour(hours_ahead: int) -> QDateTime:
    now = datetime.now().astimezone().replace(minute=0, second=0, microsecond=0)
    return QDateTime(now + timedelta(hours=hours_ahead))


MAX_WINDOW = timedelta(days=1)


class TimeEdit(QDateTimeEdit):
    """A date and time typed from the keyboard: Tab goes on to the next field (not to the
    next part of this one); a field reached from the keyboard (or shown with an error)
    starts at the hour, the part most often changed, so typing 1530 gives 15:30 (and 2400
    midnight at the end of the day); Up and Down step the part at the cursor, Page Up and
    Page Down the day; F4 (or Alt+Down) opens the calendar, where the arrows move the day
    and Enter takes it."""

    def __init__(self, moment: QDateTime, parent: QWidget | None = None) -> None:
        super().__init__(moment, parent)
        self.setCalendarPopup(True)
        self._before_calendar: QDateTime | None = None  # the day when the calendar opened
        self._midnight_zeros = 0  # after 24, the minutes to type: 00 only
        calendar = self.calendarWidget()
        calendar.activated.connect(self._day_picked)
        calendar.clicked.connect(self._day_picked)
        calendar.window().installEventFilter(self)

    def focusNextPrevChild(self, next: bool) -> bool:
        return QWidget.focusNextPrevChild(self, next)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self._midnight_zeros = 0  # a time typed anew
        if event.reason() != Qt.FocusReason.MouseFocusReason:
            self.selectAll()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        self._midnight_zeros = 0
        super().focusOutEvent(event)

    def selectAll(self) -> None:
        self.setSelectedSection(QDateTimeEdit.Section.HourSection)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = Qt.Key(event.key())
        if key == Qt.Key.Key_F4 or (
            key == Qt.Key.Key_Down and event.modifiers() & Qt.KeyboardModifier.AltModifier
        ):
            self.open_calendar()
            return
        if self._past_the_hours(event.text()) or self._after_midnight(event.text()):
            return
        days = {Qt.Key.Key_PageUp: 1, Qt.Key.Key_PageDown: -1}.get(key)
        if days is None:
            super().keyPressEvent(event)
            return
        section = self.currentSection()
        self.setDateTime(self.dateTime().addDays(days))
        self.setSelectedSection(section)

    def _past_the_hours(self, typed: str) -> bool:
        """Typing 24 for the hour means midnight at the end of the day: 00 of the next.

        A higher hour (25 and on) is refused with a beep. Qt would keep the 2 and take the
        next digit for the hour instead, so 2400 became 20:0.
        """
        hour = QDateTimeEdit.Section.HourSection
        if not (len(typed) == 1 and typed in "456789" and self.currentSection() == hour
                and self.sectionText(hour) == "2"):
            return False
        if typed != "4":
            QApplication.beep()
            return True
        self.setDateTime(QDateTime(self.date().addDays(1), QTime(0, 0)))
        self.setSelectedSection(QDateTimeEdit.Section.MinuteSection)
        self._midnight_zeros = 2
        return True

    def _after_midnight(self, typed: str) -> bool:
        """After 24 only 00 may follow (24:30 is no time): another digit is refused with a
        beep; anything but a digit ends the watch."""
        if not self._midnight_zeros:
            return False
        minutes = self.currentSection() == QDateTimeEdit.Section.MinuteSection
        if len(typed) != 1 or not typed.isdigit() or not minutes:
            self._midnight_zeros = 0
            return False
        if typed != "0":
            QApplication.beep()
            return True
        self._midnight_zeros -= 1
        return False

    def open_calendar(self) -> None:
        """The calendar Qt opens on a click of the arrow, under the field, with the focus in
        it: the day picked (Enter, or a click) keeps the time typed; Esc puts back the day
        there was, however the calendar was opened."""
        calendar = self.calendarWidget()
        popup = calendar.window()
        calendar.setSelectedDate(self.date())
        popup.adjustSize()
        place = self.mapToGlobal(self.rect().bottomLeft())
        screen = self.screen().availableGeometry()
        if place.y() + popup.height() > screen.bottom():
            place.setY(self.mapToGlobal(self.rect().topLeft()).y() - popup.height())
        place.setX(max(screen.left(), min(place.x(), screen.right() - popup.width())))
        popup.move(place)
        popup.show()
        calendar.setFocus(Qt.FocusReason.PopupFocusReason)

    def _day_picked(self) -> None:
        self._before_calendar = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show:
            self._before_calendar = self.dateTime()
        elif event.type() == QEvent.Type.Hide:
            # Qt hides the calendar before it says which day was picked: look once it has.
            QTimer.singleShot(0, self._calendar_closed)
        return super().eventFilter(watched, event)

    def _calendar_closed(self) -> None:
        if self._before_calendar is not None:  # closed without a day picked (Esc)
            self.setDateTime(self._before_calendar)
            self._before_calendar = None


class TransitionForm(QWidget):
    """One labelled field per transition field; `values()` gives what advance() takes."""

    def __init__(
        self,
        transition: Transition,
        places: Mapping[str, list[str]] | None = None,
        omit: Iterable[str] = (),
        defaults: Mapping[str, Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.transition = transition
        self.general_error = ErrorLabel()
        self.errors = FieldErrors(self.general_error)
        self.fields: dict[str, QWidget] = {}
        self._required = set(transition.required)
        skipped = set(omit)
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        names = [n for n in (*transition.required, *transition.optional) if n not in skipped]
        for name in names:
            widget = self._make_field(name, (places or {}).get(name, []))
            if defaults and name in defaults:
                self._set_value(widget, defaults[name])
            widget.setObjectName(name)
            caption = QLabel(labels.field_label(name) + (" *" if name in self._required else "")
                             + ":")
            caption.setBuddy(widget)
            error = ErrorLabel()
            layout.addRow(caption, widget)
            layout.addRow("", error)
            self.fields[name] = widget
            self.errors.add(name, widget, error)
            if name == "window_end":
                hint = QLabel(_("Type the hour and minutes (1530); Page Up and Page Down"
                                " change the day; F4 opens the calendar."))
                hint.setObjectName("window_hint")
                hint.setProperty("role", "hint")
                hint.setWordWrap(True)
                layout.addRow("", hint)
        layout.addRow(self.general_error)

    def _make_field(self, name: str, places: list[str]) -> QWidget:
        if name == "group_size":
            spin = QSpinBox()
            spin.setRange(1, 500)
            return spin
        if name in TIME_FIELDS:
            edit = TimeEdit(_next_hour(1 if name == "window_start" else 3))
            edit.setDisplayFormat(TIME_FORMAT)
            return edit
        if name == "outcome":
            combo = QComboBox()
            # Nothing chosen at first: closing a case is final, and Enter must not pick for you.
            combo.addItem(_("Choose the outcome…"), None)
            for outcome in Outcome:
                combo.addItem(labels.label(outcome), outcome.value)
            return combo
        if name in PLACE_FIELDS:
            combo = QComboBox()
            # An empty site list accepts any place; otherwise only a listed one.
            combo.setEditable(not places)
            combo.addItems(places)
            return combo
        return QLineEdit()

    @staticmethod
    def _set_value(widget: QWidget, value: Any) -> None:
        if isinstance(widget, QSpinBox):
            widget.setValue(int(value))
        elif isinstance(widget, QLineEdit):
            widget.setText(str(value))
        elif isinstance(widget, QComboBox):
            index = widget.findText(str(value))
            if index >= 0:
                widget.setCurrentIndex(index)
            elif widget.isEditable():
                widget.setEditText(str(value))
        elif isinstance(widget, QDateTimeEdit) and isinstance(value, datetime):
            widget.setDateTime(QDateTime(value.astimezone()))

    def set_places(self, places: Mapping[str, list[str]]) -> None:
        """New site lists (a manager edited them); keeps the current choice where it remains."""
        for name in PLACE_FIELDS:
            combo = self.fields.get(name)
            if not isinstance(combo, QComboBox) or name not in places:
                continue
            current = combo.currentText()
            combo.clear()
            combo.setEditable(not places[name])
            combo.addItems(places[name])
            self._set_value(combo, current)

    def first_field(self) -> QWidget | None:
        return next(iter(self.fields.values()), None)

    def values(self) -> dict[str, Any]:
        """The typed values; empty optional fields are left out."""
        result: dict[str, Any] = {}
        for name, widget in self.fields.items():
            value: Any
            if isinstance(widget, QSpinBox):
                value = widget.value()
            elif isinstance(widget, QDateTimeEdit):
                # A local wall-clock time with this workstation's UTC offset.
                value = widget.dateTime().toPython().astimezone()
            elif isinstance(widget, QComboBox):
                value = widget.currentData() if name == "outcome" else widget.currentText().strip()
            else:
                value = widget.text().strip() if isinstance(widget, QLineEdit) else ""
            if value not in (None, ""):
                result[name] = value
        return result

    def check_required(self) -> bool:
        """Mark the first empty required field, or a window that has already ended; True
        when all is well."""
        values = self.values()
        for name in self.fields:
            if name in self._required and name not in values:
                self.errors.show(name, _("Required."))
                return False
        start, end = values.get("window_start"), values.get("window_end")
        if isinstance(end, datetime) and end <= datetime.now().astimezone():
            self.errors.show(
                "window_end", _("This time has already passed; check the date and the hour.")
            )
            return False
        if isinstance(start, datetime) and isinstance(end, datetime) and end - start > MAX_WINDOW:
            self.errors.show(
                "window_end", _("The window is longer than a day: check the day of both times.")
            )
            return False
        self.errors.clear()
        return True

    def show_problem(self, problem: Problem) -> None:
        self.errors.show(problem.field if problem.field in self.fields else None, problem.text)

    def set_enabled(self, enabled: bool) -> None:
        for widget in self.fields.values():
            widget.setEnabled(enabled)


class TransitionDialog(QDialog):
    """Takes one workflow step with its fields; emits `advanced(case)` when it is saved."""

    advanced = Signal(object)

    def __init__(
        self,
        session: Session,
        runner: TaskRunner,
        case: Case,
        transition: Transition,
        places: Mapping[str, list[str]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._runner = runner
        self._case = case
        self._busy = False
        self.setWindowTitle(
            _("{step} — case {ref}").format(
                step=labels.plain(labels.transition_label(transition.target)), ref=case.ref
            )
        )
        self.setMinimumWidth(460)
        intro = QLabel(
            _("From “{current}” to “{target}”.").format(
                current=labels.label(case.status), target=labels.label(transition.target)
            )
        )
        intro.setWordWrap(True)
        # Whose case it is, so that a step taken in the wrong tab is seen before it is saved.
        named = case.persons[0].full_name if case.persons else ""
        others = len(case.persons) - 1
        who = plain_label(named if others < 1 else ngettext(
            "{name} and {count} more person", "{name} and {count} more persons", others,
        ).format(name=named, count=others))
        who.setObjectName("step_persons")
        who.setWordWrap(True)
        final = QLabel(_("This step cannot be undone: the case leaves the open cases and takes"
                         " no further step."))
        final.setObjectName("final_warning")
        final.setProperty("role", "warning")
        final.setWordWrap(True)
        final.setVisible(transition.target not in OPEN_STATUSES)
        defaults: dict[str, Any] = {}
        if transition.target == Status.CONFIRMED:
            defaults["group_size"] = len(case.persons)
        self.form = TransitionForm(transition, places, defaults=defaults)
        self.busy = BusyBar()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        set_default_button(
            self.buttons, self.buttons.button(QDialogButtonBox.StandardButton.Save)
        )
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(who)
        layout.addWidget(final)
        layout.addWidget(self.form)
        layout.addWidget(self.busy)
        layout.addWidget(self.buttons)
        first = self.form.first_field()
        if first is not None:
            focus(first)
        self._untouched = self.form.values()

    def has_unsaved_input(self) -> bool:
        return self.isVisible() and self.form.values() != self._untouched

    def reject(self) -> None:
        """Esc, Cancel or closing: with something typed, ask first (Cancel by default)."""
        if self._busy:
            return
        if self.has_unsaved_input() and not discard_asked(
            self, _("Close without saving?"),
            _("This step is not saved. Close and lose what was typed?"),
        ):
            return
        super().reject()

    def save(self) -> None:
        if self._busy or not self.form.check_required():
            return
        values = self.form.values()
        session, case_id, target = self._session, self._case.id, self.form.transition.target
        self._set_busy(True)
        self._runner.run(
            lambda: session.advance(case_id, target, values), self._saved, self._failed
        )

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy.setVisible(busy)
        self.form.set_enabled(not busy)
        self.buttons.setEnabled(not busy)

    def _saved(self, case: Case) -> None:
        self._set_busy(False)
        self.advanced.emit(case)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.form.show_problem(explain(error))
