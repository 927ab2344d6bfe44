"""Vault benchmarks: search as you type, intake save, and size, against plain SQLite."""

from __future__ import annotations

import hashlib
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlcipher3

from db import cases, search
from db.keyslots import KdfParams
from db.records import CaseKind, Channel, NewCase, Person
from db.vault import now_utc
from desktop import demo, refcode
from desktop.session import Session

USER = "bench"
PASSWORD = "bench password 2026"  # noqa: S105 - a synthetic bench site
# The bench measures the vault, not the KDF: the smallest legal cost keeps reruns quick.
BENCH_KDF = KdfParams(memory_kib=19 * 1024, iterations=2, lanes=1)
PERSONS_PER_CASE = 1.6


def _persons(folder: Path) -> int:
    session = Session.open(folder, USER, PASSWORD)
    try:
        with session.vault.reading() as conn:
            return int(conn.execute("SELECT count(*) FROM persons").fetchone()[0])
    finally:
        session.close()


def ensure_vault(cache: Path, persons: int, progress: Callable[[str], None]) -> Path:
    """A demo vault with at least `persons` persons, built once and reused."""
    folder = cache / f"vault-{persons}"
    if folder.exists():
        try:
            if _persons(folder) >= persons:
                return folder
        except Exception:
            progress("(cached bench vault unusable; rebuilding)")
        shutil.rmtree(folder)
    cache.mkdir(exist_ok=True)
    session, _ = Session.create_site(folder, "Bench site", USER, PASSWORD, BENCH_KDF)
    started = time.perf_counter()
    try:
        made = 0
        while True:
            with session.vault.reading() as conn:
                have = int(conn.execute("SELECT count(*) FROM persons").fetchone()[0])
            if have >= persons:
                break
            batch = max(1000, int((persons - have) / PERSONS_PER_CASE) + 1)
            demo.make_demo_cases(session, batch, seed=made + 1)
            made += batch
        elapsed = time.perf_counter() - started
        progress(
            f"demo --cases {made}: {have} persons in {elapsed:.0f} s "
            f"({made / elapsed:,.0f} cases/s)"
        )
    finally:
        session.close()
    return folder


_MADE_BY = "made-by"


def _maker_digest() -> str:
    """What a cached site's contents follow from: the demo data and the vault's schema.

    A site made by another version of either could hold what today's checks refuse
    (a transfer file of its cases would not import), so it is made again.
    """
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in [root / "desktop" / "demo.py", *sorted((root / "db" / "migrations").iterdir())]:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def cached_site(folder: Path, site_name: str, fill: Callable[[Session], None]) -> Path:
    """A site made once in ``folder`` and filled by ``fill``; reused while it exists and was
    made by today's demo data and schema."""
    maker = _maker_digest()
    stamp = folder / _MADE_BY
    if stamp.is_file() and stamp.read_text() == maker:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(exist_ok=True)
    building = folder.with_name(folder.name + ".part")
    shutil.rmtree(building, ignore_errors=True)
    session, _ = Session.create_site(building, site_name, USER, PASSWORD, BENCH_KDF)
    try:
        fill(session)
    finally:
        session.close()
    (building / _MADE_BY).write_text(maker)
    building.rename(folder)
    return folder


def _plain_copy(vault_dir: Path, target: Path) -> None:
    """The same rows in an unencrypted SQLite file, via sqlcipher_export."""
    session = Session.open(vault_dir, USER, PASSWORD)
    try:
        with session.vault.reading() as conn:
            conn.execute(f"ATTACH DATABASE '{target}' AS plain KEY ''")
            conn.execute("SELECT sqlcipher_export('plain')")
            conn.execute("DETACH DATABASE plain")
    finally:
        session.close()


def _queries(rng: random.Random, names: list[str], phones: list[str], refs: list[str]) -> list[str]:
    """What operators type: names growing letter by letter, in both scripts, phones, refs."""
    typed: list[str] = []
    latin = ["Kovalenko", "Ivanov", "Shevchenko", "Petrov", "Bondarenko", "Smirnov", "Hryhorii"]
    for word in [*rng.sample(names, 12), *latin]:
        for end in range(2, min(len(word), 9) + 1):
            typed.append(word[:end])
    for phone in rng.sample(phones, 10):
        typed += [phone[:7], phone[:10], phone]
    for ref in rng.sample(refs, 10):
        typed += [ref[:4], ref]
    return typed


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def _ms(value: float) -> str:
    return f"{value * 1000:.2f} ms"


