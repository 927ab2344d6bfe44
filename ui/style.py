"""Fonts, the style and the few style rules every window shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QApplication,
    QLineEdit,
    QPlainTextEdit,
    QProxyStyle,
    QTextEdit,
)

FONTS = Path(__file__).resolve().parents[1] / "resources" / "fonts"
SANS = "DejaVu Sans"
MONO = "DejaVu Sans Mono"

# Fields the services rejected get a red frame; error labels are red and bold enough to see.
STYLESHEET = """
*[invalid="true"] { border: 2px solid #c62828; border-radius: 3px; }
QLabel[role="error"] { color: #b71c1c; font-weight: bold; }
QLabel[role="warning"] { color: #8a4b00; background: #fff3cd; padding: 4px; }
QLabel[role="hint"] { color: #555555; }
QLabel[role="readout"] { background: #f4f4f4; border: 1px solid #bbbbbb; padding: 8px; }
"""


# Whatever is typed at the desk may be personal: an input method (IBus, Fcitx, an on-screen
# keyboard) must neither keep it in a user dictionary or history on disk nor offer it again.
PRIVATE_INPUT = Qt.InputMethodHint.ImhSensitiveData | Qt.InputMethodHint.ImhNoPredictiveText


class _DeskStyle(QProxyStyle):
    """The platform's style; every text field it polishes is marked private input."""

    def polish(self, target: Any) -> Any:
        if isinstance(target, QLineEdit | QPlainTextEdit | QTextEdit):
            target.setInputMethodHints(target.inputMethodHints() | PRIVATE_INPUT)
        return super().polish(target)


def install(app: QApplication) -> None:
    """Load the bundled fonts (Latin and Cyrillic on every workstation), the style that marks
    text fields private, and the style rules."""
    if not isinstance(app.property("havenStyle"), _DeskStyle):
        style = _DeskStyle()
        app.setStyle(style)
        app.setProperty("havenStyle", style)
    for path in sorted(FONTS.glob("*.ttf")):
        QFontDatabase.addApplicationFont(str(path))
    font = QFont(SANS)
    font.setPointSize(max(app.font().pointSize(), 10))
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)


def mono_font(point_size: int, bold: bool = False) -> QFont:
    """Monospace, for text read aloud letter by letter: codewords, references, recovery keys."""
    font = QFont(MONO)
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPointSize(point_size)
    font.setBold(bold)
    return font


def heading_font(point_size: int = 14) -> QFont:
    font = QFont(SANS)
    font.setPointSize(point_size)
    font.setBold(True)
    return font
