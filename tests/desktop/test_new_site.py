"""A new site's first week at the command line: what each step tells the IT officer next."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import PASSWORD, REPO, cli_env


def _haven_admin(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", *args],
        capture_output=True, text=True, env=env, timeout=120, check=False, cwd=REPO,
    )


def test_a_forgotten_data_folder_is_not_answered_with_init(tmp_path: Path) -> None:
    """The site lives in its own folder; a command run without --data must send the IT
    officer back to that folder, not on to create a second site in the default one."""
    password_file = tmp_path / "password.txt"
    password_file.write_text(PASSWORD + "\n")
    site = tmp_path / "north"
    env = cli_env(XDG_DATA_HOME=str(tmp_path / "default"), HOME=str(tmp_path / "home"))
    made = _haven_admin("--data", str(site), "init", "--site-name", "North", "--admin", "anna",
                        "--new-password-file", str(password_file), "--kdf-memory", "19",
                        "--kdf-passes", "2", env=env)
    assert made.returncode == 0, made.stderr

    forgot = _haven_admin("--user", "anna", "--password-file", str(password_file),
                          "user", "list", env=env)

    assert forgot.returncode == 2
    assert forgot.stderr.count("\n") == 1
    assert "give the site's data folder with --data (or HAVEN_DATA)" in forgot.stderr
    assert "run 'haven-admin init' first" not in forgot.stderr
