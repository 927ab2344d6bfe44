"""Checking a payload's records for an import, in this process or in a helper beside it.

An import spends its time on two things that do not wait for each other: checking each
record of the payload and deriving the cases it brings (Python), and writing them into
the vault (SQLite). For a large payload a helper process does the first while this one
does the second, so the import uses two cores. The helper reads the transfer file
itself, decrypts the payload with the one file key it is given (never the site's
identity), and sends back each record checked, in order, with the rows of a case as its
ops alone make it. Plaintext passes through the pipe between the two, never through a
file. A small payload is checked here: starting the helper would cost more than it saves.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import marshal
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from db import oplog, sync
from db.audit_union import Entry
from db.oplog import Op
from db.sync import MergeRefused, Prepared
from desktop.errors import HavenError
from desktop.memory import no_core_dumps
from desktop.transfer import age
from desktop.transfer.payload import MAX_LINE, CaseLine, Header, PayloadRejected, Records
from desktop.transfer.transfer_file import (
    Layout,
    Manifest,
    PayloadReader,
    TransferFileError,
    parse_manifest,
)


class CheckedCase(NamedTuple):
    """A case line checked, and the case as its ops alone make it.

    ``rows`` is None when those ops do not create the case (its ``create`` op is not
    among them); ``versions`` is then ``{}``.
    """

    case_id: str
    ops: bytes  # their JSON array: the file's own when it is in stamp order
    op_count: int
    newest: str
    versions: str
    rows: Prepared | None


Checked = CheckedCase | list[Entry] | None


def union(first: list[Op], second: list[Op]) -> list[Op]:
    """Ops of both lists once each, in stamp order; one id with two contents is refused."""
    merged: dict[str, Op] = {}
    for op in (*first, *second):
        seen = merged.get(op.id)
        if seen is None:
            merged[op.id] = op
        elif seen.to_json() != op.to_json():
            raise MergeRefused("the file holds two different changes with one id")
    return [merged[key] for key in sorted(merged)]


def case_of(case_id: str, ops: list[Op], array: bytes) -> CheckedCase:
    """The case these ops (in stamp order, ``array`` their JSON array) make alone."""
    derived = sync.derive(ops)
    newest = ops[-1].id
    if derived is None:
        return CheckedCase(case_id, array, len(ops), newest, "{}", None)
    sync.refuse_wide_conflicts(derived)
    return CheckedCase(
        case_id,
        array,
        len(ops),
        newest,
        oplog.canonical_json(derived.versions),
        sync.prepare(derived),
    )


def _checked_case(line: CaseLine) -> CheckedCase:
    if line.array is not None:
        return case_of(line.case_id, line.ops, line.array)
    ops = union([], line.ops)
    return case_of(line.case_id, ops, oplog.ops_json(ops).encode("utf-8"))


class Checker:
    """Checks the decrypted lines in order (see payload.Records), deriving each case."""

    def __init__(self, manifest: Manifest, latest_ms: int) -> None:
        self.records = Records(manifest, latest_ms)
        self.header_line = b""

    def take(self, line: bytes) -> Checked:
        """The case or audit entries on this line; None for the header and the end line."""
        if self.records.header is None:
            self.header_line = line
        record = self.records.take(line)
        if isinstance(record, CaseLine):
            return _checked_case(record)
        return record

    def finish(self) -> Header:
        """The header, once the end line has been read; else PayloadRejected."""
        return self.records.finish()


class LineFeed:
    """The writer age decrypts into: splits lines and hands each one on, in memory only.

    ``on_bytes`` is told how many bytes were handed on so far.
    """

    def __init__(self, on_line: Callable[[bytes], None], on_bytes: Callable[[int], None]) -> None:
        self._on_line = on_line
        self._on_bytes = on_bytes
        self._pending = b""
        self._done = 0

    def write(self, data: bytes, /) -> int:
        buffer = self._pending + data
        lines = buffer.split(b"\n")
        self._pending = lines.pop()
        if len(self._pending) > MAX_LINE:
            raise PayloadRejected("the transfer file holds an invalid record (too large)")
        for line in lines:
            self._on_line(line)
        self._done += len(data)
        self._on_bytes(self._done)
        return len(data)

    def close(self) -> None:
        if self._pending:
            raise PayloadRejected("the payload does not end with a complete line")


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for an import.

    An import makes millions of objects and frees each one by reference counting; the
    collector would only walk them, over and over.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- the helper process ------------------------------------------------------------------


class CheckerStopped(HavenError):
    """The helper process ended before it finished (it was killed, or ran out of memory)."""


# What goes back: frames of a 4-byte length and a marshal'd tuple.
#   ("records", payload bytes decrypted so far, [case tuple | [entry tuple, ...], ...])
#   ("end", header line, SHA-256 of the payload read)
#   ("error", kind, message)
_FRAME_BYTES = 64 * 1024
_PIPE_BYTES = 1024 * 1024  # the most an unprivileged process may ask (fs.pipe-max-size)
_ERRORS: dict[str, Callable[[str], Exception]] = {
    "payload": PayloadRejected,
    "merge": MergeRefused,
    "file": TransferFileError,
    "decrypt": age.PayloadError,
}


def _to_wire(item: CheckedCase | list[Entry]) -> Any:
    if isinstance(item, CheckedCase):
        return (*item[:5], None if item.rows is None else tuple(item.rows))
    return [(e.origin, e.seq, e.at, e.actor, e.action, e.case_id, e.detail) for e in item]


def _from_wire(item: Any) -> CheckedCase | list[Entry]:
    if isinstance(item, tuple):
        rows = item[5]
        case_id, ops, op_count, newest, versions = item[:5]
        return CheckedCase(
            case_id,
            ops,
            op_count,
            newest,
            versions,
            None if rows is None else Prepared._make(rows),
        )
    return [Entry(*entry) for entry in item]


class _Frames:
    """The helper's side: collects checked records and sends them a frame at a time."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._items: list[Any] = []
        self._size = 0
        self._done = 0

    def add(self, item: Checked) -> None:
        if item is None:
            return
        self._items.append(_to_wire(item))
        self._size += len(item.ops) if isinstance(item, CheckedCase) else 200 * len(item)
        if self._size >= _FRAME_BYTES:
            self.flush()

    def at(self, done: int) -> None:
        self._done = done

    def flush(self) -> None:
        if self._items:
            self.send(("records", self._done, self._items))
        self._items, self._size = [], 0

    def send(self, frame: tuple[Any, ...]) -> None:
        data = marshal.dumps(frame)
        self._out.write(len(data).to_bytes(4, "big") + data)
        self._out.flush()


