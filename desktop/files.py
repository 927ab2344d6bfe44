"""Files Haven hands to people: written whole or not at all, readable by the owner only."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from db.keyslots import sync_folder, write_atomically
from desktop.errors import InputRejected, exists_already

# A file being written is hidden beside its target until it is complete and recorded:
# ".NAME.PID.RANDOM.haven-part". The process id lets a later run know a part whose writer
# was killed (the process is gone), and remove it: it may hold a sheet's plaintext.
_PART_SUFFIX = ".haven-part"
_PART = re.compile(r"\..+\.([0-9]+)\.[0-9a-f]{16}" + re.escape(_PART_SUFFIX))


def write_private_file(target: Path, content: bytes) -> Path:
    """Write `content` to `target` with mode 0600: temp file, fsync, rename, fsync folder.

    The fsyncs matter for a removable stick pulled out right after the message says "saved".
    """
    write_atomically(target, content)
    return target


def check_new_file(target: Path) -> None:
    """Refuse a target in a folder that does not exist, or one that exists already,
    before anything is written or recorded (InputRejected, exit 4).

    A command line names its target without asking, so a slip of the pen must not replace
    a file not yet carried away, or the vault itself; the GUI's save dialogs ask instead.
    """
    if not target.parent.is_dir():
        raise InputRejected(f"the folder {target.parent} does not exist")
    if target.exists() or target.is_symlink():
        raise exists_already(target)


def process_gone(pid: int) -> bool:
    """Whether no process has this id (any more); never true of this process."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, as another user's process
        return False
    return False


def sweep_parts(folder: Path) -> int:
    """Remove the parts in ``folder`` that a Haven left when it was killed while writing.

    A part whose writer still runs (its process id is alive) stays. Returns how many went.
    """
    removed = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            match = _PART.fullmatch(entry.name)
            if match and entry.is_file(follow_symlinks=False) and process_gone(int(match[1])):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


def open_part(target: Path) -> tuple[int, Path]:
    """A new hidden part beside ``target``, open for writing (mode 0600): (fd, path).

    Remove it when done; if this process is killed first, a later ``sweep_parts`` does.
    """
    part = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(8)}{_PART_SUFFIX}"
    return os.open(part, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), part


def stage_file(target: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write a file (mode 0600) hidden beside ``target``, flushed to the medium; its path.

    ``publish`` puts it in place once what it stands for is recorded; until then, a crash
    leaves no file that looks finished. Parts that earlier, killed runs left are removed.
    """
    sweep_parts(target.parent)
    fd, part = open_part(target)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return part


def publish(part: Path, target: Path) -> None:
    """Move a staged file into place and flush the folder (a stick pulled out next keeps it).

    Called within ``parts_removed_on_failure``, which removes the part if this fails.
    """
    os.replace(part, target)
    sync_folder(target.parent)


@contextlib.contextmanager
def parts_removed_on_failure() -> Iterator[list[Path]]:
    """A list to put staged parts in; if the block fails, they are removed."""
    staged: list[Path] = []
    try:
        yield staged
    except BaseException:
        for part in staged:
            part.unlink(missing_ok=True)
        raise


def write_whole(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """Stage a file and put it in place at once, for one whose writing nothing records."""
    with parts_removed_on_failure() as staged:
        staged.append(stage_file(target, write))
        publish(staged[0], target)


def remove_left_folders(data_dir: Path, purpose: str = "backup") -> None:
    """Remove the staging folders (".PURPOSE-PID-…") of killed backups or restores from
    ``data_dir``: a backup's holds a snapshot of the vault under the key of its day."""
    for entry in data_dir.glob(f".{purpose}-*-*"):
        pid = entry.name.split("-")[1]
        if pid.isdigit() and process_gone(int(pid)) and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
