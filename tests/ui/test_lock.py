"""Locking hides every piece of data and needs the password again."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.conftest import Site
from tests.ui.conftest import WAIT_MS, focused, type_text
from tests.ui.test_case_flow import CTRL, open_intake
from ui.main_window import LOCK_PAGE, MainWindow
from ui.tasks import TaskRunner


def _register_one(site: Site) -> str:
    from db.records import CaseKind, Channel, NewCase, Person

    return site.session.register_case(
        NewCase(CaseKind.SURRENDER, Channel.PHONE, (Person(full_name="Бондаренко Юрій"),))
    ).case_id


def test_ctrl_l_hides_the_data_until_the_password_is_given(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    case_id = _register_one(site)
    desk.queue.reload()
    qtbot.waitUntil(lambda: desk.queue.queue_model.rowCount() == 1 and runner.idle())
    view = desk.open_case(case_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    desk.tabs.setCurrentWidget(desk.queue)
    type_text(desk.queue.search_edit, "Бондар")
    qtbot.waitUntil(lambda: desk.queue.search_model.rowCount() == 1, timeout=WAIT_MS)
    intake = open_intake(qtbot, desk)
    type_text(intake.persons[0].edits["full_name"], "half-typed name")

    qtbot.keyClick(focused(), Qt.Key.Key_L, CTRL)  # from the intake dialog
    assert desk.locked
    assert desk.stack.currentIndex() == LOCK_PAGE
    assert not desk.tabs.isVisible()
    assert not intake.isVisible()
    assert desk.queue.queue_model.rowCount() == 0
    assert desk.queue.search_model.rowCount() == 0
    assert desk.queue.search_edit.text() == ""
    assert "Бондаренко" not in desk.windowTitle()
    assert not desk.new_intake_action.isEnabled()
    desk.activateWindow()
    qtbot.waitUntil(desk.isActiveWindow)
    assert focused() is desk.lock_screen.password_edit

    assert not desk.close()  # Ctrl+Q behind the lock: the typed intake keeps Haven open
    assert desk.lock_screen.error.text() == (
        "Haven stays open: unsaved input waits behind the lock. Unlock to save or discard it.")

    type_text(desk.lock_screen.password_edit, "wrong password!")
    qtbot.keyClick(desk.lock_screen.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: desk.lock_screen.error.text() == "Wrong password.", timeout=WAIT_MS)
    assert desk.locked
    assert focused() is desk.lock_screen.password_edit

    type_text(desk.lock_screen.password_edit, site.password)
    qtbot.keyClick(desk.lock_screen.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not desk.locked, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: runner.idle(), timeout=WAIT_MS)
    assert desk.tabs.isVisible()
    assert desk.queue.queue_model.rowCount() == 1
    assert intake.isVisible()
    assert intake.persons[0].edits["full_name"].text() == "half-typed name"
    audit_actions = _audit_actions(site)
    assert "unlock_failed" in audit_actions
    assert "unlocked" in audit_actions


def _audit_actions(site: Site) -> list[str]:
    with site.session.vault.reading() as conn:
        return [row[0] for row in conn.execute("SELECT action FROM audit_log ORDER BY seq")]


def test_idle_time_locks_the_window(desk: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    desk.idle.set_interval_ms(50)
    qtbot.waitUntil(lambda: desk.locked, timeout=WAIT_MS)
    assert desk.stack.currentIndex() == LOCK_PAGE


def test_the_focus_comes_back_where_it_was_after_unlocking(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    desk.tabs.setCurrentWidget(desk.queue)
    desk.activateWindow()
    qtbot.waitUntil(desk.isActiveWindow)
    desk.queue.search_edit.setFocus()
    qtbot.waitUntil(lambda: focused() is desk.queue.search_edit)
    qtbot.keyClick(focused(), Qt.Key.Key_L, CTRL)
    assert desk.locked
    type_text(desk.lock_screen.password_edit, site.password)
    qtbot.keyClick(desk.lock_screen.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not desk.locked and runner.idle(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: focused() is desk.queue.search_edit, timeout=WAIT_MS)


def test_locking_over_a_question_cancels_it_and_the_desk_locks_again_later(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    intake = open_intake(qtbot, desk)
    type_text(intake.persons[0].edits["full_name"], "Мельник Тарас")
    desk.idle.set_interval_ms(300)
    # Esc asks "Discard the intake?"; nobody answers, and the idle lock comes over it.
    qtbot.keyClick(focused(), Qt.Key.Key_Escape)
    assert desk.locked
    assert not intake.isVisible()
    type_text(desk.lock_screen.password_edit, site.password)
    qtbot.keyClick(desk.lock_screen.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not desk.locked and runner.idle(), timeout=WAIT_MS)
    assert intake.isVisible()  # the question counted as "keep it"
    assert intake.persons[0].edits["full_name"].text() == "Мельник Тарас"
    qtbot.waitUntil(lambda: desk.locked, timeout=WAIT_MS)  # idle time locks it again


def test_idle_time_over_a_group_intake_keeps_every_field_and_the_password_goes_in_at_once(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    intake = open_intake(qtbot, desk)
    for number in range(12):
        if number:
            qtbot.keyClick(focused(), Qt.Key.Key_P, CTRL | Qt.KeyboardModifier.ShiftModifier)
        person = intake.persons[number]
        type_text(person.edits["full_name"], f"Особа {number + 1} Пʼятницька-Кос")
        type_text(person.edits["birth_date"], "12.05.1990")
    rank = intake.persons[7].edits["rank"]
    rank.setFocus()
    type_text(rank, "молодший серж")
    desk.idle.set_interval_ms(300)
    qtbot.waitUntil(lambda: desk.locked, timeout=WAIT_MS)
    desk.idle.set_minutes(5)
    assert not intake.isVisible()
    # Back at the desk: the password is typed straight away, with no click first.
    qtbot.waitUntil(lambda: focused() is desk.lock_screen.password_edit, timeout=WAIT_MS)
    type_text(focused(), site.password)
    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not desk.locked and runner.idle(), timeout=WAIT_MS)
    assert intake.isVisible()
    assert [form.edits["full_name"].text() for form in intake.persons] == [
        f"Особа {number + 1} Пʼятницька-Кос" for number in range(12)]
    assert rank.text() == "молодший серж"
    qtbot.waitUntil(lambda: focused() is rank, timeout=WAIT_MS)
