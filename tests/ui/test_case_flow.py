"""A whole case through the real widgets, by keyboard: intake to outcome."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from db.records import Mobilization, Outcome, Status
from tests.conftest import Site
from tests.ui.conftest import WAIT_MS, focused, type_text
from ui.confirm import ARRANGE_PAGE, DETAILS_PAGE, ConfirmDialog
from ui.intake import IntakeDialog
from ui.main_window import MainWindow
from ui.tasks import TaskRunner
from ui.transition_form import TransitionDialog

CTRL = Qt.KeyboardModifier.ControlModifier
ALT = Qt.KeyboardModifier.AltModifier


def press(qtbot, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(focused(), key, modifier)


def type_and_tab(qtbot, text: str) -> None:  # type: ignore[no-untyped-def]
    type_text(focused(), text)
    press(qtbot, Qt.Key.Key_Tab)


def wait_active(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)


def open_intake(qtbot, desk: MainWindow) -> IntakeDialog:  # type: ignore[no-untyped-def]
    qtbot.keyClick(desk, Qt.Key.Key_N, CTRL)
    assert desk.intakes, "Ctrl+N opened no intake"
    intake = desk.intakes[-1]
    wait_active(qtbot, intake)
    return intake


def test_a_case_from_intake_to_outcome_by_keyboard(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    site.session.set_site_places("meeting_point", ["Point Birch", "Point Oak"])
    site.session.set_site_places("receiving_unit", ["Reception 1"])

    # First contact: the intake, keyboard only.
    intake = open_intake(qtbot, desk)
    assert focused() is intake.kind_combo
    press(qtbot, Qt.Key.Key_Tab)
    assert focused() is intake.channel_combo
    press(qtbot, Qt.Key.Key_Tab)
    assert focused() is intake.persons[0].edits["full_name"]
    for text in ("Коваленко Андрій Петрович", "12.05.1990", "+380 67 123 4567", "сержант",
                 "в/ч 11931"):
        type_and_tab(qtbot, text)
    assert focused() is intake.persons[0].mobilization
    press(qtbot, Qt.Key.Key_Up)  # from "unknown" (the default, last) to "contract"
    press(qtbot, Qt.Key.Key_Tab)
    assert focused() is intake.persons[0].edits["notes"]  # features: none told
    press(qtbot, Qt.Key.Key_Tab)
    assert focused() is intake.add_person_button
    press(qtbot, Qt.Key.Key_Tab)
    type_and_tab(qtbot, "Херсонська обл., село")
    type_and_tab(qtbot, "@kovalenko")
    type_text(focused(), "calls at night only")
    with qtbot.waitSignal(intake.registered, timeout=WAIT_MS) as registered:
        press(qtbot, Qt.Key.Key_Return, CTRL)
    result = registered.args[0]
    assert intake.ref_label.text() == result.ref
    assert intake.codeword_label.text() == result.codeword
    assert intake.codeword_label.font().pointSize() >= 24

    # Open the new case from the result page, once the codeword was read out.
    qtbot.keyClick(intake, Qt.Key.Key_R, ALT)
    qtbot.waitUntil(intake.read_check.isChecked)  # a mnemonic clicks after a short delay
    qtbot.keyClick(intake, Qt.Key.Key_O, ALT)
    qtbot.waitUntil(lambda: desk.current_case() is not None)
    view = desk.current_case()
    assert view is not None
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    assert view.ref_label.text() == result.ref
    wait_active(qtbot, desk)

    # Second contact: a wrong codeword, then the right one.
    qtbot.keyClick(desk, Qt.Key.Key_C, ALT)
    qtbot.waitUntil(lambda: isinstance(view.dialog, ConfirmDialog), timeout=WAIT_MS)
    confirm = view.dialog
    assert isinstance(confirm, ConfirmDialog)
    wait_active(qtbot, confirm)
    assert focused() is confirm.codeword_edit
    type_text(confirm.codeword_edit, "wrong words")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(confirm.codeword_error.isVisible, timeout=WAIT_MS)
    assert "does not match" in confirm.codeword_error.text()
    assert "1 failed attempt" in confirm.codeword_error.text()
    assert focused() is confirm.codeword_edit
    assert confirm.codeword_edit.text() == "wrong words"  # kept, selected for retyping
    assert confirm.codeword_edit.selectedText() == "wrong words"
    type_text(confirm.codeword_edit, result.codeword)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: confirm.pages.currentIndex() == DETAILS_PAGE, timeout=WAIT_MS)

    details = confirm.details_form
    assert details is not None
    assert focused() is details.fields["location"]
    type_and_tab(qtbot, "Safe house 3")
    assert focused() is details.fields["group_size"]
    type_and_tab(qtbot, "2")
    assert focused() is details.fields["condition"]
    type_text(focused(), "tired, unhurt")
    press(qtbot, Qt.Key.Key_Return, CTRL)
    qtbot.waitUntil(lambda: confirm.pages.currentIndex() == ARRANGE_PAGE, timeout=WAIT_MS)

    # Arranging: a listed meeting point, the receiving unit, the default window.
    arrange = confirm.arrange_form
    assert arrange is not None
    assert focused() is arrange.fields["meeting_point"]
    hint = arrange.findChild(QLabel, "window_hint")
    assert hint.height() >= hint.heightForWidth(hint.width())  # its two lines, not clipped
    press(qtbot, Qt.Key.Key_Down)
    press(qtbot, Qt.Key.Key_Tab)
    assert focused() is arrange.fields["receiving_unit"]
    press(qtbot, Qt.Key.Key_Return, CTRL)
    # The dialog is deleted once it closes: wait on the view letting go of it.
    qtbot.waitUntil(lambda: view.dialog is None, timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: view.case is not None and view.case.status == Status.HANDOFF_ARRANGED
        and runner.idle(), timeout=WAIT_MS,
    )

    # Handoff, then the outcome (the admin may do both).
    wait_active(qtbot, desk)
    qtbot.waitUntil(lambda: focused() is view.print_button, timeout=WAIT_MS)  # what comes next
    qtbot.keyClick(desk, Qt.Key.Key_H, ALT)
    qtbot.waitUntil(lambda: isinstance(view.dialog, TransitionDialog))
    handoff = view.dialog
    wait_active(qtbot, handoff)
    assert focused() is handoff.form.fields["received_by"]
    type_text(focused(), "Lt. Bondar")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: view.case is not None and view.case.status == Status.HANDED_OFF
        and runner.idle(), timeout=WAIT_MS,
    )
    wait_active(qtbot, desk)
    record_outcome = view.transition_buttons[Status.CLOSED]
    qtbot.waitUntil(lambda: focused() is record_outcome, timeout=WAIT_MS)
    received = view.detail_labels["received_by"]
    assert received.text() == "Lt. Bondar"  # who took custody, among the details
    assert received.isVisibleTo(view)

    wait_active(qtbot, desk)
    qtbot.keyClick(desk, Qt.Key.Key_O, ALT)
    qtbot.waitUntil(lambda: isinstance(view.dialog, TransitionDialog))
    outcome = view.dialog
    wait_active(qtbot, outcome)
    assert focused() is outcome.form.fields["outcome"]
    # Closing is final: an Enter before an outcome is chosen closes nothing.
    press(qtbot, Qt.Key.Key_Return)
    assert outcome.isVisible()
    assert outcome.form.errors.label("outcome").text() == "Required."  # type: ignore[union-attr]
    assert site.session.get_case(result.case_id, audit_view=False).status == Status.HANDED_OFF
    press(qtbot, Qt.Key.Key_Down)
    press(qtbot, Qt.Key.Key_Down)
    press(qtbot, Qt.Key.Key_Tab)
    type_text(focused(), "exchanged in spring")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: view.case is not None and view.case.status == Status.CLOSED and runner.idle(),
        timeout=WAIT_MS,
    )

    # What the vault holds now, read through the session.
    case = site.session.get_case(result.case_id, audit_view=False)
    assert case.status == Status.CLOSED
    assert case.outcome == Outcome.DETENTION
    assert case.outcome_notes == "exchanged in spring"
    assert case.group_size == 2
    assert case.location == "Safe house 3"
    assert case.condition == "tired, unhurt"
    assert case.meeting_point == "Point Oak"
    assert case.receiving_unit == "Reception 1"
    assert case.window_start is not None
    assert case.window_end is not None
    assert case.window_start < case.window_end
    assert case.callback == "@kovalenko"
    person = case.persons[0]
    assert person.full_name == "Коваленко Андрій Петрович"
    assert person.birth_date == "1990-05-12"
    assert person.phone == "+380671234567"
    assert person.mobilization == Mobilization.CONTRACT
    attempts = site.session.codeword_attempts(result.case_id)
    assert [attempt.success for attempt in attempts] == [False, True]
    assert not case.flagged
    history = [change.to_status for change in site.session.status_history(result.case_id)]
    assert history == [Status.REGISTERED, Status.CONFIRMED, Status.HANDOFF_ARRANGED,
                       Status.HANDED_OFF, Status.CLOSED]
    QApplication.processEvents()
