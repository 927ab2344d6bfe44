"""The print register: every handoff sheet printed, original or copy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db.cases import case_rowid
from db.vault import format_time, parse_time


@dataclass(frozen=True, slots=True)
class PrintRecord:
    serial_number: int
    copy_number: int
    printed_at: datetime
    printed_by: str
    content_digest: bytes


def register_print(
    conn: Any, case_id: str, copy_number: int, printed_at: datetime, by: str, digest: bytes
) -> int:
    """Enter a print; returns its serial number."""
    cursor = conn.execute(
        "INSERT INTO print_register (case_rowid, copy_number, printed_at, printed_by,"
        " content_digest) VALUES (?, ?, ?, ?, ?)",
        (case_rowid(conn, case_id), copy_number, format_time(printed_at), by, digest),
    )
    return int(cursor.lastrowid)


def set_digest(conn: Any, serial_number: int, digest: bytes) -> None:
    conn.execute(
        "UPDATE print_register SET content_digest = ? WHERE serial = ?", (digest, serial_number)
    )


def prints_for(conn: Any, case_id: str) -> list[PrintRecord]:
    return [
        PrintRecord(row[0], row[1], parse_time(row[2]), row[3], bytes(row[4]))
        for row in conn.execute(
            "SELECT serial, copy_number, printed_at, printed_by, content_digest"
            " FROM print_register WHERE case_rowid = ? ORDER BY serial",
            (case_rowid(conn, case_id),),
        )
    ]


def find_print(conn: Any, case_id: str, serial: str, prefix: str) -> PrintRecord | None:
    """The register entry for a serial like 'K7-000012' of this site, if any."""
    head, _, number = serial.rpartition("-")
    if head != prefix or not number.isdigit():
        return None
    row = conn.execute(
        "SELECT p.serial, p.copy_number, p.printed_at, p.printed_by, p.content_digest"
        " FROM print_register p JOIN cases c ON c.rowid = p.case_rowid"
        " WHERE p.serial = ? AND c.id = ?",
        (int(number), case_id),
    ).fetchone()
    if row is None:
        return None
    return PrintRecord(row[0], row[1], parse_time(row[2]), row[3], bytes(row[4]))
