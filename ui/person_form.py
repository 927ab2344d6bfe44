"""One person of an intake: name, birth date, phone, rank, unit, mobilization."""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from db.records import Mobilization, Person
from desktop.case_json import CaseInputError, parse_phone
from desktop.i18n import _
from ui import labels
from ui.widgets import ErrorLabel, FieldErrors

# "12.05.1990", also with the year's abbreviation after it as written by hand ("1990 р.").
_DOTTED_DATE = re.compile(
    r"^\s*(\d{1,2})[./](\d{1,2})[./](\d{4})\s*(?:(?:р|г|року|года)\.?)?\s*$", re.IGNORECASE)
# Field order on screen and in the tab chain; "notes" are the distinguishing features.
FIELDS = ("full_name", "birth_date", "phone", "rank", "unit", "mobilization", "notes")


def iso_date(text: str) -> str:
    """'12.05.1990' (how dates are written here) as '1990-05-12'; other text unchanged."""
    match = _DOTTED_DATE.match(text)
    if match is None:
        return text.strip()
    day, month, year = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


class PersonForm(QGroupBox):
    """The fields of one person; its error labels are registered under persons[i].<field>."""

    changed = Signal()
    identity_changed = Signal()  # name, birth date or phone: worth a duplicate check
    remove_requested = Signal(object)

    def __init__(self, errors: FieldErrors, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._errors = errors
        self.index = index
        self.edits: dict[str, QLineEdit] = {}
        self.error_labels: dict[str, ErrorLabel] = {}
        grid = QGridLayout(self)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(3, 2)
        placements = {
            "full_name": (0, 0), "birth_date": (0, 2),
            "phone": (2, 0), "rank": (2, 2),
            "unit": (4, 0), "mobilization": (4, 2),
            "notes": (6, 0),  # beside the remove button, so a person takes no more room
        }
        hints = {
            "full_name": _("surname, given name, patronymic"),
            "birth_date": _("DD.MM.YYYY"),
            "phone": _("+380…"),
            "notes": _("call sign, scars, clothes: on the handoff sheet"),
        }
        self.mobilization = QComboBox()
        for value in Mobilization:
            self.mobilization.addItem(labels.label(value), value.value)
        self.mobilization.setCurrentIndex(self.mobilization.findData(Mobilization.UNKNOWN.value))
        for name in FIELDS:
            row, column = placements[name]
            widget: QWidget
            if name == "mobilization":
                widget = self.mobilization
                self.mobilization.currentIndexChanged.connect(self.changed)
            else:
                edit = QLineEdit()
                edit.setObjectName("features" if name == "notes" else name)
                edit.setPlaceholderText(hints.get(name, ""))
                edit.textChanged.connect(self.changed)
                if name in ("full_name", "birth_date", "phone"):
                    edit.textChanged.connect(self.identity_changed)
                self.edits[name] = edit
                widget = edit
            caption = QLabel(labels.field_label("features" if name == "notes" else name)
                             + ("*" if name == "full_name" else ""))
            caption.setBuddy(widget)
            error = ErrorLabel()
            self.error_labels[name] = error
            grid.addWidget(caption, row, column)
            grid.addWidget(widget, row, column + 1)
            grid.addWidget(error, row + 1, column + 1)
        self.remove_button = QPushButton(_("Remove this person"))
        self.remove_button.setAutoDefault(False)
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        grid.addWidget(self.remove_button, 6, 3, Qt.AlignmentFlag.AlignTop)
        self.set_index(index)

    def set_index(self, index: int) -> None:
        """Renumber after a person above was removed, so errors find the right fields."""
        self._errors.remove_prefix(f"persons[{self.index}].")
        self.index = index
        self.setTitle(_("Person {number}").format(number=index + 1))
        for name in FIELDS:
            widget = self.mobilization if name == "mobilization" else self.edits[name]
            self._errors.add(f"persons[{index}].{name}", widget, self.error_labels[name])

    def focus_widgets(self) -> list[QWidget]:
        """The fields in tab order."""
        return [self.mobilization if name == "mobilization" else self.edits[name]
                for name in FIELDS] + [self.remove_button]

    def raw(self) -> dict[str, Any]:
        """The person as the case JSON has it, for desktop.case_json to check."""
        entry: dict[str, Any] = {
            name: (iso_date(edit.text()) if name == "birth_date" else edit.text()) or None
            for name, edit in self.edits.items()
        }
        entry["mobilization"] = self.mobilization.currentData()
        return entry

    def is_empty(self) -> bool:
        return not any(edit.text().strip() for edit in self.edits.values())

    def loose_person(self) -> Person | None:
        """What is typed so far, good enough for a duplicate check; None with too little."""
        name = self.edits["full_name"].text().strip()
        birth = iso_date(self.edits["birth_date"].text())
        try:
            phone = parse_phone("phone", self.edits["phone"].text())
        except CaseInputError:
            phone = None
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", birth):
            birth = ""
        if not phone and not (len(name) >= 3 and birth):
            return None
        return Person(full_name=name, birth_date=birth or None, phone=phone)
