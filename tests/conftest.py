"""Shared fixtures: real vaults in temp folders with small Argon2id costs, no network."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from db.keyslots import KdfParams

REPO = Path(__file__).resolve().parents[1]
NONET = Path(__file__).resolve().parent / "nonet"
PASSWORD = "correct horse battery"
# The OWASP floor: the smallest cost the vault accepts, so tests stay fast.
FAST_KDF = KdfParams(memory_kib=19 * 1024, iterations=2, lanes=1)


class NetworkAttempted(AssertionError):
    pass


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open an internet socket fails the test that made it."""
    real_connect = socket.socket.connect

    def refuse(self: socket.socket, address: object, *args: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkAttempted(f"network connection attempted to {address!r}")
        real_connect(self, address, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture
def fast_kdf() -> KdfParams:
    return FAST_KDF


@dataclass
class Site:
    data: Path
    session: Any
    recovery_key: str
    admin: str = "admin"
    password: str = PASSWORD


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A fresh site with an admin signed in."""
    from desktop.session import Session

    data = tmp_path / "site"
    session, recovery = Session.create_site(data, "Test site", "admin", PASSWORD, FAST_KDF)
    yield Site(data, session, recovery)
    with contextlib.suppress(Exception):  # a test may have closed it already
        session.close()


def spoil_slot(data: Path, user: str, **fields: object) -> None:
    """Overwrite fields of the user's keyslot in the vault's keyslot file, as damage would."""
    path = data / "keyslots.json"
    document = json.loads(path.read_text())
    for slot in document["slots"]:
        if slot["user"] == user:
            slot.update(fields)
    path.write_text(json.dumps(document))


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env["PYTHONPATH"] = os.pathsep.join([str(NONET), str(REPO)])
    env.update(extra)
    return env


@pytest.fixture
def run_cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run haven-admin in a subprocess, as an IT officer's script would."""
    return cli_runner(tmp_path)


def cli_runner(folder: Path):  # type: ignore[no-untyped-def]
    """What the run_cli fixture gives, with its password file in ``folder``: for fixtures
    that outlive one test."""
    password_file = folder / "password.txt"
    password_file.write_text(PASSWORD + "\n")

    def run(
        *args: str,
        data: Path,
        user: str | None = "admin",
        stdin: str | None = None,
        password_file_path: Path | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "desktop.cli", "--data", str(data)]
        if user is not None:
            command += ["--user", user, "--password-file", str(password_file_path or password_file)]
        return subprocess.run(
            [*command, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=cli_env(),
            timeout=timeout,
            check=False,
            cwd=REPO,
        )

    run.password_file = password_file  # type: ignore[attr-defined]
    return run


@dataclass
class SmallDisk:
    """A small file system of its own (tmpfs) that a test can fill to the last page."""

    path: Path

    def fill(self) -> Path:
        """Take every free byte with a filler file; returns it (delete it to free the space)."""
        filler = self.path / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 1 << 12, 1):
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, bytes(size))
        finally:
            os.close(fd)
        return filler


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 4 MiB tmpfs, mounted for one test (needs the right to mount, as root in CI has)."""
    point = tmp_path / "small-disk"
    point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(point)],
        capture_output=True, check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("a full disk is made by mounting a small tmpfs, which needs root")
    try:
        yield SmallDisk(point)
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def answering(replies: dict[bytes, bytes]) -> Callable[[bytes], bytes | None]:
    """For run_at_terminal: type each reply once the output ends with its prompt."""
    def answer(output: bytes) -> bytes | None:
        return next((reply for prompt, reply in replies.items() if output.endswith(prompt)),
                    None)
    return answer


def run_at_terminal(
    args: list[str], answer: Callable[[bytes], bytes | None], *,
    env: dict[str, str] | None = None, timeout: float = 120,
) -> tuple[int, bytes]:
    """Run a program with a pseudo-terminal as its terminal; ``answer`` is shown all the
    output so far after each read and returns what to type next, if anything. The exit
    code and the whole output."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the program, with the pty as its terminal
        try:
            os.chdir(REPO)
            os.execvpe(args[0], args, env if env is not None else dict(os.environ))  # noqa: S606
        finally:
            os._exit(127)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([fd], [], [], 1.0)[0]:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:  # EIO: the program exited and closed the terminal
                break
            if not data:
                break
            output += data
            typed = answer(bytes(output))
            if typed:
                os.write(fd, typed)
        else:
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"{args[0]} did not finish: {bytes(output)!r}")
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), bytes(output)
