"""Small widgets the forms share: an error line under a field, and the field registry."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QHideEvent, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDateTimeEdit,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)


def plain_label(text: str = "") -> QLabel:
    """A label for what was typed here or came from another site: shown as the characters
    it holds, never read as HTML (QLabel's default would render "<h1>…" as a heading)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class ErrorLabel(QLabel):
    """A red line under a field; takes no space while there is nothing to say."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)  # messages quote file names and values
        self.setProperty("role", "error")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def sizeHint(self) -> QSize:
        """As tall as the text is at the width the label has, once it has one.

        QLabel's own hint wraps the text at a narrow guess of a width, and a form layout
        gives the row that height: a one-line message then stood in the room of four.
        """
        hint = super().sizeHint()
        if self.width() > 0 and self.text():
            return QSize(hint.width(), self.heightForWidth(self.width()))
        return hint

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.updateGeometry()  # the hint above follows the width

    def show_error(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))
        if text:
            grow_to_fit(self.window())

    def clear_error(self) -> None:
        was_shown = self.isVisible()
        self.clear()
        self.hide()
        if was_shown:
            _shrink_back(self.window())


# A window that grew for messages remembers the height it had before, to go back to it,
# and the height it grew to: one the person has resized since is left as it is.
_HEIGHT_BEFORE = "height_before_errors"
_GROWN_TO = "height_grown_for_errors"


def _needed_height(window: QWidget) -> int | None:
    """The height the window's layout needs at its width; None for a main window, which the
    person sizes (a message in a case tab is not worth the whole screen), or one not shown."""
    layout = window.layout()
    if layout is None or not window.isVisible() or isinstance(window, QMainWindow):
        return None
    layout.activate()
    if layout.hasHeightForWidth():
        return int(layout.totalHeightForWidth(window.width()))
    return int(layout.totalSizeHint().height())


def grow_to_fit(window: QWidget) -> None:
    """Make a dialog tall enough for a wrapped line that just appeared, instead of clipping it.

    Qt sizes top-level windows from size hints that ignore height-for-width, which is
    what a word-wrapped label needs.
    """
    needed = _needed_height(window)
    if needed is not None and needed > window.height():
        if window.property(_HEIGHT_BEFORE) is None:
            window.setProperty(_HEIGHT_BEFORE, window.height())
        window.resize(window.width(), needed)
        window.setProperty(_GROWN_TO, window.height())


def _shrink_back(window: QWidget) -> None:
    """Give back the room a message took once it is gone, down to the height from before."""
    before = window.property(_HEIGHT_BEFORE)
    needed = _needed_height(window)
    if before is None or needed is None:
        return
    if window.property(_GROWN_TO) != window.height():  # resized by hand since
        window.setProperty(_HEIGHT_BEFORE, None)
        return
    height = max(int(before), needed)
    if height < window.height():
        window.resize(window.width(), height)
        window.setProperty(_GROWN_TO, window.height())
    if height <= int(before):
        window.setProperty(_HEIGHT_BEFORE, None)


def discard_asked(parent: QWidget, title: str, question: str) -> bool:
    """Ask before what was typed is thrown away: Discard or Cancel, Cancel by default (an
    Enter pressed out of habit keeps it). True when it may go."""
    answer = QMessageBox.question(
        parent, title, question,
        QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Discard


def fit_to_screen(window: QWidget, width: int, height: int,
                  near: QWidget | None = None) -> None:
    """Size a window to width × height, or smaller where its screen (or that of `near`)
    leaves less room, with space for the window's frame and a panel: on a 1366 × 768
    screen the buttons at its bottom must stay in reach."""
    screen = (near or window).screen().availableGeometry()
    window.resize(min(width, screen.width() - 40), min(height, screen.height() - 80))


def set_role(widget: QWidget, role: str | None) -> None:
    """Give a widget a style role of ui.style (such as "warning"), or take it away."""
    if widget.property("role") != role:
        widget.setProperty("role", role)
        _repolish(widget)


def _repolish(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class FieldErrors:
    """Which error label belongs to which field, so a service error lands next to its field."""

    def __init__(self, fallback: ErrorLabel) -> None:
        self._fields: dict[str, tuple[QWidget, ErrorLabel]] = {}
        self._fallback = fallback

    def add(self, key: str, widget: QWidget, label: ErrorLabel) -> None:
        self._fields[key] = (widget, label)
        self._watch(widget)

    def _watch(self, widget: QWidget) -> None:
        """Editing a field takes its error away: the message has been acted on."""
        if widget.property("errors_watched"):
            return
        widget.setProperty("errors_watched", True)
        if isinstance(widget, QLineEdit):
            widget.textEdited.connect(lambda _text: self.clear_widget(widget))
        elif isinstance(widget, QPlainTextEdit):
            widget.textChanged.connect(lambda: self.clear_widget(widget))
        elif isinstance(widget, QComboBox):
            widget.activated.connect(lambda _index: self.clear_widget(widget))
            if widget.isEditable():
                widget.editTextChanged.connect(lambda _text: self.clear_widget(widget))
        elif isinstance(widget, QSpinBox):
            widget.valueChanged.connect(lambda _value: self.clear_widget(widget))
        elif isinstance(widget, QDateTimeEdit):
            widget.dateTimeChanged.connect(lambda _value: self.clear_widget(widget))

    def clear_widget(self, widget: QWidget) -> None:
        for field, label in self._fields.values():
            if field is widget:
                label.clear_error()
                if field.property("invalid"):
                    field.setProperty("invalid", False)
                    _repolish(field)

    def remove_prefix(self, prefix: str) -> None:
        for key in [key for key in self._fields if key.startswith(prefix)]:
            del self._fields[key]

    def widget(self, key: str) -> QWidget | None:
        entry = self._fields.get(key)
        return entry[0] if entry else None

    def label(self, key: str) -> ErrorLabel | None:
        entry = self._fields.get(key)
        return entry[1] if entry else None

    def show(self, key: str | None, text: str) -> QWidget | None:
        """Put the message next to the field, mark it, focus it; returns the field."""
        return self.show_all([(key, text)])

    def show_all(self, problems: Sequence[tuple[str | None, str]]) -> QWidget | None:
        """Each message next to its field, every such field marked, the first one focused.

        Messages without a field of their own share the general label. Returns the field
        focused, if any.
        """
        self.clear()
        general: list[str] = []
        shown: set[str] = set()
        first: QWidget | None = None
        for key, text in problems:
            entry = self._fields.get(key) if key else None
            if key is None or entry is None:
                general.append(text)
                continue
            if key in shown:
                continue  # a second problem with one field waits for the first to be mended
            shown.add(key)
            widget, label = entry
            label.show_error(text)
            widget.setProperty("invalid", True)
            _repolish(widget)
            first = first or widget
        if general:
            self._fallback.show_error("\n".join(dict.fromkeys(general)))
        if first is not None:
            focus(first)
        return first

    def clear(self) -> None:
        self._fallback.clear_error()
        for widget, label in self._fields.values():
            label.clear_error()
            if widget.property("invalid"):
                widget.setProperty("invalid", False)
                _repolish(widget)


def focus(widget: QWidget) -> None:
    """Move the keyboard focus to a field, selecting its text so it can be retyped at once."""
    widget.setFocus(Qt.FocusReason.OtherFocusReason)
    if isinstance(widget, QLineEdit | QAbstractSpinBox):
        widget.selectAll()
    elif isinstance(widget, QComboBox) and widget.isEditable() and widget.lineEdit():
        widget.lineEdit().selectAll()
    elif isinstance(widget, QPlainTextEdit):
        widget.moveCursor(widget.textCursor().MoveOperation.End)


class TaskStopped(Exception):
    """Raised in a task, at its next report of progress, once the person asked it to stop."""


class TaskProgress:
    """How far a task on a worker thread is, for a BusyBar on the GUI thread to read.

    A plain object, not a QObject: the worker only sets a number, so nothing it does can
    touch a widget that was closed meanwhile. ``stop()`` makes the task's next report raise
    TaskStopped, which a task that works in one transaction unwinds like any failure.
    """

    def __init__(self) -> None:
        self.steps = -1  # not told yet
        self.stopping = False

    def stop(self) -> None:
        self.stopping = True

    def report(self, done: int, total: int) -> None:
        """Called on the worker thread with (done, total)."""
        if self.stopping:
            raise TaskStopped
        self.steps = BusyBar.STEPS * done // total if total > 0 else BusyBar.STEPS


class BusyBar(QProgressBar):
    """A bar shown while a task runs: indeterminate, until the task says how far it is."""

    STEPS = 1000
    POLL_MS = 100

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(0, 0)
        self.setTextVisible(False)
        self.setMaximumHeight(8)
        self.progress = TaskProgress()
        self._poll = QTimer(self)
        self._poll.setInterval(self.POLL_MS)
        self._poll.timeout.connect(self._follow)
        self.hide()

    def start(self) -> TaskProgress:
        """Show the bar busy; the task reports to the TaskProgress returned, read every 100 ms."""
        self.progress = TaskProgress()
        self.setRange(0, 0)
        self.show()
        self._poll.start()
        return self.progress

    def hideEvent(self, event: QHideEvent) -> None:
        self._poll.stop()
        super().hideEvent(event)

    def _follow(self) -> None:
        self.advance(self.progress.steps)

    def advance(self, steps: int) -> None:
        """Show ``steps`` of STEPS done; before the first and after the last, busy."""
        busy = steps < 0 or steps >= self.STEPS
        maximum = 0 if busy else self.STEPS
        if self.maximum() != maximum:  # a range set again would restart the busy animation
            self.setRange(0, maximum)
        if not busy and self.value() != steps:
            self.setValue(steps)


def set_default_button(box: QDialogButtonBox, button: QPushButton | None) -> None:
    """Enter presses `button` wherever the focus is, even after fields were disabled and enabled.

    Without this, a button that took the focus while the form was busy stays the default.
    """
    for each in box.buttons():
        if isinstance(each, QPushButton):
            each.setAutoDefault(False)
    if button is not None:
        button.setDefault(True)


def plain_text(widget: QLineEdit | QPlainTextEdit) -> str:
    return widget.text() if isinstance(widget, QLineEdit) else widget.toPlainText()
