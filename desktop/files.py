"""Files Haven hands to people: written whole or not at all, readable by the owner only."""

from __future__ import annotations

import os
from pathlib import Path


def write_private_file(target: Path, content: bytes) -> Path:
    """Write `content` to `target` with mode 0600 via a temp file, fsync and rename."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            # A removable stick may be pulled out right after the message says "saved".
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target
