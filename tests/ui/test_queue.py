"""The queue loads page by page, filters by status, and answers the search box as you type."""

from __future__ import annotations

from PySide6.QtCore import Qt

from db.records import OPEN_STATUSES, CaseKind, Channel, NewCase, Person, Status
from desktop.demo import make_demo_cases
from tests.conftest import Site
from tests.ui.conftest import WAIT_MS, focused, type_text
from ui.main_window import MainWindow
from ui.queue_model import PAGE_SIZE, SUMMARY_ROLE
from ui.tasks import TaskRunner

CASES = 450


def test_pages_load_lazily_and_the_filter_and_search_work(
    site: Site, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    make_demo_cases(site.session, CASES, seed=3)
    from ui.settings import UiSettings

    window = MainWindow(site.session, runner, UiSettings(site.data))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    queue = window.queue
    model = queue.queue_model
    qtbot.waitUntil(lambda: model.rowCount() > 0 and runner.idle(), timeout=WAIT_MS)

    # Only what the view needs: one page, not every case.
    assert model.rowCount() == PAGE_SIZE
    assert model.canFetchMore()
    open_count = site.session.count_cases(OPEN_STATUSES)
    assert queue.count_label.text() == f"{open_count} cases"
    statuses = {model.index(r, 0).data(SUMMARY_ROLE).status for r in range(model.rowCount())}
    assert statuses <= OPEN_STATUSES

    queue.table.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() > PAGE_SIZE and runner.idle(), timeout=WAIT_MS)

    # "All cases" starts again from the first page.
    queue.filter_combo.setCurrentIndex(queue.filter_combo.findData("all"))
    qtbot.waitUntil(lambda: runner.idle() and model.rowCount() >= PAGE_SIZE, timeout=WAIT_MS)
    assert model.rowCount() < CASES  # pages, never the whole vault
    assert queue.count_label.text() == f"{CASES} cases"
    queue.filter_combo.setCurrentIndex(queue.filter_combo.findData(Status.CLOSED.value))
    qtbot.waitUntil(lambda: runner.idle(), timeout=WAIT_MS)
    assert all(model.index(r, 2).data() == "closed" for r in range(model.rowCount()))

    # Search as you type: a reference finds its case; Enter opens it.
    wanted = model.index(0, 0).data(SUMMARY_ROLE)
    with qtbot.waitSignal(queue.search_finished, timeout=WAIT_MS):
        type_text(queue.search_edit, wanted.ref)
    assert queue.table.model() is queue.search_model
    refs = [queue.search_model.index(r, 0).data(SUMMARY_ROLE).ref
            for r in range(queue.search_model.rowCount())]
    assert wanted.ref in refs
    queue.table.selectRow(refs.index(wanted.ref))
    queue.table.setFocus()
    qtbot.keyClick(queue.table, Qt.Key.Key_Return)
    view = window.current_case()
    assert view is not None
    assert view.case_id == wanted.id
    qtbot.waitUntil(lambda: runner.idle(), timeout=WAIT_MS)

    # Clearing the search shows the queue again.
    queue.search_edit.clear()
    assert queue.table.model() is model
    window.close_without_asking()


