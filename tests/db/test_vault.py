"""The vault on disk: encrypted everywhere, private, and refusing what it cannot trust."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from db.keyslots import KdfParams
from db.records import CaseKind, Channel, NewCase, Person
from db.vault import Vault, VaultError
from desktop.errors import AuthenticationFailed, HavenError
from desktop.session import Session
from tests.conftest import spoil_slot

NAME = "Коваленко Марʼяна Петрівна"
PHONE = "+380671234567"


def _add_case(session: Session) -> str:
    result = session.register_case(
        NewCase(
            kind=CaseKind.SURRENDER,
            channel=Channel.PHONE,
            persons=(Person(full_name=NAME, birth_date="1990-04-12", phone=PHONE),),
            location="Херсонська обл.",
        )
    )
    return result.ref


def _all_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_nothing_personal_is_readable_in_any_file_of_the_site(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for _ in range(20):
        _add_case(site.session)
    # While the vault is open the WAL holds the latest pages: check it too.
    files = _all_bytes(site.data)
    assert "haven.db-wal" in files
    site.session.close()
    files.update(_all_bytes(site.data))
    needles = [
        NAME.encode("utf-8"),
        "Коваленко".encode(),
        "Коваленко".encode("utf-16-le"),
        PHONE.encode(),
        b"380671234567",
        b"kovalenko",
        b"SQLite format 3",
    ]
    for name, content in files.items():
        for needle in needles:
            assert needle not in content, f"{needle!r} found in {name}"


def test_plain_sqlite_cannot_read_the_database(site) -> None:  # type: ignore[no-untyped-def]
    _add_case(site.session)
    site.session.close()
    conn = sqlite3.connect(site.data / "haven.db")
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("SELECT * FROM sqlite_master").fetchall()
    conn.close()


def test_files_are_private(site) -> None:  # type: ignore[no-untyped-def]
    _add_case(site.session)
    for path in site.data.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path.name
    assert site.data.stat().st_mode & 0o077 == 0


def test_wrong_password_and_unknown_user_are_refused_alike(site) -> None:  # type: ignore[no-untyped-def]
    site.session.close()
    with pytest.raises(AuthenticationFailed, match="wrong user name or password"):
        Session.open(site.data, "admin", "not the password")
    with pytest.raises(AuthenticationFailed, match="wrong user name or password"):
        Session.open(site.data, "nobody", "not the password")


def test_failed_logins_reach_the_audit_log_after_the_next_login(site) -> None:  # type: ignore[no-untyped-def]
    site.session.close()
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            Session.open(site.data, "admin", "wrong password")
    journal = (site.data / "failed-logins.jsonl").read_bytes()
    assert b"admin" not in journal  # sealed: the name tried is not readable
    session = Session.open(site.data, "admin", site.password)
    try:
        conn = session.vault.conn
        failed = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action='login_failed'"
        ).fetchone()
        assert failed[0] == 5
        assert not (site.data / "failed-logins.jsonl").exists()
    finally:
        session.close()


def test_a_corrupted_slot_leaves_other_users_able_to_open(site, fast_kdf: KdfParams) -> None:  # type: ignore[no-untyped-def]
    site.session.add_user(
        "olena", __import__("db.records").records.Role.OPERATOR, "olena password", fast_kdf
    )
    site.session.close()
    spoil_slot(site.data, "admin", nonce="@@@")
    with pytest.raises(HavenError, match="the keyslot of 'admin' is damaged"):
        Session.open(site.data, "admin", site.password)
    Session.open(site.data, "olena", "olena password").close()
    recovered = Vault.unlock_with_recovery_key(site.data, site.recovery_key)
    recovered.close()


def test_the_recovery_key_opens_the_vault(site) -> None:  # type: ignore[no-untyped-def]
    ref = _add_case(site.session)
    site.session.close()
    vault = Vault.unlock_with_recovery_key(site.data, site.recovery_key.lower())
    try:
        assert vault.conn.execute("SELECT ref FROM cases").fetchone()[0] == ref
    finally:
        vault.close()


def test_a_database_from_another_vault_is_refused(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import FAST_KDF, PASSWORD

    other, _ = Session.create_site(tmp_path / "other", "Other", "admin", PASSWORD, FAST_KDF)
    other.close()
    site.session.close()
    (site.data / "haven.db").write_bytes((tmp_path / "other" / "haven.db").read_bytes())
    with pytest.raises(VaultError, match="does not open with this key"):
        Vault.unlock(site.data, "admin", PASSWORD)


@pytest.mark.parametrize("where", ["a-file", "a-file/inside"])
def test_a_vault_is_not_made_where_a_file_stands(tmp_path: Path, where: str) -> None:
    from tests.conftest import FAST_KDF, PASSWORD

    (tmp_path / "a-file").write_text("notes\n")
    with pytest.raises(VaultError, match=r"is a file, not a folder|cannot make the folder"):
        Vault.create(tmp_path / where, site_name="S", ref_prefix="SS", site_id="a" * 32,
                     admin="admin", password=PASSWORD, kdf=FAST_KDF)
    assert (tmp_path / "a-file").read_text() == "notes\n"


def test_a_failed_login_while_another_user_logs_in_is_not_lost(site, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from db import login_journal

    site.session.close()
    with pytest.raises(AuthenticationFailed):
        Session.open(site.data, "admin", "wrong password")
    drain = login_journal.drain

    def drain_then_another_failure(path, key):  # type: ignore[no-untyped-def]
        found = drain(path, key)
        with pytest.raises(AuthenticationFailed):  # between the claim and the clear
            Session.open(site.data, "admin", "wrong again")
        return found

    monkeypatch.setattr(login_journal, "drain", drain_then_another_failure)
    Session.open(site.data, "admin", site.password).close()
    monkeypatch.setattr(login_journal, "drain", drain)
    session = Session.open(site.data, "admin", site.password)
    try:
        failed = session.vault.conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'login_failed'"
        ).fetchone()[0]
        assert failed == 2
        assert list(site.data.glob("failed-logins*")) == []
    finally:
        session.close()


def test_a_login_that_stops_before_auditing_leaves_the_failures_to_the_next(site) -> None:  # type: ignore[no-untyped-def]
    from db import login_journal

    site.session.close()
    with pytest.raises(AuthenticationFailed):
        Session.open(site.data, "admin", "wrong password")
    vault = Vault.unlock(site.data, "admin", site.password)  # claims, audits nothing
    assert len(vault.pending_failed_logins) == 1
    vault.close()
    assert not (site.data / "failed-logins.jsonl").exists()
    session = Session.open(site.data, "admin", site.password)
    try:
        assert session.vault.conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'login_failed'"
        ).fetchone()[0] == 1
    finally:
        session.close()
    assert login_journal.drain(site.data / "failed-logins.jsonl", _site_key(site)) == ([], [])


def _site_key(site):  # type: ignore[no-untyped-def]
    session = Session.open(site.data, "admin", site.password)
    try:
        return session.vault.site_encryption_key()
    finally:
        session.close()


def test_a_damaged_journal_key_still_answers_a_wrong_password(site) -> None:  # type: ignore[no-untyped-def]
    site.session.close()
    path = site.data / "keyslots.json"
    document = json.loads(path.read_text())
    document["journal_key"] = "AAAA"  # three bytes, not a key
    path.write_text(json.dumps(document))
    with pytest.raises(AuthenticationFailed, match="wrong user name or password"):
        Session.open(site.data, "admin", "wrong password")
    Session.open(site.data, "admin", site.password).close()


def test_a_slot_edited_to_cost_more_than_the_ceiling_is_set_aside(site) -> None:  # type: ignore[no-untyped-def]
    site.session.close()
    path = site.data / "keyslots.json"
    document = json.loads(path.read_text())
    slot = next(s for s in document["slots"] if s["user"] == "admin")
    slot["kdf"]["iterations"] = 2_000_000_000  # would hang every login for hours
    path.write_text(json.dumps(document))
    with pytest.raises(HavenError, match="the keyslot of 'admin' is damaged"):
        Session.open(site.data, "admin", site.password)
