"""Files Haven hands to people: written whole or not at all, readable by the owner only."""

from __future__ import annotations

from pathlib import Path

from db.keyslots import write_atomically


def write_private_file(target: Path, content: bytes) -> Path:
    """Write `content` to `target` with mode 0600: temp file, fsync, rename, fsync folder.

    The fsyncs matter for a removable stick pulled out right after the message says "saved".
    """
    write_atomically(target, content)
    return target
