"""What was typed, here or at another site, is shown as its characters: never as HTML."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt

from db.records import CaseKind, Channel, NewCase, Person
from tests.conftest import Site
from tests.ui.conftest import WAIT_MS
from ui.main_window import MainWindow
from ui.tasks import TaskRunner

MARKUP = '<h1 style="color:green">HANDED OFF</h1> <span style="font-size:1px">x</span>'


def test_markup_in_a_case_is_shown_as_typed(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    result = site.session.register_case(NewCase(
        CaseKind.SURRENDER, Channel.PHONE, (Person(full_name="Мельник Тарас"),),
        location=MARKUP, notes=MARKUP))
    view = desk.open_case(result.case_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    for name in ("location", "notes"):
        label = view.detail_labels[name]
        assert label.text() == MARKUP
        assert label.textFormat() == Qt.TextFormat.PlainText
    assert GuiQt.mightBeRichText(MARKUP)  # what QLabel's default would have rendered
    assert desk.who.textFormat() == Qt.TextFormat.PlainText  # user and site names
