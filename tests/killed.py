"""Kill haven-admin with SIGKILL at a chosen point of its work, as a power cut would.

The child runs the real command; the function named (a module attribute) is wrapped so
that the process stops right before or right after it, says so, and waits to be killed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import PASSWORD, REPO, cli_env

_CHILD = """
import importlib, sys, time
module_name, attribute, when = sys.argv[1:4]
module = importlib.import_module(module_name)
original = getattr(module, attribute)

def stop():
    print("STOPPED", flush=True)
    time.sleep(120)

def wrapped(*args, **kwargs):
    if when == "before":
        stop()
    result = original(*args, **kwargs)
    stop()
    return result

setattr(module, attribute, wrapped)
from desktop.cli import main
sys.exit(main(sys.argv[4:]))
"""


def kill_at(
    module: str, attribute: str, when: str, data: Path, *command: str, user: str = "admin",
    signal_number: int = signal.SIGKILL,
) -> str:
    """Run ``haven-admin --data DATA --user USER COMMAND…`` and SIGKILL it (or send it
    ``signal_number``) before or after ``module.attribute`` runs; returns what it wrote to
    stderr. Fails if it never got there."""
    password_file = data.parent / f".{data.name}-password"
    password_file.write_text(PASSWORD + "\n")
    argv = ["--data", str(data), "--user", user, "--password-file", str(password_file), *command]
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD, module, attribute, when, *argv],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=REPO,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    process.send_signal(signal_number)
    _, errors = process.communicate(timeout=60)
    assert line == "STOPPED\n", f"the command ended before that point: {line!r} {errors}"
    return errors
