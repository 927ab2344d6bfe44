"""Haven never opens a network connection; these prove the test suite would notice."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO, NetworkAttempted, cli_env


def test_a_connection_attempt_in_process_fails_the_test() -> None:
    with pytest.raises(NetworkAttempted), socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.connect(("127.0.0.1", 9))


def test_a_connection_attempt_in_a_haven_subprocess_fails_it() -> None:
    code = "import socket; socket.create_connection(('127.0.0.1', 9), timeout=1)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=cli_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 99
    assert "NETWORK CONNECTION ATTEMPTED" in result.stderr


def test_no_haven_module_imports_a_network_library() -> None:
    offenders = []
    for path in REPO.glob("*/**/*.py"):
        if path.parts[len(REPO.parts)] not in {"db", "desktop", "ui"}:
            continue
        text = path.read_text("utf-8")
        for module in ("socket", "urllib", "http.client", "requests", "ssl", "QtNetwork"):
            if f"import {module}" in text or f"from {module} " in text:
                offenders.append(f"{path.relative_to(REPO)}: {module}")
    assert offenders == []
