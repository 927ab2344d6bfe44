"""Workstation settings (language, idle lock) and the dialog that edits them.

They hold no personal data, so they live in a plain INI file beside the vault.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop import i18n
from desktop.i18n import _

DEFAULT_IDLE_MINUTES = 5
SETTINGS_FILE = "haven-desktop.ini"
# Each language is named in itself, so a person who cannot read the current one finds hers.
LANGUAGE_NAMES = {"en": "English", "uk": "Українська"}


class UiSettings:
    """Typed access to the workstation's settings file."""

    def __init__(self, data_dir: Path) -> None:
        self._store = QSettings(str(data_dir / SETTINGS_FILE), QSettings.Format.IniFormat)

    @property
    def language(self) -> str:
        stored = self._store.value("language", "")
        if isinstance(stored, str) and stored in i18n.available_languages():
            return stored
        return i18n.system_language()

    @language.setter
    def language(self, code: str) -> None:
        self._store.setValue("language", code)
        self._store.sync()

    @property
    def idle_minutes(self) -> int:
        try:
            minutes = int(self._store.value("idle_lock_minutes", DEFAULT_IDLE_MINUTES))
        except (TypeError, ValueError):
            return DEFAULT_IDLE_MINUTES
        return minutes if 1 <= minutes <= 240 else DEFAULT_IDLE_MINUTES

    @idle_minutes.setter
    def idle_minutes(self, minutes: int) -> None:
        self._store.setValue("idle_lock_minutes", int(minutes))
        self._store.sync()


class SettingsDialog(QDialog):
    """Language and idle-lock delay for this workstation."""

    def __init__(self, settings: UiSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self.setWindowTitle(_("Settings"))
        self.language_combo = QComboBox()
        for code in i18n.available_languages():
            self.language_combo.addItem(LANGUAGE_NAMES.get(code, code), code)
        self.language_combo.setCurrentIndex(
            max(0, self.language_combo.findData(settings.language))
        )
        self.idle_spin = QSpinBox()
        self.idle_spin.setRange(1, 240)
        self.idle_spin.setValue(settings.idle_minutes)
        self.idle_spin.setSuffix(" " + _("min"))

        form = QFormLayout()
        form.addRow(_("&Language:"), self.language_combo)
        form.addRow(_("Loc&k after idle:"), self.idle_spin)
        note = QLabel(_("Changing the language rebuilds the window."))
        note.setProperty("role", "hint")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def chosen_language(self) -> str:
        return str(self.language_combo.currentData())

    def accept(self) -> None:
        self._settings.language = self.chosen_language()
        self._settings.idle_minutes = self.idle_spin.value()
        super().accept()
