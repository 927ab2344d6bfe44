"""An error nothing handled reaches the desk's stderr, which a desktop session keeps in a log
file (the journal, ~/.xsession-errors): its kind and place go there, never its message, which
may quote what was typed or stored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, cli_env

NAME, PHONE = "Гаврилюк-Зозулястий Вседар", "+380679132748"

# The real entry point, with an event loop in which a slot and a worker thread fail.
DESK = f"""
import sys, threading
from PySide6.QtCore import QTimer
import ui.app

def failing_desk(app, data_dir):
    def in_a_thread():
        raise KeyError({PHONE!r})
    def in_a_slot():
        worker = threading.Thread(target=in_a_thread)
        worker.start()
        worker.join()
        QTimer.singleShot(0, app.quit)
        raise ValueError({NAME!r} + " is not valid here")
    QTimer.singleShot(0, in_a_slot)
    return app.exec()

ui.app.run_app = failing_desk
from desktop import gui
sys.exit(gui.main(["--data", sys.argv[1]]))
"""


def test_an_unhandled_error_of_the_desk_leaves_its_message_out_of_stderr(tmp_path: Path) -> None:
    ran = subprocess.run(
        [sys.executable, "-c", DESK, str(tmp_path / "site")], capture_output=True, text=True,
        env=cli_env(QT_QPA_PLATFORM="offscreen"), cwd=REPO, timeout=120, check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert NAME not in ran.stderr
    assert PHONE not in ran.stderr
    lines = ran.stderr.splitlines()
    assert "haven: unexpected error (KeyError) in in_a_thread; its message is not shown" in lines
    assert "haven: unexpected error (ValueError) in in_a_slot; its message is not shown" in lines
