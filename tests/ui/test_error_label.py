"""An error under a field takes the room of its text, no more and no less."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QFormLayout, QLineEdit

from db.records import CaseKind, Channel, NewCase, Person
from tests.conftest import Site
from tests.ui.conftest import WAIT_MS
from ui.main_window import MainWindow
from ui.tasks import TaskRunner
from ui.widgets import ErrorLabel


def test_a_short_message_in_a_form_takes_one_line(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = QDialog()
    qtbot.addWidget(dialog)
    form = QFormLayout(dialog)
    error = ErrorLabel()
    form.addRow("Password:", QLineEdit())
    form.addRow("", error)
    form.addRow("Repeat password:", QLineEdit())
    dialog.resize(480, 10)
    dialog.show()
    qtbot.waitExposed(dialog)

    error.show_error("Wrong user name or password.")
    qtbot.wait(20)
    line = error.fontMetrics().lineSpacing()
    assert error.height() == error.heightForWidth(error.width())
    assert error.height() < 2 * line  # not the room of a text wrapped at a guessed width

    error.show_error("A longer message, which takes more than one line at this width: " * 3)
    qtbot.wait(20)
    assert error.height() == error.heightForWidth(error.width()) >= 2 * line  # all of it


def test_a_message_in_a_case_tab_leaves_the_main_window_its_size(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    case_id = site.session.register_case(NewCase(
        CaseKind.SURRENDER, Channel.PHONE, (Person(full_name="Бондар Іван"),))).case_id
    view = desk.open_case(case_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    desk.resize(1000, 560)
    view.start_contact()
    qtbot.wait(50)
    before = desk.size()
    view.contact_bar.save()  # nothing written: "Write what was said."
    qtbot.waitUntil(lambda: view.contact_bar.error.isVisible())
    qtbot.wait(50)
    assert desk.size() == before
