"""Accounts and their roles, kept inside the encrypted database."""

from __future__ import annotations

from typing import Any

from db.records import Role, SiteInfo, User
from db.vault import format_time, now_utc, parse_time


class UserExists(ValueError):
    """An account with this name already exists."""


class UnknownUser(LookupError):
    """No account with this name."""


def get_user(conn: Any, name: str) -> User | None:
    row = conn.execute(
        "SELECT name, role, disabled, created_at FROM users WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        return None
    return User(
        name=row[0], role=Role(row[1]), disabled=bool(row[2]), created_at=parse_time(row[3])
    )


def list_users(conn: Any) -> list[User]:
    return [
        User(name=row[0], role=Role(row[1]), disabled=bool(row[2]), created_at=parse_time(row[3]))
        for row in conn.execute("SELECT name, role, disabled, created_at FROM users ORDER BY name")
    ]


def add_user(conn: Any, name: str, role: Role) -> None:
    if get_user(conn, name) is not None:
        raise UserExists(f"user {name!r} already exists")
    conn.execute(
        "INSERT INTO users (name, role, disabled, created_at) VALUES (?, ?, 0, ?)",
        (name, role.value, format_time(now_utc())),
    )


def set_disabled(conn: Any, name: str, disabled: bool) -> None:
    cursor = conn.execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name))
    if cursor.rowcount == 0:
        raise UnknownUser(f"no user {name!r}")


def set_rekey_owed(conn: Any, owed: bool) -> None:
    """Whether an account was disabled since the vault was last re-keyed."""
    if owed:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('rekey_owed', '1')")
    else:
        conn.execute("DELETE FROM meta WHERE key = 'rekey_owed'")


def rekey_owed(conn: Any) -> bool:
    return conn.execute("SELECT 1 FROM meta WHERE key = 'rekey_owed'").fetchone() is not None


def site_info(conn: Any) -> SiteInfo:
    row = conn.execute("SELECT site_id, name, ref_prefix FROM site").fetchone()
    return SiteInfo(site_id=row[0], name=row[1], ref_prefix=row[2])


def site_places(conn: Any, kind: str) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT name FROM site_places WHERE kind = ? AND active = 1 ORDER BY name", (kind,)
        )
    ]


def set_site_places(conn: Any, kind: str, names: list[str]) -> None:
    """Make the active list exactly `names`; removed places stay, inactive, for old cases."""
    conn.execute("UPDATE site_places SET active = 0 WHERE kind = ?", (kind,))
    for name in names:
        conn.execute(
            "INSERT INTO site_places (kind, name, active) VALUES (?, ?, 1)"
            " ON CONFLICT (kind, name) DO UPDATE SET active = 1",
            (kind, name),
        )
