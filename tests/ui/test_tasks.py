"""The task runner: work on a worker thread, answers on the GUI thread, stale answers dropped."""

from __future__ import annotations

import threading

import pytest
import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

from ui.tasks import TaskRunner


@pytest.fixture
def tasks(qapp: QApplication):  # type: ignore[no-untyped-def]
    runner = TaskRunner()
    yield runner
    runner.wait_for_done()


def test_work_runs_off_the_gui_thread_and_answers_on_it(tasks: TaskRunner, qtbot) -> None:  # type: ignore[no-untyped-def]
    gui_thread = threading.get_ident()
    seen: dict[str, int] = {}

    def work() -> int:
        seen["worker"] = threading.get_ident()
        return 42

    def done(value: int) -> None:
        seen["callback"] = threading.get_ident()
        seen["value"] = value

    with qtbot.waitSignal(tasks.busy_changed, check_params_cb=lambda busy: not busy):
        tasks.run(work, done)
    assert seen["value"] == 42
    assert seen["worker"] != gui_thread
    assert seen["callback"] == gui_thread
    assert tasks.idle()


def test_failure_reaches_the_failure_callback(tasks: TaskRunner, qtbot) -> None:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []

    def work() -> None:
        raise ValueError("no")

    tasks.run(work, lambda _value: pytest.fail("success reported"), errors.append)
    qtbot.waitUntil(lambda: bool(errors))
    assert isinstance(errors[0], ValueError)


def test_unhandled_failure_is_reported_once(tasks: TaskRunner, qtbot) -> None:  # type: ignore[no-untyped-def]
    def work() -> None:
        raise ValueError("no")

    with qtbot.waitSignal(tasks.task_failed) as signal:
        tasks.run(work)
    assert isinstance(signal.args[0], ValueError)


def test_a_cancelled_task_never_calls_back(tasks: TaskRunner, qtbot) -> None:  # type: ignore[no-untyped-def]
    release = threading.Event()
    answers: list[str] = []
    stale = tasks.run(lambda: release.wait(10) and "stale", answers.append)
    tasks.run(lambda: "fresh", answers.append)
    stale.cancel()
    release.set()
    qtbot.waitUntil(tasks.idle)
    assert answers == ["fresh"]


class _Dialog:
    """Stands for a dialog that a task's closure captured: notes the thread that frees it."""

    def __init__(self, freed_on: list[int]) -> None:
        self._freed_on = freed_on

    def __del__(self) -> None:
        self._freed_on.append(threading.get_ident())


@pytest.mark.parametrize("fails", [False, True])
def test_what_a_task_captured_is_let_go_on_the_gui_thread(  # type: ignore[no-untyped-def]
    tasks: TaskRunner, qtbot, fails: bool
) -> None:
    # Qt objects may only be destroyed on their own thread: a closure that holds the last
    # reference to one must not be freed on the worker.
    freed_on: list[int] = []
    answers: list[object] = []

    def submit() -> None:
        dialog = _Dialog(freed_on)

        def work() -> str:
            if fails:
                raise ValueError(repr(dialog))
            return repr(dialog)

        tasks.run(work, answers.append, answers.append)

    submit()
    qtbot.waitUntil(lambda: bool(answers))
    tasks.wait_for_done()
    answers.clear()
    assert freed_on == [threading.get_ident()]


class _Window(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.answers: list[object] = []

    def show_answer(self, value: object) -> None:
        self.answers.append(self.objectName() or value)  # raises once the window is deleted


def test_a_window_deleted_while_its_task_ran_is_not_called_back(tasks: TaskRunner, qtbot) -> None:  # type: ignore[no-untyped-def]
    release = threading.Event()
    window = _Window()
    answers = window.answers
    tasks.run(lambda: release.wait(10) and "late", window.show_answer, window.show_answer)
    shiboken6.delete(window)  # closed, and deleted, before the answer arrives
    release.set()
    qtbot.waitUntil(tasks.idle)
    qtbot.wait(20)
    assert answers == []


def test_a_callback_that_captured_a_deleted_window_is_not_called(tasks: TaskRunner, qtbot) -> None:  # type: ignore[no-untyped-def]
    release = threading.Event()
    window = _Window()
    answers = window.answers
    tasks.run(lambda: release.wait(10) and "late", lambda value: window.show_answer(value))
    shiboken6.delete(window)
    release.set()
    qtbot.waitUntil(tasks.idle)
    qtbot.wait(20)
    assert answers == []
