"""Handoff sheet rendering time, beside a minimal reportlab document rendered in the same run.

Target (DESIGN.md): at most 100 ms per sheet. Every timed sheet gets its own
serial, so each one signs a new token and encodes a new QR code, as real prints do.
A print through the vault (register entry, the audit root the sheet shows, rendering,
audit entry) is timed on a site whose audit log holds 1,000,000 entries, built once
and cached in .bench-data/; set HAVEN_BENCH_AUDIT_ENTRIES for another size.
"""

from __future__ import annotations

import dataclasses
import io
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate

from bench.core import PASSWORD, USER, cached_site
from db import audit, audit_tree, merkle
from db.records import (
    Case,
    CaseKind,
    Channel,
    ContactEntry,
    ContactStage,
    Mobilization,
    Person,
    Status,
)
from desktop import demo
from desktop.handoff import SANS, HandoffSheet, register_bundled_fonts, render_handoff_sheet
from desktop.keycard import render_key_card
from desktop.printing import PRINTABLE, print_handoff_sheet
from desktop.session import Session

ROOT = Path(__file__).resolve().parents[1]

RUNS = 50
NAMES = (
    "Петренко Олександр Іванович",
    "Коваленко Дмитро Сергійович",
    "Шевчук Андрій Миколайович",
    "Бондаренко Юрій Васильович",
    "Ткаченко Євген Олегович",
    "Кравченко Ігор Петрович",
    "Олійник Сергій Вікторович",
    "Мельник Тарас Богданович",
    "Іванов Иван Иванович",
    "Щербак Ярослав Анатолійович",
    "Лисенко Максим Юрійович",
    "Гнатюк Віталій Степанович",
)
WHEN = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def _sheet(persons: int) -> HandoffSheet:
    people = tuple(
        Person(
            full_name=NAMES[index % len(NAMES)],
            birth_date=f"199{index % 10}-0{1 + index % 9}-1{index % 10}",
            rank="рядовий",
            unit=f"в/ч А{1000 + index}, 3-й механізований батальйон",
            mobilization=list(Mobilization)[index % len(Mobilization)],
            notes="шрам над лівою бровою" if index % 3 == 0 else None,
        )
        for index in range(persons)
    )
    case = Case(
        id="3f2b9c1e-8d4a-4f6b-9c2d-1a2b3c4d5e6f",
        ref="K7M-4PQ-X",
        kind=CaseKind.SURRENDER,
        channel=Channel.PHONE,
        status=Status.HANDOFF_ARRANGED,
        persons=people,
        created_at=WHEN,
        updated_at=WHEN,
        created_by="oper.kovalenko",
        origin_site="9a1c0d6e5b4f4a3b8c7d6e5f4a3b2c1d",
        group_size=persons,
        condition="втомлені, один легко поранений",
        meeting_point="Зупинка «Лісова», 2 км на північ від с. Степове",
        receiving_unit="Група прийому №3",
        window_start=WHEN + timedelta(days=1),
        window_end=WHEN + timedelta(days=1, hours=2),
    )
    contacts = tuple(
        ContactEntry(
            case.id,
            WHEN + timedelta(hours=6 * index),
            Channel.MESSENGER,
            "oper.kovalenko",
            list(ContactStage)[index % len(ContactStage)],
            "Абонент повідомив, що перебуває разом із групою у лісосмузі. " * (1 + index),
        )
        for index in range(3)
    )
    return HandoffSheet(
        site_id=case.origin_site,
        site_name="Пункт «Хочу жити» — Київ",
        serial="HS-000000",
        case=case,
        contacts=contacts,
        operator="oper.kovalenko",
        printed_by="mgr.shevchenko",
        printed_at=WHEN + timedelta(hours=22),
        copy_number=0,
        audit_root="5d" * 32,
    )


