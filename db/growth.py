"""How far SQLite work that tells no fraction of itself is, read from a file it writes."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

# How often the file is looked at: often enough for a percentage to move steadily.
_LOOK_EVERY = 0.25  # seconds


@contextlib.contextmanager
def growth_watched(
    path: Path, total: int, progress: Callable[[int, int], None] | None
) -> Iterator[None]:
    """While the block runs, tell ``progress`` (size of ``path``, ``total``) now and then,
    from a thread of its own: SQLite holds the caller's thread for the whole statement (it
    lets other threads run meanwhile). At the end, if the block succeeded, (total, total)."""
    if progress is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.wait(_LOOK_EVERY):
            with contextlib.suppress(OSError):
                progress(min(path.stat().st_size, total), total)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
    with contextlib.suppress(OSError):  # a terminal gone away does not undo the work done
        progress(total, total)