def test_a_name_in_another_script_finds_the_person(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    from db.records import CaseKind, Channel, NewCase, Person

    site.session.register_case(NewCase(CaseKind.SURRENDER, Channel.PHONE,
                                       (Person(full_name="Іванов Петро"),)))
    queue = desk.queue
    with qtbot.waitSignal(queue.search_finished, timeout=WAIT_MS):
        type_text(queue.search_edit, "Ivanov")
    assert queue.search_model.rowCount() == 1
    assert queue.search_model.index(0, 1).data() == "Іванов Петро"


def test_the_keyboard_goes_from_the_search_to_the_results_and_back(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    from db.records import CaseKind, Channel, NewCase, Person

    for name in ("Іванов Петро", "Іванова Олена"):
        site.session.register_case(NewCase(CaseKind.SURRENDER, Channel.PHONE,
                                           (Person(full_name=name),)))
    queue = desk.queue
    queue.focus_search()
    with qtbot.waitSignal(queue.search_finished, timeout=WAIT_MS):
        type_text(queue.search_edit, "Іванов")
    qtbot.keyClick(queue.search_edit, Qt.Key.Key_Down)  # into the results, first row
    assert queue.table.hasFocus()
    assert queue.table.currentIndex().row() == 0
    qtbot.keyClick(queue.table, Qt.Key.Key_Down)
    assert queue.table.currentIndex().row() == 1
    # Up past the first row, or Esc, goes back to the end of the search: typing refines it.
    for keys in ((Qt.Key.Key_Up, Qt.Key.Key_Up), (Qt.Key.Key_Escape,)):
        for key in keys:
            qtbot.keyClick(queue.table, key)
        assert queue.search_edit.hasFocus()
        assert queue.search_edit.selectedText() == ""
        assert queue.search_edit.cursorPosition() == len("Іванов")
        qtbot.keyClick(queue.search_edit, Qt.Key.Key_Down)
        assert queue.table.hasFocus()
    qtbot.keyClick(queue.table, Qt.Key.Key_Tab)  # Tab leaves the table
    assert not queue.table.hasFocus()
    queue.focus_search()
    qtbot.keyClick(queue.search_edit, Qt.Key.Key_Escape)  # empties the box: the queue again
    assert queue.search_edit.text() == ""
    assert queue.table.model() is queue.queue_model


def test_down_right_after_typing_goes_to_the_new_results_not_the_last_ones(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    for name in ("Ткачук Ігор", "Бондар Олег"):
        site.session.register_case(
            NewCase(CaseKind.SURRENDER, Channel.PHONE, (Person(full_name=name),)))
    queue = desk.queue
    desk.activateWindow()
    qtbot.waitUntil(desk.isActiveWindow)
    type_text(queue.search_edit, "Ткачук")
    qtbot.waitUntil(lambda: runner.idle() and queue.search_model.rowCount() == 1,
                    timeout=WAIT_MS)
    qtbot.keyClick(desk, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    type_text(focused(), "Бондар")
    qtbot.keyClick(focused(), Qt.Key.Key_Down)  # before the search of "Бондар" has run
    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: (view := desk.current_case()) is not None
                    and view.case is not None, timeout=WAIT_MS)
    view = desk.current_case()
    assert view is not None
    assert view.case is not None
    assert view.case.persons[0].full_name == "Бондар Олег"


def test_closing_a_case_tab_puts_the_keyboard_back_in_the_search(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    case_id = site.session.register_case(
        NewCase(CaseKind.SURRENDER, Channel.PHONE, (Person(full_name="Ткачук Ігор"),))).case_id
    view = desk.open_case(case_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    desk.activateWindow()
    qtbot.waitUntil(desk.isActiveWindow)
    qtbot.keyClick(desk, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: desk.current_case() is None)
    assert focused() is desk.queue.search_edit


def test_a_new_sites_empty_queue_says_how_to_take_the_first_call(
    desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    queue = desk.queue
    qtbot.waitUntil(lambda: queue.count_label.text() == "0 cases" and runner.idle(),
                    timeout=WAIT_MS)
    assert queue.table.placeholder() == (
        "No open cases.\nWhen a call or message comes in: New intake (Ctrl+N).")
    shown = queue.table.viewport().grab().toImage()
    queue.table.set_placeholder("")
    assert queue.table.viewport().grab().toImage() != shown  # the text is drawn in the table
    desk.queue.reload()
    qtbot.waitUntil(lambda: bool(queue.table.placeholder()) and runner.idle(), timeout=WAIT_MS)

    with qtbot.waitSignal(queue.search_finished, timeout=WAIT_MS):
        type_text(queue.search_edit, "Петренко")
    assert queue.table.placeholder() == (
        "Nothing found for “Петренко”.\nA first contact: New intake (Ctrl+N).")
    qtbot.keyClick(queue.search_edit, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: runner.idle() and queue.table.model() is queue.queue_model,
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: queue.table.placeholder().startswith("No open cases."),
                    timeout=WAIT_MS)

    assert desk.new_intake_action.shortcut().toString() == "Ctrl+N"  # the key it names


def test_an_empty_queue_shown_with_all_cases_says_there_are_none_yet(
    desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    queue = desk.queue
    queue.filter_combo.setCurrentIndex(queue.filter_combo.findData("all"))
    qtbot.waitUntil(lambda: queue.count_label.text() == "0 cases" and runner.idle()
                    and bool(queue.table.placeholder()), timeout=WAIT_MS)
    assert queue.table.placeholder() == (
        "No cases yet.\nWhen a call or message comes in: New intake (Ctrl+N).")

    queue.filter_combo.setCurrentIndex(queue.filter_combo.findData("closed"))
    qtbot.waitUntil(lambda: runner.idle() and queue.table.placeholder().startswith("No cases "
                                                                                  "with"),
                    timeout=WAIT_MS)
    assert queue.table.placeholder().startswith("No cases with this status.\n")
