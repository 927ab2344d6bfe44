"""Widget-test fixtures: the real vault and session, a task runner, English strings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from tests.conftest import Site
from ui import style
from ui.language import apply_language
from ui.main_window import MainWindow
from ui.settings import UiSettings
from ui.tasks import TaskRunner

# Long enough for Argon2id at the test cost on a slow CI machine.
WAIT_MS = 20_000


@pytest.fixture(autouse=True)
def _english(qapp: QApplication) -> Iterator[None]:
    """Tests read English labels unless they switch on purpose; the language is restored."""
    style.install(qapp)
    apply_language("en")
    yield
    apply_language("en")


@pytest.fixture
def runner(site: Site, qapp: QApplication) -> Iterator[TaskRunner]:
    """A task runner whose workers finish before the site's vault is closed."""
    tasks = TaskRunner()
    yield tasks
    tasks.cancel_all()
    tasks.wait_for_done()
    QApplication.processEvents()


@pytest.fixture
def desk(site: Site, runner: TaskRunner, qtbot) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    """The main window signed in as the site's admin, queue loaded, shown and active."""
    window = MainWindow(site.session, runner, UiSettings(site.data))
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
    yield window
    # Not given to qtbot.addWidget: qtbot would close it before this teardown, and a test
    # may leave input unsaved on purpose, which would make closing wait for a question.
    window.close_without_asking()
    window.deleteLater()


def type_text(widget: QWidget, text: str) -> None:
    """Type text as key events; unlike qtbot.keyClicks it takes Cyrillic (no ASCII key map)."""
    for char in text:
        QTest.sendKeyEvent(
            QTest.KeyAction.Click, widget, Qt.Key.Key_unknown, char, Qt.KeyboardModifier.NoModifier
        )


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget
