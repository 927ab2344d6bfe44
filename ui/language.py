"""Switch the interface language: Haven's gettext catalogue plus Qt's own qtbase strings."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from desktop import i18n

_installed: list[QTranslator] = []


def apply_language(code: str) -> str:
    """Translate project strings and Qt's standard dialogs into `code`; returns the code used."""
    chosen = i18n.set_language(code)
    app = QCoreApplication.instance()
    for translator in _installed:
        if app is not None:
            app.removeTranslator(translator)
    _installed.clear()
    QLocale.setDefault(QLocale(chosen))
    if chosen != i18n.SOURCE_LANGUAGE and app is not None:
        translator = QTranslator(app)
        folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if translator.load(f"qtbase_{chosen}", folder):
            app.installTranslator(translator)
            _installed.append(translator)
    return chosen


def number(value: int) -> str:
    """A count as the interface language writes it: 20,000 in English, 20 000 in Ukrainian."""
    return QLocale().toString(value)
