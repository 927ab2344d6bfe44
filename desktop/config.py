"""Where Haven keeps its data: --data, else $HAVEN_DATA, else the platform's user data dir."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir(explicit: str | None = None) -> Path:
    chosen = explicit or os.environ.get("HAVEN_DATA")
    if chosen:
        return Path(chosen).expanduser()
    return Path(platformdirs.user_data_dir("haven", appauthor=False))
