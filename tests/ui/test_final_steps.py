"""A step that cannot be undone (withdrawn, a duplicate) says so before it is saved, and
names whose case it is: with cases open in several tabs, the wrong one is seen in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from db.records import CaseKind, Channel, NewCase, Person, Status
from tests.conftest import Site
from tests.ui.conftest import WAIT_MS, focused, type_text
from tests.ui.test_case_flow import ALT, wait_active
from ui.case_view import CaseView
from ui.main_window import MainWindow
from ui.tasks import TaskRunner
from ui.transition_form import TransitionDialog


def _withdraw_by_keyboard(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot, persons: tuple[Person, ...]  # type: ignore[no-untyped-def]
) -> tuple[str, CaseView, TransitionDialog]:
    """A new case opened in its tab, and its Withdraw… dialog opened by Alt+W."""
    case_id = site.session.register_case(
        NewCase(kind=CaseKind.SURRENDER, channel=Channel.PHONE, persons=persons)).case_id
    view = desk.open_case(case_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    wait_active(qtbot, desk)
    qtbot.keyClick(desk, Qt.Key.Key_W, ALT)
    qtbot.waitUntil(lambda: isinstance(view.dialog, TransitionDialog), timeout=WAIT_MS)
    dialog = view.dialog
    assert isinstance(dialog, TransitionDialog)
    wait_active(qtbot, dialog)
    return case_id, view, dialog


def test_withdrawing_says_it_is_final_and_whose_case_it_is(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    persons = (Person(full_name="Пʼятницький Ігор Олегович"),
               *(Person(full_name=f"Особа {n}") for n in range(11)))
    case_id, view, dialog = _withdraw_by_keyboard(site, desk, runner, qtbot, persons)
    who = dialog.findChild(QLabel, "step_persons")
    final = dialog.findChild(QLabel, "final_warning")
    assert who is not None
    assert final is not None
    assert who.text() == "Пʼятницький Ігор Олегович and 11 more persons"
    assert final.isVisible()
    assert final.text() == ("This step cannot be undone: the case leaves the open cases and"
                            " takes no further step.")
    # Esc with nothing typed closes it, nothing changed.
    qtbot.keyClick(focused(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: view.dialog is None, timeout=WAIT_MS)
    assert site.session.get_case(case_id, audit_view=False).status == Status.REGISTERED


def test_esc_after_a_reason_was_typed_asks_before_it_is_lost(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    case_id, view, dialog = _withdraw_by_keyboard(site, desk, runner, qtbot,
                                                  (Person(full_name="Бойко Іван"),))
    reason = "на його прохання: група лишається, двоє поранені, зателефонує пізніше"
    type_text(focused(), reason)
    asked: list[str] = []

    def answer(button: QMessageBox.StandardButton) -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        asked.append(box.text())
        assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
        box.button(button).click()

    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Cancel))
    qtbot.keyClick(focused(), Qt.Key.Key_Escape)
    assert asked == ["This step is not saved. Close and lose what was typed?"]
    assert view.dialog is dialog
    assert dialog.isVisible()
    assert dialog.form.values() == {"reason": reason}
    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Discard))
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: view.dialog is None, timeout=WAIT_MS)
    assert site.session.get_case(case_id, audit_view=False).status == Status.REGISTERED


def test_a_step_that_is_not_the_last_gives_no_such_warning(
    site: Site, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    registered = site.session.register_case(NewCase(
        kind=CaseKind.SURRENDER, channel=Channel.PHONE,
        persons=(Person(full_name="Бойко Іван"),)))
    case_id = registered.case_id
    start = datetime.now(UTC) + timedelta(hours=1)
    site.session.advance(case_id, Status.CONFIRMED, {
        "codeword": registered.codeword, "location": "Харків", "group_size": 1})
    site.session.advance(case_id, Status.HANDOFF_ARRANGED, {
        "meeting_point": "Точка 1", "receiving_unit": "Група 1",
        "window_start": start, "window_end": start + timedelta(hours=2)})
    case = site.session.get_case(case_id, audit_view=False)
    transition = next(t for t in site.session.allowed_transitions(case)
                      if t.target == Status.HANDED_OFF)
    dialog = TransitionDialog(site.session, runner, case, transition)
    qtbot.addWidget(dialog)
    dialog.show()
    who = dialog.findChild(QLabel, "step_persons")
    final = dialog.findChild(QLabel, "final_warning")
    assert who is not None
    assert final is not None
    assert who.text() == "Бойко Іван"
    assert not final.isVisible()
