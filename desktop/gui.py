"""The `haven` entry point: starts the Qt application and shows the desk."""

from __future__ import annotations

import argparse
import sys

from desktop import config
from desktop.memory import no_core_dumps


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from ui.app import run_app

    parser = argparse.ArgumentParser(prog="haven", description="Haven intake desk")
    parser.add_argument("--data", help="data folder (else $HAVEN_DATA, else the user data dir)")
    args = parser.parse_args(argv)
    no_core_dumps()
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Haven")
    return run_app(app, config.data_dir(args.data))


if __name__ == "__main__":
    sys.exit(main())
