"""Waiting on the Qt event loop from a script (the bench and the screenshots).

The waits block inside Qt's own event loop, as the application does, so worker threads
get the GIL as they would in real use; a Python loop around processEvents() would hold it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEventLoop, QTimer

POLL_MS = 5


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Run the event loop until `condition()` holds (workers answer through it)."""
    if condition():
        return
    deadline = time.monotonic() + timeout
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(POLL_MS)
    poll.timeout.connect(
        lambda: loop.quit() if condition() or time.monotonic() > deadline else None
    )
    poll.start()
    loop.exec()
    poll.stop()
    if not condition():
        raise TimeoutError("the window did not reach the expected state in time")


def settle(milliseconds: int = 150) -> None:
    """Let layouts, queued shows and repaints finish."""
    deadline = time.monotonic() + milliseconds / 1000
    wait_until(lambda: time.monotonic() >= deadline, timeout=milliseconds / 1000 + 5)
