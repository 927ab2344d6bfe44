"""A killed process never costs the vault its integrity or an acknowledged case."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from db.vault import Vault
from desktop.session import Session
from tests.conftest import FAST_KDF, PASSWORD, REPO, cli_env


@pytest.mark.slow
def test_sigkill_during_demo_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data = tmp_path / "site"
    Session.create_site(data, "Crash site", "admin", PASSWORD, FAST_KDF)[0].close()
    password_file = tmp_path / "pw"
    password_file.write_text(PASSWORD + "\n")
    rng = random.Random(20261127)
    acknowledged = 0
    for round_number in range(8):
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "desktop.cli",
                "--data",
                str(data),
                "--user",
                "admin",
                "--password-file",
                str(password_file),
                "demo",
                "--cases",
                "200000",
                "--seed",
                str(round_number),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
            cwd=REPO,
        )
        assert process.stdout is not None
        # Kill after a random number of acknowledged batches, or in the middle of the first.
        wanted = rng.randint(0, 2)
        seen = 0
        while seen < wanted:
            line = process.stdout.readline()
            if not line:
                break
            seen += 1
        time.sleep(rng.uniform(0.0, 0.4))
        process.send_signal(signal.SIGKILL)
        rest, errors = process.communicate()
        assert "Traceback" not in errors
        acknowledged += (
            seen * 2000 + sum(1 for line in rest.splitlines() if "committed" in line) * 2000
        )

        vault = Vault.unlock(data, "admin", PASSWORD)
        try:
            assert vault.integrity_problems() == []
            stored = vault.conn.execute("SELECT count(*) FROM cases").fetchone()[0]
            assert stored >= acknowledged, f"round {round_number}: {stored} < {acknowledged}"
            acknowledged = stored
            vault.conn.execute(
                "INSERT INTO person_search (person_search) VALUES ('integrity-check')"
            )
        finally:
            vault.close()