def _minimal_document() -> bytes:
    buffer = io.BytesIO()
    style = ParagraphStyle("body", fontName=SANS, fontSize=10)
    SimpleDocTemplate(buffer, pagesize=A4, initialFontName=SANS).build(
        [Paragraph("Мінімальний документ / Minimal document.", style)]
    )
    return buffer.getvalue()


def _timings(render: Callable[[int], object]) -> list[float]:
    samples = []
    for run in range(RUNS):
        started = time.perf_counter()
        render(run)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _median_p95(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return f"median {statistics.median(ordered):.0f} ms, p95 {p95:.0f} ms"


def _print_site(entries: int) -> Path:
    """A site with printable cases and an audit log of ``entries`` entries, made once."""
    def fill(session: Session) -> None:
        demo.make_demo_cases(session, 200, seed=11)
        with session.vault.transaction() as conn:
            for number in range(audit_tree.local_size(conn), entries):
                audit.append(conn, USER, "case_viewed", detail=f"bench view {number}")

    return cached_site(ROOT / ".bench-data" / f"print-site-{entries}", "Bench print site", fill)


def _prints_through_the_vault() -> list[tuple[str, str, str]]:
    entries = int(os.environ.get("HAVEN_BENCH_AUDIT_ENTRIES", "1000000"))
    folder = _print_site(entries)
    session = Session.open(folder, USER, PASSWORD)
    with session.vault.transaction() as conn:  # as before the upgrade to schema 4
        conn.execute("DELETE FROM audit_blocks")
    session.close()
    started = time.perf_counter()
    Session.open(folder, USER, PASSWORD).close()
    upgrade_s = time.perf_counter() - started
    started = time.perf_counter()
    session = Session.open(folder, USER, PASSWORD)
    unlock_s = time.perf_counter() - started
    try:
        case = next(iter(session.cases_full(PRINTABLE)))
        samples = _timings(lambda _: print_handoff_sheet(session, case.id))
        with session.vault.reading() as conn:
            size = audit_tree.local_size(conn)
            started = time.perf_counter()
            merkle.root(audit.leaf_hashes(conn))
            whole_ms = (time.perf_counter() - started) * 1000
    finally:
        session.close()
    label = f"{len(case.persons)} person{'s' if len(case.persons) > 1 else ''}"
    return [(
        f"print through the vault, {label}, audit log of {size:,}",
        _median_p95(samples),
        f"the log's root from every entry: {whole_ms:,.0f} ms; unlock storing the log's"
        f" block hashes (after an upgrade): {upgrade_s:.1f} s, later: {unlock_s:.1f} s",
    )]


def run() -> list[tuple[str, str, str]]:
    """Time handoff sheets of 1, 3 and 12 persons and a key card against a minimal document."""
    key = Ed25519PrivateKey.generate()
    started = time.perf_counter()
    register_bundled_fonts()
    fonts_ms = (time.perf_counter() - started) * 1000
    _minimal_document()
    baseline = f"minimal reportlab doc: {_median_p95(_timings(lambda _: _minimal_document()))}"

    rows = [("bundled fonts, loaded once per process", f"{fonts_ms:.0f} ms", "one-off")]
    for persons, label in ((1, "1 person"), (3, "3 persons"), (12, "12 persons")):
        sheet = _sheet(persons)
        render_handoff_sheet(sheet, key)
        samples = _timings(
            lambda run, sheet=sheet: render_handoff_sheet(
                dataclasses.replace(sheet, serial=f"HS-{run:06d}"), key
            )
        )
        rows.append((f"handoff sheet, {label}", _median_p95(samples), baseline))
    openssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINbItjNMwpqgK8ATr7YPIfdJ1ciRk72dhGfhYupkLoE3"
    recipient = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
    card = _timings(
        lambda run: render_key_card("Пункт", f"site-{run}", openssh, recipient, "SHA256:abcd")
    )
    rows.append(("site key card", _median_p95(card), baseline))
    return rows + _prints_through_the_vault()


if __name__ == "__main__":
    for what, figure, base in run():
        print(f"{what:<42} {figure:<28} baseline: {base}")
