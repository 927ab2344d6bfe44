"""The desk on a big vault: window ready after unlock, search keystroke latency, memory.

Targets (DESIGN.md): the main window ready within 1.5 s of having the session (the KDF
aside) on 1,000,000 cases; memory at most 400 MB RSS. Each figure is printed beside the
bare service call it wraps, measured in the same run, so the GUI's own share shows.
Needs HAVEN_BENCH_DATA, HAVEN_BENCH_USER and HAVEN_BENCH_PASSWORD (`make bench` sets them).
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.qtloop import settle, wait_until
from db.records import OPEN_STATUSES
from desktop.session import Session

KEYSTROKES = 50
# What operators type: surnames in either script, a phone, a reference, letter by letter.
QUERIES = ("Коваленко", "Ivanov", "Шевчук", "+38067", "Petrenko", "Морозов", "Bondar")

Row = tuple[str, str, str]


def _rss_mib(field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS) or at its peak (VmHWM), in MiB.

    The peak is this process's own: getrusage's ru_maxrss would also count the parent's
    memory at the moment it started this process.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _keystrokes() -> list[str]:
    """About 50 successive search texts, each one more letter typed (from the third on)."""
    texts: list[str] = []
    for query in QUERIES:
        texts += [query[:n] for n in range(3, len(query) + 1)]
    return texts[:KEYSTROKES]


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 2 else samples[0]


def run() -> list[Row]:
    """Rows of (what, figure, baseline)."""
    data = os.environ.get("HAVEN_BENCH_DATA")
    user = os.environ.get("HAVEN_BENCH_USER")
    password = os.environ.get("HAVEN_BENCH_PASSWORD")
    if not (data and user and password):
        return [("gui", "skipped", "set HAVEN_BENCH_DATA, HAVEN_BENCH_USER, HAVEN_BENCH_PASSWORD")]
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from ui import style
    from ui.main_window import MainWindow
    from ui.queue_panel import SEARCH_DELAY_MS, SEARCH_LIMIT
    from ui.settings import UiSettings
    from ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication(["haven-bench"])
    assert isinstance(app, QApplication)
    style.install(app)
    rss_before = _rss_mib()
    session = Session.open(Path(data), user, password)  # the KDF is not part of the figure
    runner = TaskRunner()
    rows: list[Row] = []
    try:
        cases = session.count_cases()
        started = time.perf_counter()
        session.queue_page(OPEN_STATUSES, None, 200)
        bare_page_ms = (time.perf_counter() - started) * 1000

        with tempfile.TemporaryDirectory() as scratch:
            started = time.perf_counter()
            window = MainWindow(session, runner, UiSettings(Path(scratch)))
            window.show()
            model = window.queue.queue_model
            wait_until(lambda: model.rowCount() > 0 or model.exhausted)
            window.repaint()
            ready_ms = (time.perf_counter() - started) * 1000
            wait_until(runner.idle)
            rows.append((
                f"main window ready after unlock ({cases:,} cases, KDF aside)",
                f"{ready_ms:.0f} ms (target 1500)",
                f"first queue page from the session alone {bare_page_ms:.0f} ms",
            ))

            latencies, bare = _search_latencies(window, session, SEARCH_LIMIT)
            rows.append((
                f"search keystroke -> results, p95 of {len(latencies)}",
                f"{_p95(latencies):.1f} ms after the {SEARCH_DELAY_MS} ms typing pause",
                f"of which session.search on the worker p95 {_p95(bare):.1f} ms",
            ))

            window.queue.table.scrollToBottom()
            wait_until(runner.idle)
            settle(100)
            rss = _rss_mib()
            peak = _rss_mib("VmHWM")
            rows.append((
                "memory with the window open",
                f"{rss:.0f} MiB RSS, peak {peak:.0f} MiB (target 400)",
                f"{rss_before:.0f} MiB before opening the vault",
            ))
            window.close_without_asking()
            window.deleteLater()
    finally:
        runner.cancel_all()
        runner.wait_for_done()
        session.close()
    return rows


def _search_latencies(
    window: object, session: Session, limit: int
) -> tuple[list[float], list[float]]:
    """Per keystroke: time from the end of the typing pause to the results on screen."""
    from ui.main_window import MainWindow
    from ui.queue_panel import SEARCH_DELAY_MS

    assert isinstance(window, MainWindow)
    queue = window.queue
    shown: list[str] = []
    queue.search_finished.connect(shown.append)
    latencies: list[float] = []
    bare: list[float] = []
    search = session.search

    def timed_search(text: str, limit: int = limit) -> list[Any]:
        # The same call the window makes, timed where it runs (on the worker thread).
        started = time.perf_counter()
        try:
            return search(text, limit)
        finally:
            bare.append((time.perf_counter() - started) * 1000)

    session.search = timed_search  # type: ignore[method-assign]
    try:
        for text in _keystrokes():
            started = time.perf_counter()
            queue.search_edit.setText(text)
            wait_until(lambda text=text: bool(shown) and shown[-1] == text)
            latencies.append((time.perf_counter() - started) * 1000 - SEARCH_DELAY_MS)
    finally:
        session.search = search  # type: ignore[method-assign]
    queue.search_edit.clear()
    return latencies, bare
