"""On a small screen (a 1366 × 768 laptop; the offscreen one is 800 × 800) the desk and the
intake fit, with the buttons at their bottom in reach."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QWidget

from db.records import CaseKind, Channel, NewCase, Person
from tests.conftest import Site
from tests.ui.conftest import WAIT_MS
from tests.ui.test_case_flow import open_intake
from ui.main_window import MainWindow
from ui.tasks import TaskRunner


def _on_screen(widget: QWidget) -> QRect:
    return QRect(widget.mapToGlobal(widget.rect().topLeft()), widget.size())


def test_the_desk_and_the_intake_fit_the_screen(desk: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    screen = desk.screen().availableGeometry()
    assert screen.width() < 1280 or screen.height() < 800, "this screen is too big to tell"
    assert desk.width() <= screen.width()
    assert desk.height() <= screen.height()
    intake = open_intake(qtbot, desk)
    assert intake.width() <= screen.width()
    assert intake.height() <= screen.height()
    intake.move(screen.topLeft())
    for button in (intake.save_button, intake.cancel_button):
        assert screen.contains(_on_screen(button)), button.text()


def test_a_group_of_twelve_is_read_in_the_case_without_scrolling(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    persons = tuple(Person(full_name=f"Тестова-Довгопрізвищна Олександра {n}",
                           birth_date="1990-01-01") for n in range(12))
    case_id = site.session.register_case(
        NewCase(kind=CaseKind.SURRENDER, channel=Channel.PHONE, persons=persons,
                location="Вовчанськ", callback="+380 50 765 43 21")).case_id
    view = desk.open_case(case_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    table = view.persons_table
    assert view.persons_box.title() == "Persons (12)"
    # Once laid out (on the event loop), the last row ends inside the table.
    qtbot.waitUntil(lambda: table.rowViewportPosition(11) + table.rowHeight(11)
                    <= table.viewport().height(), timeout=WAIT_MS)
