"""The contact bar: Ctrl+K, what was said, Enter; keyboard only, and nothing cut short."""

from __future__ import annotations

from PySide6.QtCore import Qt

from db.records import CaseKind, Channel, ContactStage, NewCase, Person
from tests.conftest import Site
from tests.ui.conftest import WAIT_MS, focused, type_text
from ui.case_view import CaseView
from ui.main_window import MainWindow
from ui.tasks import TaskRunner

CTRL = Qt.KeyboardModifier.ControlModifier


def _view(site: Site, desk: MainWindow, runner: TaskRunner, qtbot) -> tuple[str, CaseView]:  # type: ignore[no-untyped-def]
    case_id = site.session.register_case(NewCase(
        CaseKind.SURRENDER, Channel.PHONE, (Person(full_name="Бондар Іван"),))).case_id
    view = desk.open_case(case_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    desk.activateWindow()
    qtbot.waitUntil(desk.isActiveWindow)
    return case_id, view


def test_a_summary_too_long_is_refused_whole_not_cut(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    case_id, view = _view(site, desk, runner, qtbot)
    before = len(site.session.contacts(case_id))
    bar = view.contact_bar
    qtbot.keyClick(desk, Qt.Key.Key_K, CTRL)
    qtbot.waitUntil(lambda: focused() is bar.summary_edit)
    bar.summary_edit.setText("ш" * 2500)  # pasted from a messenger chat
    qtbot.keyClick(bar.summary_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: runner.idle() and bar.error.isVisible(), timeout=WAIT_MS)
    assert bar.error.text() == (
        "At most 2000 characters: shorten the summary, or save it as two entries.")
    assert bar.summary_edit.text() == "ш" * 2500
    assert len(site.session.contacts(case_id)) == before


def test_enter_and_esc_work_from_the_stage_and_the_stage_chosen_stays(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    case_id, view = _view(site, desk, runner, qtbot)
    bar = view.contact_bar
    qtbot.keyClick(desk, Qt.Key.Key_K, CTRL)
    qtbot.waitUntil(lambda: focused() is bar.summary_edit)
    type_text(bar.summary_edit, "Передзвонив")
    qtbot.keyClick(bar.summary_edit, Qt.Key.Key_Tab)
    assert focused() is bar.stage_combo
    bar.stage_combo.setCurrentIndex(bar.stage_combo.findData(ContactStage.FOLLOW_UP.value))
    qtbot.keyClick(focused(), Qt.Key.Key_Escape)  # hides the bar; the text stays
    assert not bar.isVisible()
    qtbot.keyClick(desk, Qt.Key.Key_K, CTRL)
    qtbot.waitUntil(lambda: focused() is bar.summary_edit)
    assert bar.summary_edit.text() == "Передзвонив"
    assert bar.stage_combo.currentData() == ContactStage.FOLLOW_UP.value  # as chosen before
    qtbot.keyClick(bar.summary_edit, Qt.Key.Key_Tab)
    qtbot.keyClick(focused(), Qt.Key.Key_Return)  # saves from the stage box
    qtbot.waitUntil(lambda: runner.idle() and not bar.isVisible(), timeout=WAIT_MS)
    entry = site.session.contacts(case_id)[-1]
    assert (entry.summary, entry.stage) == ("Передзвонив", ContactStage.FOLLOW_UP)


def test_a_call_back_before_controlled_territory_is_logged_as_a_follow_up(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    case_id, view = _view(site, desk, runner, qtbot)
    qtbot.keyClick(desk, Qt.Key.Key_K, CTRL)
    qtbot.waitUntil(lambda: focused() is view.contact_bar.summary_edit)
    type_text(focused(), "Передзвонив, ще на окупованій території, група та сама")
    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: runner.idle() and not view.contact_bar.isVisible(), timeout=WAIT_MS)
    entry = site.session.contacts(case_id)[-1]
    assert entry.stage == ContactStage.FOLLOW_UP  # not "confirmation": nothing was confirmed
    qtbot.waitUntil(lambda: view.contacts_list.count() == 2, timeout=WAIT_MS)
    assert " · follow-up · " in view.contacts_list.item(1).text()
