"""The one road for slow work: run a callable on a worker thread, answer on the GUI thread.

Rule: the callable never touches a widget. It gets plain arguments, returns a plain value
or raises; `on_success(value)` or `on_failure(exception)` then runs on the GUI thread.
A cancelled task still finishes its work, but its callbacks are never called, which is
how a view discards stale results (a search overtaken by the next keystroke).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

Success = Callable[[Any], None]
Failure = Callable[[BaseException], None]


class Task:
    """A handle on one submitted callable.

    The task keeps the callable, and later its outcome, until the GUI thread has delivered
    it: whatever they reference (a dialog, through a closure or a traceback) is then let go
    on the GUI thread, never on a worker.
    """

    def __init__(
        self, task_id: int, work: Callable[[], Any], on_success: Success | None,
        on_failure: Failure | None,
    ) -> None:
        self.id = task_id
        self.work: Callable[[], Any] | None = work
        self.on_success = on_success
        self.on_failure = on_failure
        self.cancelled = False
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None

    def cancel(self) -> None:
        """Drop the result when it arrives; the callable itself is not interrupted."""
        self.cancelled = True

    def execute(self) -> None:
        """Run the callable and keep its outcome (on the worker thread)."""
        work = self.work
        assert work is not None
        try:
            self.value = work()
        except BaseException as exc:  # delivered to on_failure, so nothing is lost silently
            self.error = exc


class _Job(QRunnable):
    def __init__(self, task: Task, relay: _Relay) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._task: Task | None = task
        self._relay = relay

    def run(self) -> None:
        task, self._task = self._task, None
        assert task is not None
        task.execute()
        task_id = task.id
        # The task is the GUI thread's from here: this thread holds nothing of it when it
        # says it is done, so no closure, value or traceback is freed here.
        del task
        self._relay.finished.emit(task_id)


class _Relay(QObject):
    """Lives on the GUI thread, so signals emitted by workers arrive there queued."""

    finished = Signal(int)


def _owner_deleted(callback: Callable[..., None]) -> bool:
    """Whether the callback belongs to a widget (or other QObject) already deleted: a window
    closed while its task ran, whose answer has nowhere to go. The callback belongs to the
    object of a bound method, and to the objects a closure (a lambda) captured."""
    owners = [getattr(callback, "__self__", None)]
    for cell in getattr(callback, "__closure__", None) or ():
        try:
            owners.append(cell.cell_contents)
        except ValueError:  # a cell not filled yet
            continue
    return any(isinstance(owner, QObject) and not shiboken6.isValid(owner) for owner in owners)


class TaskRunner(QObject):
    """Runs callables on a thread pool and calls back on the GUI thread.

    `busy_changed(bool)` tells the window to show or hide its busy indicator;
    `idle()` says whether nothing is running (tests wait on it).
    """

    busy_changed = Signal(bool)
    task_failed = Signal(object)  # failures nobody handled, for the status bar

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._relay = _Relay(self)
        self._relay.finished.connect(self._deliver)
        self._ids = itertools.count(1)
        self._running: dict[int, Task] = {}

    def run(
        self,
        work: Callable[[], Any],
        on_success: Success | None = None,
        on_failure: Failure | None = None,
    ) -> Task:
        """Start `work()` on a worker thread; returns a handle that can cancel the callbacks."""
        task = Task(next(self._ids), work, on_success, on_failure)
        was_idle = not self._running
        self._running[task.id] = task
        if was_idle:
            self.busy_changed.emit(True)
        self._pool.start(_Job(task, self._relay))
        return task

    def idle(self) -> bool:
        return not self._running

    def cancel_all(self) -> None:
        """Forget every pending callback (used when the window locks or closes)."""
        for task in self._running.values():
            task.cancel()

    def wait_for_done(self, timeout_ms: int = 30_000) -> bool:
        """Block until the workers finish: only at shutdown, before the vault is closed."""
        return bool(self._pool.waitForDone(timeout_ms))

    def _finish(self, task_id: int) -> Task | None:
        task = self._running.pop(task_id, None)
        if task is not None:
            task.done = True
        if not self._running:
            self.busy_changed.emit(False)
        return task

    @Slot(int)
    def _deliver(self, task_id: int) -> None:
        task = self._finish(task_id)
        if task is None:
            return
        error, value = task.error, task.value
        # A traceback's frames hold the task: let go of both here, not in a cycle that the
        # collector could free on any thread.
        task.work = task.value = task.error = None
        if error is None:
            self._deliver_success(task, value)
        else:
            self._deliver_failure(task, error)

    @staticmethod
    def _deliver_success(task: Task, value: Any) -> None:
        if task.cancelled or task.on_success is None or _owner_deleted(task.on_success):
            return
        task.on_success(value)

    def _deliver_failure(self, task: Task, error: BaseException) -> None:
        if task.cancelled or (task.on_failure is not None and _owner_deleted(task.on_failure)):
            return
        if task.on_failure is None:
            # Only the type: an exception message may quote personal data.
            log.error("background task failed: %s", type(error).__name__)
            self.task_failed.emit(error)
            return
        task.on_failure(error)
