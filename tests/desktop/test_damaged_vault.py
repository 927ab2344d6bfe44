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



def test_a_damaged_keyslot_file_says_so_and_what_to_do(site: Site, run_cli) -> None:  # type: ignore[no-untyped-def]
    site.session.close()
    path = site.data / "keyslots.json"
    path.write_bytes(path.read_bytes()[:200])  # cut short
    result = run_cli("case", "list", data=site.data)
    assert result.returncode == 1
    assert result.stderr == (
        "haven-admin: the keyslot file keyslots.json is damaged (it is not readable JSON):"
        " restore the latest backup into a new folder\n"
    )


def test_a_damaged_keyslot_is_not_called_a_wrong_password(site: Site, run_cli) -> None:  # type: ignore[no-untyped-def]
    from db.records import Role
    from tests.conftest import FAST_KDF, PASSWORD, spoil_slot

    site.session.add_user("olena", Role.OPERATOR, PASSWORD, FAST_KDF)
    site.session.close()
    spoil_slot(site.data, "olena", salt="not base64!")

    result = run_cli("case", "list", data=site.data, user="olena")
    assert result.returncode == 1
    assert result.stderr == (
        "haven-admin: the keyslot of 'olena' is damaged, so no password opens it: have an"
        " admin give 'olena' a new password (haven-admin user passwd olena)\n"
    )
    given = run_cli("user", "passwd", "olena", "--new-password-file",
                    str(run_cli.password_file), "--kdf-memory", "19", "--kdf-passes", "2",
                    data=site.data)
    assert given.returncode == 0, given.stderr
    assert run_cli("case", "list", data=site.data, user="olena").returncode == 0


def test_a_damaged_first_page_points_to_the_backup(site: Site, run_cli) -> None:  # type: ignore[no-untyped-def]
    site.session.close()
    path = site.data / "haven.db"
    raw = bytearray(path.read_bytes())
    raw[100:107] = b"garbage"  # inside page 1, where SQLCipher checks the key
    path.write_bytes(bytes(raw))
    result = run_cli("case", "list", data=site.data)
    assert result.returncode == 1
    assert result.stderr == (
        "haven-admin: the database does not open with this key: it is damaged or belongs to"
        " another vault; if it is this vault's, damaged, restore the latest backup into a new"
        " folder\n"
    )
