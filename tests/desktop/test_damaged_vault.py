"""A vault whose database file was damaged says so in one line, and is left as it was."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.conftest import Site


def damage(data: Path) -> str:
    """Overwrite bytes in the database's second page; the file's digest afterwards."""
    path = data / "haven.db"
    raw = bytearray(path.read_bytes())
    raw[5000:5008] = b"garbage!"
    path.write_bytes(bytes(raw))
    return hashlib.sha256(raw).hexdigest()


def test_a_damaged_page_is_one_clear_line_from_the_cli(site: Site, run_cli) -> None:  # type: ignore[no-untyped-def]
    site.session.close()
    digest = damage(site.data)
    result = run_cli("case", "list", data=site.data)
    assert result.returncode == 1
    assert result.stderr == (
        "haven-admin: the vault's database is damaged (a page fails its check: the file was"
        " altered or its disk is failing); nothing was changed; restore the latest backup\n"
    )
    assert hashlib.sha256((site.data / "haven.db").read_bytes()).hexdigest() == digest

