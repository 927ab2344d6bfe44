"""On a small screen (a 1366 × 768 laptop; the offscreen one is 800 × 800) the desk and the
intake fit, with the buttons at their bottom in reach."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QWidget

from tests.ui.test_case_flow import open_intake
from ui.main_window import MainWindow


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
