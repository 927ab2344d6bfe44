"""Numbered, self-contained SQL migrations, applied in order inside one transaction each."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(Exception):
    """The vault's schema is newer than this Haven, or a migration failed."""


def available_migrations() -> list[tuple[int, str]]:
    """(version, SQL text) of every bundled migration, in order."""
    found: list[tuple[int, str]] = []
    for entry in resources.files("db.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text("utf-8")))
    found.sort()
    versions = [version for version, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"migrations are not numbered 1..n: {versions}")
    return found


def latest_version() -> int:
    return len(available_migrations())


def schema_version(conn: Any) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: Any) -> list[int]:
    """Bring the schema up to date; returns the versions applied."""
    current = schema_version(conn)
    migrations = available_migrations()
    if current > len(migrations):
        raise MigrationError(
            f"this vault has schema {current}, newer than this Haven knows ({len(migrations)})"
        )
    applied: list[int] = []
    for version, sql in migrations[current:]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split_statements(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version:d}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.append(version)
    return applied


def _split_statements(sql: str) -> list[str]:
    """Split on semicolons at line ends; the migrations keep one statement per such end."""
    statements: list[str] = []
    buffer: list[str] = []
    for line in sql.splitlines():
        stripped = line.strip()
        if stripped.startswith("--") or not stripped:
            continue
        buffer.append(line)
        if stripped.endswith(";"):
            statements.append("\n".join(buffer))
            buffer = []
    if buffer:
        statements.append("\n".join(buffer))
    return statements