def helper_main() -> None:
    """The helper process: the job on stdin, frames on stdout."""
    no_core_dumps()  # no core file holding plaintext
    job = marshal.load(sys.stdin.buffer)  # noqa: S302 - written by the Haven that started us
    path, offset, size, file_key, manifest, latest_ms = job
    frames = _Frames(sys.stdout.buffer)
    try:
        with open(path, "rb") as handle, collector_paused():
            reader = PayloadReader(handle, Layout(b"", b"", offset, size))
            checker = Checker(parse_manifest(manifest), latest_ms)
            feed = LineFeed(lambda line: frames.add(checker.take(line)), frames.at)
            age.decrypt_stream_with_key(reader, feed, file_key)
            feed.close()
            checker.finish()
        frames.flush()
        frames.send(("end", checker.header_line, reader.sha256.hexdigest()))
    except PayloadRejected as exc:
        frames.send(("error", "payload", str(exc)))
    except MergeRefused as exc:
        frames.send(("error", "merge", str(exc)))
    except TransferFileError as exc:
        frames.send(("error", "file", str(exc)))
    except age.AgeError as exc:
        frames.send(("error", "decrypt", str(exc)))
    except BrokenPipeError:
        pass  # the import stopped; nobody is reading


class HelperChecker:
    """Runs the helper for one payload and reads what it checked, in order."""

    def __init__(self, path: Path, layout: Layout, file_key: bytes, latest_ms: int) -> None:
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-B",
                "-c",
                "from desktop.transfer.checking import helper_main; helper_main()",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # a traceback could quote personal data
            env=env,
        )
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._out = self._process.stdout
        with contextlib.suppress(OSError):
            fcntl.fcntl(self._out.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        job = (
            str(path),
            layout.payload_offset,
            layout.payload_size,
            file_key,
            layout.manifest,
            latest_ms,
        )
        try:
            with self._process.stdin as stdin:
                marshal.dump(job, stdin)
        except OSError:
            self.close()
            raise
        self.header_line = b""
        self.sha256 = ""

    def records(self) -> Iterator[tuple[int, list[CheckedCase | list[Entry]]]]:
        """(payload bytes decrypted so far, records checked) until the end; raises its errors."""
        while True:
            frame = self._frame()
            if frame[0] == "records":
                yield frame[1], [_from_wire(item) for item in frame[2]]
            elif frame[0] == "end":
                self.header_line, self.sha256 = frame[1], frame[2]
                return
            else:
                raise _ERRORS[frame[1]](frame[2])

    def _frame(self) -> tuple[Any, ...]:
        size = self._out.read(4)
        data = self._out.read(int.from_bytes(size, "big")) if len(size) == 4 else b""
        if not data or len(data) != int.from_bytes(size, "big"):
            if self._process.wait() < 0:  # killed by a signal
                raise CheckerStopped(
                    "the import stopped: the process checking the file was stopped before"
                    " it was done (nothing was changed); try again"
                )
            raise CheckerStopped(
                "the import stopped: the process checking the file failed (nothing was"
                " changed)"
            )
        frame = marshal.loads(data)  # noqa: S302 - written by the helper Haven started
        assert isinstance(frame, tuple)
        return frame

    def close(self) -> None:
        """Stop the helper if it still runs, and reap it."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._out.close()
