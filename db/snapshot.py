"""A consistent copy of the encrypted database, still encrypted, for backups."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlcipher3

from db.growth import growth_watched


def write_encrypted_copy(
    conn: Any, target: Path, progress: Callable[[int, int], None] | None = None
) -> None:
    """Write the whole database to ``target`` as of one moment, encrypted with the same key.

    SQLCipher's ``VACUUM INTO`` runs in one read transaction and writes through the
    connection's cipher, so the copy is consistent and never holds plaintext pages.
    ``progress`` is told (bytes written, bytes expected) as the copy grows: SQLite tells no
    fraction of a VACUUM, so the copy's size is measured against the pages in use.
    """
    # VACUUM INTO accepts an empty file, so it can be made private before anything is written.
    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        with growth_watched(target, _bytes_in_use(conn), progress):
            conn.execute("VACUUM INTO ?", (str(target),))
    except sqlcipher3.OperationalError as exc:
        if exc.sqlite_errorcode == sqlcipher3.SQLITE_FULL:  # what a full disk is to a file
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target)) from None
        raise


def _bytes_in_use(conn: Any) -> int:
    """About what a VACUUM writes: the database's pages less its free ones."""
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    # SQLCipher answers PRAGMA page_size itself, as text.
    return (pages - free) * int(conn.execute("PRAGMA page_size").fetchone()[0])
