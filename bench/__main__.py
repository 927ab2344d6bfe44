"""`make bench`: each figure beside a baseline measured in the same run.

Builds (once, cached in .bench-data/) a demo vault with at least 1,000,000 persons,
makes an unencrypted copy with the same rows for the plain-SQLite baseline, then
runs every bench module. Set HAVEN_BENCH_PERSONS to bench a smaller vault.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
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
        print_rows(name.split(".")[-1].removeprefix("bench_"), run_isolated(name))
    return 0


def run_isolated(module: str) -> list[tuple[str, str, str]]:
    """Run one bench module in a fresh process, so memory figures are its own."""
    code = f"import json, {module} as m; print('ROWS ' + json.dumps(m.run()))"
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
        check=False,
    )
    for line in result.stdout.splitlines():
        if line.startswith("ROWS "):
            return [tuple(row) for row in json.loads(line[5:])]  # type: ignore[misc]
    last = (result.stderr.strip().splitlines() or ["no output"])[-1]
    return [(module, "failed", last)]


if __name__ == "__main__":
    sys.exit(main())
