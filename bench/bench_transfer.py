"""Transfer files: export and import of 100,000 cases, beside the age CLI on the same bytes.

Targets (DESIGN.md): at least 10,000 cases/s each way, and encryption within 2x of the
``age`` CLI encrypting the same payload bytes in the same run. The sending site is a
demo vault built once and cached in .bench-data/; the receiving site is new every run.
Set HAVEN_BENCH_TRANSFER_CASES to bench another size.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from bench.core import BENCH_KDF, PASSWORD, USER, cached_site
from desktop import demo
from desktop.session import Session
from desktop.transfer import age
from desktop.transfer.service import TransferService
from desktop.transfer.transfer_file import read_layout

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


class _PeakRss:
    """Samples the resident memory of this process and its children (the import's helper)
    while a block runs; the peak of their sum, in MiB."""

    def __init__(self) -> None:
        self.peak = 0
        self._running = False
        self._thread: threading.Thread | None = None

    @staticmethod
    def _rss() -> int:
        pids = ["self"]
        for task in Path("/proc/self/task").iterdir():
            with contextlib.suppress(OSError):
                pids += (task / "children").read_text().split()
        pages = 0
        for pid in pids:
            with contextlib.suppress(OSError), open(f"/proc/{pid}/statm") as handle:
                pages += int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while self._running:
            self.peak = max(self.peak, self._rss())
            time.sleep(0.01)

    @contextmanager
    def watching(self) -> Iterator[None]:
        self.peak = self._rss()
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        try:
            yield
        finally:
            self._running = False
            self._thread.join()

    @property
    def mib(self) -> str:
        return f"{self.peak / 2**20:,.0f} MiB"


def _timed(action: Callable[[], T]) -> tuple[T, float, _PeakRss]:
    memory = _PeakRss()
    with memory.watching():
        begin = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - begin
    return result, elapsed, memory


def _sender(cases: int) -> Path:
    """A demo site with ``cases`` cases, made once."""
    return cached_site(
        ROOT / ".bench-data" / f"transfer-sender-{cases}",
        "Bench sender",
        lambda session: demo.make_demo_cases(session, cases, seed=7),
    )


class _Null:
    def write(self, data: bytes, /) -> int:
        return len(data)


def _encrypt_with_age_cli(recipient: str, plaintext: bytes) -> float:
    """Run ``age -r`` over the plaintext; its own peak resident memory, in MiB.

    The peak is read from the child's /proc entry while it runs: getrusage would also
    count this process's memory at the moment it started the child.
    """
    child = subprocess.Popen(["age", "-r", recipient], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL)
    peak = [0]

    def sample() -> None:
        status = Path(f"/proc/{child.pid}/status")
        while child.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
            time.sleep(0.005)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    child.communicate(plaintext)
    watcher.join()
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, "age")
    return peak[0] / 1024


def run() -> list[tuple[str, str, str]]:
    """Export and import rates with peak memory, and encryption beside the age CLI."""
    cases = int(os.environ.get("HAVEN_BENCH_TRANSFER_CASES", "100000"))
    sender_dir = _sender(cases)
    work = Path(tempfile.mkdtemp(prefix="haven-bench-transfer-"))
    sender = Session.open(sender_dir, USER, PASSWORD)
    receiver, _ = Session.create_site(work / "receiver", "Bench receiver", USER, PASSWORD,
                                      BENCH_KDF)
    try:
        out, into = TransferService(sender), TransferService(receiver)
        theirs, mine = into.site_identity(), out.site_identity()
        name = f"receiver-{uuid.uuid4().hex[:8]}"
        out.add_peer(name, theirs.signing_key, theirs.age_recipient, theirs.fingerprint)
        into.add_peer("sender", mine.signing_key, mine.age_recipient, mine.fingerprint)
        path = work / "bench.haven"

        exported, export_s, export_mem = _timed(lambda: out.export([name], path, full=True))
        report, import_s, import_mem = _timed(lambda: into.import_file(path))
        assert report.cases_new == exported.cases == cases, (report, exported)
        receiver.vault.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        stored = sum(f.stat().st_size for f in (work / "receiver").glob("haven.db*"))
        size = path.stat().st_size

        # The same payload bytes for both encryptors; they stay in memory (synthetic data).
        with path.open("rb") as handle:
            layout = read_layout(handle)
            handle.seek(layout.payload_offset)
            ciphertext = handle.read(layout.payload_size)
        identity = age.X25519Identity(receiver.vault.site_encryption_key())
        plaintext = age.decrypt(ciphertext, [identity])
        recipient = theirs.age_recipient
        begin = time.perf_counter()
        age.encrypt_stream(io.BytesIO(plaintext), _Null(), [recipient])
        ours_s = time.perf_counter() - begin
        megabytes = len(plaintext) / 2**20
        rows = [
            ("export (full), cases/s", f"{cases / export_s:,.0f} ({export_s:.1f} s)",
             f"target >= 10,000; {cases:,} cases, {size / 2**20:,.0f} MiB file"),
            ("import, cases/s", f"{cases / import_s:,.0f} ({import_s:.1f} s)",
             "target >= 10,000 (every record checked, indexed for search)"),
            ("vault after the import", f"{stored / 2**20:,.0f} MiB",
             f"{stored / cases / 1024:.1f} KiB a case; the file: {size / cases / 1024:.1f} KiB"),
            ("peak RSS during export", export_mem.mib, "target for 1M cases open: <= 400 MB"),
            ("peak RSS during import", import_mem.mib,
             "Haven and its checking helper together; target for 1M cases open: <= 400 MB"),
        ]
        if shutil.which("age") is None:
            rows.append(("encrypt payload (ours)", f"{megabytes / ours_s:,.0f} MiB/s",
                         "age CLI not installed: no baseline (Debian package 'age')"))
            return rows
        begin = time.perf_counter()
        cli_peak = _encrypt_with_age_cli(recipient, plaintext)
        cli_s = time.perf_counter() - begin
        rows.append((
            f"encrypt the {megabytes:,.0f} MiB payload",
            f"ours {megabytes / ours_s:,.0f} MiB/s ({ours_s / cli_s:.2f}x age's time)",
            f"age CLI {megabytes / cli_s:,.0f} MiB/s, peak RSS {cli_peak:,.0f} MiB;"
            " target <= 2x",
        ))
        return rows
    finally:
        sender.close()
        receiver.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    from bench.__main__ import print_rows

    print_rows("transfer", run())
