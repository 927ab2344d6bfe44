"""A consistent copy of the encrypted database, still encrypted, for backups."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import sqlcipher3


def write_encrypted_copy(conn: Any, target: Path) -> None:
    """Write the whole database to ``target`` as of one moment, encrypted with the same key.

    SQLCipher's ``VACUUM INTO`` runs in one read transaction and writes through the
    connection's cipher, so the copy is consistent and never holds plaintext pages.
    """
    # VACUUM INTO accepts an empty file, so it can be made private before anything is written.
    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        conn.execute("VACUUM INTO ?", (str(target),))
    except sqlcipher3.OperationalError as exc:
        if exc.sqlite_errorcode == sqlcipher3.SQLITE_FULL:  # what a full disk is to a file
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target)) from None
        raise