def _time_search_plain(conn: Any, text: str) -> float:
    ref_keys = [refcode.reference_search_key(text)] if refcode.is_reference_like(text) else []
    query = search.parse_query(text, ref_keys)
    begin = time.perf_counter()
    rowids = search.matching_case_rowids(conn, query, 100)
    cases.summaries_for_rowids(conn, rowids)
    return time.perf_counter() - begin


def run(vault_dir: Path) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="haven-bench-") as temp:
        plain_path = Path(temp) / "plain.db"
        _plain_copy(vault_dir, plain_path)
        plain = sqlcipher3.connect(str(plain_path), isolation_level=None)
        plain.execute("PRAGMA cache_size = -65536")
        session = Session.open(vault_dir, USER, PASSWORD)
        try:
            conn = session.vault.conn
            persons = int(conn.execute("SELECT count(*) FROM persons").fetchone()[0])
            sample = conn.execute(
                "SELECT full_name, phone FROM persons ORDER BY random() LIMIT 200"
            ).fetchall()
            surnames = [name.split()[0] for name, _ in sample]
            phone_list = [phone for _, phone in sample if phone]
            refs = [r[0] for r in conn.execute("SELECT ref FROM cases ORDER BY random() LIMIT 50")]
            typed = _queries(rng, surnames, phone_list, refs)
            for text in typed[:20]:  # warm both page caches alike
                session.search(text)
                _time_search_plain(plain, text)
            vault_times, plain_times = [], []
            for text in typed:
                begin = time.perf_counter()
                session.search(text)
                vault_times.append(time.perf_counter() - begin)
                plain_times.append(_time_search_plain(plain, text))
            ratio = _p95(vault_times) / _p95(plain_times)
            rows.append(
                (
                    f"search as you type, {persons:,} persons, {len(typed)} keystrokes",
                    f"p95 {_ms(_p95(vault_times))} ({ratio:.2f}x)",
                    f"plain SQLite FTS5 same rows p95 {_ms(_p95(plain_times))}",
                )
            )
            rows += _intake(session, plain, rng)
        finally:
            session.close()
            plain.close()
        vault_size = sum(p.stat().st_size for p in vault_dir.iterdir() if p.is_file())
        plain_size = plain_path.stat().st_size
        rows.append(
            (
                "vault size on disk",
                f"{vault_size / 2**20:,.0f} MiB ({vault_size / plain_size:.2f}x)",
                f"plain SQLite {plain_size / 2**20:,.0f} MiB",
            )
        )
    return rows


def _intake(session: Session, plain: Any, rng: random.Random) -> list[tuple[str, str, str]]:
    new = NewCase(
        kind=CaseKind.SURRENDER,
        channel=Channel.PHONE,
        persons=(
            Person(
                full_name="Бенчмарк Олег Іванович", birth_date="1990-01-01", phone="+380501112233"
            ),
        ),
        location="Херсонська обл.",
    )
    saves = []
    prepares = []
    for _ in range(100):
        begin = time.perf_counter()
        prepared = session.prepare_codeword()
        middle = time.perf_counter()
        session.register_case(new, prepared)
        saves.append(time.perf_counter() - middle)
        prepares.append(middle - begin)
    plain_saves = []
    for index in range(100):
        begin = time.perf_counter()
        plain.execute("BEGIN IMMEDIATE")
        cases.insert_case(
            plain,
            new,
            cases.CaseInsert(
                id=f"bench{index:027d}",
                ref=f"BENCH-{index}-{rng.random()}",
                codeword_salt=b"s" * 16,
                codeword_digest=b"d" * 32,
                created_at=now_utc(),
                created_by=USER,
                origin_site="bench",
                hlc="0",
            ),
        )
        plain.execute("COMMIT")
        plain_saves.append(time.perf_counter() - begin)
    return [
        (
            "intake save with audit entry",
            f"p95 {_ms(_p95(saves))}",
            f"plain SQLite insert of the same case p95 {_ms(_p95(plain_saves))}",
        ),
        (
            "codeword preparation (scrypt, while the operator types)",
            f"p95 {_ms(_p95(prepares))}",
            "not on the save path",
        ),
    ]
