"""Files Haven hands to people: written whole or not at all, readable by the owner only."""

from __future__ import annotations

from pathlib import Path

from db.keyslots import write_atomically
from desktop.errors import InputRejected, exists_already


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
