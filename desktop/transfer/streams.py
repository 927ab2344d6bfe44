"""Small stream adapters shared by transfer files and backups."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from desktop.transfer.age import BinaryReader

# Told (done, total) now and then as a long transfer goes on, on the thread doing it.
Progress = Callable[[int, int], None]


class Steps:
    """Passes progress on at the start, at most every hundredth of the way, and at the end."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self._progress = progress
        self._total = total
        self._step = max(1, -(-total // 100))
        self._next = 0
        self.at(0)

    def at(self, done: int) -> None:
        if self._progress is not None and (done >= self._next or done >= self._total):
            self._next = done + self._step
            self._progress(min(done, self._total), self._total)


class ChunkReader:
    """A binary reader over an iterator of byte strings, for age's streaming encryptor."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, size: int = -1, /) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


class CountingReader:
    """A binary reader that tells ``told`` how many bytes were read through it so far."""

    def __init__(self, reader: BinaryReader, told: Callable[[int], None]) -> None:
        self._reader = reader
        self._told = told
        self._done = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._reader.read(size)
        if data:
            self._done += len(data)
            self._told(self._done)
        return data
