"""The `haven` entry point: starts the Qt application and shows the desk."""

from __future__ import annotations

import argparse
import sys
import threading
import traceback
from types import TracebackType

from desktop import config
from desktop.memory import no_core_dumps


def _report_unexpected(kind: type[BaseException], trace: TracebackType | None) -> None:
    """One line for an error that nothing handled: its kind and the function it arose in,
    never its message, which may quote what was typed or stored. A desktop session keeps the
    desk's stderr in a log file (the journal, ~/.xsession-errors)."""
    frames = traceback.extract_tb(trace) if trace is not None else []
    where = f" in {frames[-1].name}" if frames else ""
    if sys.stderr is not None:
        sys.stderr.write(f"haven: unexpected error ({kind.__name__}){where};"
                         " its message is not shown\n")


def _quiet_unexpected_errors() -> None:
    """Errors in slots, in threads and in finalizers are reported by _report_unexpected."""
    sys.excepthook = lambda kind, _error, trace: _report_unexpected(kind, trace)
    threading.excepthook = lambda hook: _report_unexpected(hook.exc_type, hook.exc_traceback)
    sys.unraisablehook = lambda hook: _report_unexpected(hook.exc_type, hook.exc_traceback)


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from ui.app import run_app

    parser = argparse.ArgumentParser(prog="haven", description="Haven intake desk")
    parser.add_argument("--data", help="data folder (else $HAVEN_DATA, else the user data dir)")
    args = parser.parse_args(argv)
    no_core_dumps()
    _quiet_unexpected_errors()
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Haven")
    return run_app(app, config.data_dir(args.data))


if __name__ == "__main__":
    sys.exit(main())
