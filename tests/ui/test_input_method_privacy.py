"""What is typed at the desk is personal: every field tells the input method (IBus, Fcitx, an
on-screen keyboard) not to keep it in a user dictionary on disk nor to offer it again."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

from db.records import CaseKind, Channel, NewCase, Person
from tests.conftest import Site
from tests.ui.conftest import WAIT_MS
from ui.confirm import ConfirmDialog
from ui.main_window import MainWindow
from ui.tasks import TaskRunner

PRIVATE = Qt.InputMethodHint.ImhSensitiveData | Qt.InputMethodHint.ImhNoPredictiveText


def _fields_on_screen() -> list[QWidget]:
    return [widget for widget in QApplication.allWidgets()
            if isinstance(widget, QLineEdit | QPlainTextEdit | QTextEdit) and widget.isVisible()]


def _hints(widget: QWidget) -> Qt.InputMethodHint:
    # What the input method is told when the field has the focus.
    return Qt.InputMethodHint(int(widget.inputMethodQuery(Qt.InputMethodQuery.ImHints)))


def test_every_field_an_operator_types_in_asks_the_input_method_to_keep_nothing(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    assert _hints(desk.queue.search_edit) & PRIVATE == PRIVATE  # names and phones are searched
    registered = site.session.register_case(NewCase(
        CaseKind.SURRENDER, Channel.PHONE, (Person(full_name="Бондар Іван"),)))
    view = desk.open_case(registered.case_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    view.start_contact()
    intake = desk.new_intake()
    assert intake is not None
    intake.add_person()
    qtbot.waitExposed(intake)
    confirm_step = next(t for t in site.session.allowed_transitions(view.case)
                        if t.target.value == "confirmed")
    view.take(confirm_step)
    qtbot.waitUntil(lambda: isinstance(view.dialog, ConfirmDialog), timeout=WAIT_MS)
    qtbot.waitExposed(view.dialog)

    fields = _fields_on_screen()
    names = {view.contact_bar.summary_edit, intake.notes_edit,
             intake.persons[1].edits["full_name"], view.dialog.codeword_edit}
    assert names <= set(fields)
    remembered = [widget.objectName() or type(widget).__name__ for widget in fields
                  if _hints(widget) & PRIVATE != PRIVATE]
    assert remembered == []
