"""A crash of Haven writes no core file, whatever the machine allows: its memory holds the
vault's key and decrypted cases."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO, cli_env

CRASH = """
import ctypes, os, signal
from desktop.memory import no_core_dumps
no_core_dumps()
print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0), flush=True)  # PR_GET_DUMPABLE
os.kill(os.getpid(), signal.SIGSEGV)
"""


def test_a_crash_after_no_core_dumps_leaves_no_core_file(tmp_path: Path) -> None:
    crashed = subprocess.run(
        ["sh", "-c", 'ulimit -c unlimited 2>/dev/null; exec "$@"', "sh",
         sys.executable, "-c", CRASH],
        cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=60, check=False,
    )
    assert crashed.returncode == -signal.SIGSEGV
    assert crashed.stdout.strip() == "0"  # not dumpable
    assert list(tmp_path.iterdir()) == []  # no core, core.PID or anything else


def test_haven_admin_allows_no_core_file(tmp_path: Path) -> None:
    # Waiting for its password on stdin, haven-admin shows its limits in /proc.
    waiting = subprocess.Popen(
        [sys.executable, "-m", "desktop.cli", "--data", str(tmp_path / "site"), "--user",
         "admin", "--password-file", "-", "case", "list"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=cli_env(), cwd=REPO,
    )
    try:
        limits = Path(f"/proc/{waiting.pid}/limits")
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline:
            line = next(row for row in limits.read_text().splitlines()
                        if row.startswith("Max core file size"))
            if line.split()[4:6] == ["0", "0"]:
                break
            time.sleep(0.05)
        assert line.split()[4:6] == ["0", "0"], line
    finally:
        waiting.kill()
        waiting.communicate()
