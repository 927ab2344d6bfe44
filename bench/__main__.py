"""`make bench`: each figure beside a baseline measured in the same run.

Builds (once, cached in .bench-data/) a demo vault with at least 1,000,000 persons,
makes an unencrypted copy with the same rows for the plain-SQLite baseline, then
runs every bench module. Set HAVEN_BENCH_PERSONS to bench a smaller vault.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import core

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("bench.bench_handoff", "bench.bench_gui", "bench.bench_transfer")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores"
    return f"{system}, {cpu}, Python {platform.python_version()}"


def print_rows(title: str, rows: list[tuple[str, str, str]]) -> None:
    print(f"\n## {title}")
    width = max((len(r[0]) for r in rows), default=10)
    for what, figure, baseline in rows:
        print(f"  {what:<{width}}  {figure:<28}  baseline: {baseline}")
    sys.stdout.flush()


def main() -> int:
    print(f"Haven bench on {machine()}")
    persons = int(os.environ.get("HAVEN_BENCH_PERSONS", "1000000"))
    started = time.perf_counter()
    vault_dir = core.ensure_vault(ROOT / ".bench-data", persons, progress=print)
    os.environ.setdefault("HAVEN_BENCH_DATA", str(vault_dir))
    os.environ.setdefault("HAVEN_BENCH_USER", core.USER)
    os.environ.setdefault("HAVEN_BENCH_PASSWORD", core.PASSWORD)
    print(f"(vault ready in {time.perf_counter() - started:.0f} s)")
    print_rows("vault, search and intake", core.run(vault_dir))
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        run: Callable[[], list[tuple[str, str, str]]] = module.run
        print_rows(name.split(".")[-1].removeprefix("bench_"), run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
