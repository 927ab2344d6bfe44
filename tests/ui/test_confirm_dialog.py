"""The confirmation dialog: failed codewords show on the case at once, and what was typed
after a correct one is not thrown away by one key."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from db.records import CaseKind, Channel, NewCase, Person, Status
from tests.conftest import Site
from tests.ui.conftest import WAIT_MS, focused, type_text
from ui.case_view import CaseView
from ui.confirm import ARRANGE_PAGE, DETAILS_PAGE, ConfirmDialog
from ui.main_window import MainWindow
from ui.tasks import TaskRunner


def _open_confirm(site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
                  ) -> tuple[str, str, CaseView, ConfirmDialog]:
    result = site.session.register_case(NewCase(
        CaseKind.SURRENDER, Channel.PHONE, (Person(full_name="О'Нілл Іван"),)))
    desk.queue.reload()
    view = desk.open_case(result.case_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    return result.case_id, result.codeword, view, _take(qtbot, view, Status.CONFIRMED)


def _take(qtbot, view: CaseView, target: Status) -> ConfirmDialog:  # type: ignore[no-untyped-def]
    """The case's step to `target` opened, its dialog active."""
    view.transition_buttons[target].click()
    qtbot.waitUntil(lambda: isinstance(view.dialog, ConfirmDialog), timeout=WAIT_MS)
    dialog = view.dialog
    assert isinstance(dialog, ConfirmDialog)
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def _say(qtbot, dialog: ConfirmDialog, runner: TaskRunner, words: str) -> None:  # type: ignore[no-untyped-def]
    dialog.codeword_edit.selectAll()
    type_text(dialog.codeword_edit, words)
    qtbot.keyClick(dialog.codeword_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: runner.idle() and not dialog.busy.isVisible(), timeout=WAIT_MS)


def _confirm_to_arrangement(qtbot, dialog: ConfirmDialog, runner: TaskRunner,  # type: ignore[no-untyped-def]
                            codeword: str) -> None:
    """The right codeword, a location, Ctrl+Enter: on to the arrangement page."""
    _say(qtbot, dialog, runner, codeword)
    type_text(focused(), "Оріхів")
    qtbot.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == ARRANGE_PAGE and runner.idle(),
                    timeout=WAIT_MS)


def test_a_flag_from_failed_codewords_shows_on_the_case_while_the_dialog_is_open(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    case_id, codeword, view, dialog = _open_confirm(site, desk, runner, qtbot)
    for _ in range(3):
        _say(qtbot, dialog, runner, "вовк слон 12")
    assert site.session.get_case(case_id, audit_view=False).flagged
    qtbot.waitUntil(lambda: view.flag_label.isVisibleTo(view) and runner.idle(),
                    timeout=WAIT_MS)
    model = desk.queue.queue_model
    qtbot.waitUntil(lambda: any(
        (row := model.summary(n)) is not None and row.flagged
        for n in range(model.rowCount())), timeout=WAIT_MS)
    # The right codeword after that leads on, with the flag in sight.
    _say(qtbot, dialog, runner, codeword)
    assert dialog.pages.currentIndex() == DETAILS_PAGE
    assert dialog.details_flag.isVisibleTo(dialog)


def _answer_later(button: QMessageBox.StandardButton, seen: list[str]) -> None:
    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, answer)
            return
        seen.append(box.text())
        box.button(button).click()
    QTimer.singleShot(20, answer)


def test_esc_after_a_correct_codeword_asks_before_the_details_are_lost(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    case_id, codeword, view, dialog = _open_confirm(site, desk, runner, qtbot)
    _say(qtbot, dialog, runner, codeword)
    assert dialog.pages.currentIndex() == DETAILS_PAGE
    type_text(focused(), "Оріхів")
    asked: list[str] = []
    _answer_later(QMessageBox.StandardButton.Cancel, asked)
    qtbot.keyClick(focused(), Qt.Key.Key_Escape)
    assert len(asked) == 1
    assert "not confirmed yet" in asked[0]
    assert dialog.isVisible()
    assert dialog.details_form is not None
    assert dialog.details_form.values()["location"] == "Оріхів"
    _answer_later(QMessageBox.StandardButton.Discard, asked)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: view.dialog is None, timeout=WAIT_MS)
    assert site.session.get_case(case_id, audit_view=False).status == Status.REGISTERED


def test_a_new_site_without_lists_is_told_to_type_the_place_and_can_arrange(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    case_id, codeword, view, dialog = _open_confirm(site, desk, runner, qtbot)
    _confirm_to_arrangement(qtbot, dialog, runner, codeword)

    assert not dialog.arrange_error.isVisibleTo(dialog)  # nothing is wrong yet
    assert dialog.places_hint.isVisibleTo(dialog)
    assert dialog.places_hint.text().startswith(
        "This site has no list of meeting points or receiving units yet: type them in.")
    type_text(focused(), "Школа №3")
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    type_text(focused(), "Прикордонна застава 12")
    qtbot.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: view.dialog is None and runner.idle(), timeout=WAIT_MS)
    case = site.session.get_case(case_id, audit_view=False)
    assert (case.status, case.meeting_point, case.receiving_unit) == (
        Status.HANDOFF_ARRANGED, "Школа №3", "Прикордонна застава 12")


def test_esc_on_the_arrangement_as_offered_closes_it_without_a_question(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    site.session.set_site_places("meeting_point", ["Точка «Береза»", "Точка «Дуб»"])
    site.session.set_site_places("receiving_unit", ["Приймальна група 1"])
    case_id, codeword, view, dialog = _open_confirm(site, desk, runner, qtbot)
    _confirm_to_arrangement(qtbot, dialog, runner, codeword)
    # The first listed places and the next hours are offered, nothing typed: Esc is
    # "arrange later", without asking about typed input there is none of.
    asked: list[str] = []

    def answer_if_asked() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            asked.append(box.text())
            box.button(QMessageBox.StandardButton.Cancel).click()

    QTimer.singleShot(0, answer_if_asked)  # once: a question would be open by then
    qtbot.keyClick(focused(), Qt.Key.Key_Escape)
    assert asked == []
    qtbot.waitUntil(lambda: view.dialog is None, timeout=WAIT_MS)
    assert site.session.get_case(case_id, audit_view=False).status == Status.CONFIRMED

    # With another place chosen, Esc asks first.
    again = _take(qtbot, view, Status.HANDOFF_ARRANGED)
    assert again.arrange_form is not None
    assert focused() is again.arrange_form.fields["meeting_point"]
    qtbot.keyClick(focused(), Qt.Key.Key_Down)
    _answer_later(QMessageBox.StandardButton.Cancel, asked)
    qtbot.keyClick(focused(), Qt.Key.Key_Escape)
    assert asked == ["The handoff is not arranged yet. Close and lose what was typed?"]
    assert again.isVisible()


def test_failed_attempts_then_the_right_codeword_read_as_such_on_the_case(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    _case_id, codeword, view, dialog = _open_confirm(site, desk, runner, qtbot)
    for words in ("острів бобер", "остров-бобер-72"):
        _say(qtbot, dialog, runner, words)
    qtbot.waitUntil(lambda: view.flag_label.text() == "2 failed codeword attempts."
                    and runner.idle(), timeout=WAIT_MS)
    _say(qtbot, dialog, runner, codeword)
    assert dialog.pages.currentIndex() == DETAILS_PAGE
    qtbot.waitUntil(lambda: runner.idle() and view.flag_label.text()
                    == "2 failed codeword attempts, then the right codeword.", timeout=WAIT_MS)
    assert view.flag_label.isVisibleTo(view)
