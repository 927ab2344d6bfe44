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

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

Success = Callable[[Any], None]
Failure = Callable[[BaseException], None]


class Task:
    """A handle on one submitted callable."""

    def __init__(self, task_id: int, on_success: Success | None, on_failure: Failure | None):
        self.id = task_id
        self.on_success = on_success
        self.on_failure = on_failure
        self.cancelled = False
        self.done = False

    def cancel(self) -> None:
        """Drop the result when it arrives; the callable itself is not interrupted."""
        self.cancelled = True


class _Job(QRunnable):
    def __init__(self, task_id: int, work: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._task_id = task_id
        self._work = work
        self._relay = relay

    def run(self) -> None:
        try:
            value = self._work()
        except BaseException as exc:  # delivered to on_failure, so nothing is lost silently
            self._relay.failed.emit(self._task_id, exc)
        else:
            self._relay.succeeded.emit(self._task_id, value)


class _Relay(QObject):
    """Lives on the GUI thread, so signals emitted by workers arrive there queued."""

    succeeded = Signal(int, object)
    failed = Signal(int, object)


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
        self._relay.succeeded.connect(self._deliver_success)
        self._relay.failed.connect(self._deliver_failure)
        self._ids = itertools.count(1)
        self._running: dict[int, Task] = {}

    def run(
        self,
        work: Callable[[], Any],
        on_success: Success | None = None,
        on_failure: Failure | None = None,
    ) -> Task:
        """Start `work()` on a worker thread; returns a handle that can cancel the callbacks."""
        task = Task(next(self._ids), on_success, on_failure)
        was_idle = not self._running
        self._running[task.id] = task
        if was_idle:
            self.busy_changed.emit(True)
        self._pool.start(_Job(task.id, work, self._relay))
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

    @Slot(int, object)
    def _deliver_success(self, task_id: int, value: object) -> None:
        task = self._finish(task_id)
        if task is None or task.cancelled or task.on_success is None:
            return
        task.on_success(value)

    @Slot(int, object)
    def _deliver_failure(self, task_id: int, error: object) -> None:
        task = self._finish(task_id)
        if task is None or task.cancelled:
            return
        if task.on_failure is None:
            # Only the type: an exception message may quote personal data.
            log.error("background task failed: %s", type(error).__name__)
            self.task_failed.emit(error)
            return
        task.on_failure(error)  # type: ignore[arg-type]
