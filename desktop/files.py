"""Files Haven hands to people: written whole or not at all, readable by the owner only."""

from __future__ import annotations

from pathlib import Path

from db.keyslots import write_atomically
from desktop.errors import exists_already


def write_private_file(target: Path, content: bytes) -> Path:
    """Write `content` to `target` with mode 0600: temp file, fsync, rename, fsync folder.

    The fsyncs matter for a removable stick pulled out right after the message says "saved".
    """
    write_atomically(target, content)
    return target


def refuse_existing(target: Path) -> None:
    """Refuse a target that exists, before anything is written or recorded.

    A command line names its target without asking, so a slip of the pen must not replace
    a file not yet carried away, or the vault itself; the GUI's save dialogs ask instead.
    """
    if target.exists() or target.is_symlink():
        raise exists_already(target)
