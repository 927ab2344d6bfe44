"""Merge conflicts side by side: a manager keeps the local or the incoming version."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db.oplog import FIELD_GROUPS, STATUS_GROUP
from db.records import Outcome, Status
from db.vault import parse_time
from desktop.i18n import N_, _
from desktop.transfer.service import ConflictVersion, ConflictView, TransferService
from ui import labels
from ui.messages import describe_failure
from ui.tasks import TaskRunner
from ui.widgets import BusyBar, ErrorLabel

# The field groups of db.oplog, as a manager reads them.
_GROUP_LABELS: dict[str, str] = {
    "intake": N_("Intake details"),
    "confirmation": N_("Confirmation details"),
    "arrangement": N_("Handoff arrangement"),
    "outcome": N_("Outcome"),
    "exit": N_("Withdrawal or duplicate"),
    STATUS_GROUP: N_("Status"),
}


def group_label(group: str) -> str:
    return _(_GROUP_LABELS.get(group, group))


def _first(view: ConflictView, local: bool) -> ConflictVersion | None:
    return next((v for v in view.versions if v.local is local), None)


def format_version(group: str, version: ConflictVersion | None) -> str:
    """One field per line as the forms name it, then who changed it where and when."""
    if version is None:
        return "—"
    values = version.values
    if group == STATUS_GROUP:
        lines = [f"{_('Status')}: {_shown('status', values.get('status'))}"]
        extra = values.get("fields") or {}
        lines += [f"{labels.field_label(name)}: {_shown(name, extra[name])}"
                  for name in sorted(extra)]
    else:
        names = FIELD_GROUPS.get(group, tuple(sorted(values)))
        lines = [f"{labels.field_label(name)}: {_shown(name, values.get(name))}"
                 for name in names]
    lines.append(_("({site}, {at}, by {user})").format(
        site=_("this site") if version.local else version.site,
        at=labels.moment(parse_time(version.at)), user=version.by or "?"))
    return "\n".join(lines)


def _shown(name: str, value: Any) -> str:
    """A stored value as the case view shows it: labels for codes, local times, — for none."""
    if value is None or value == "":
        return "—"
    if name == "status":
        return labels.label(Status(value))
    if name == "outcome":
        return labels.label(Outcome(value))
    if name in ("window_start", "window_end"):
        return labels.moment(parse_time(value))
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class ConflictsDialog(QDialog):
    """Open conflicts, both versions side by side; emits nothing, reloads after each choice."""

    def __init__(
        self, service: TransferService, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._runner = runner
        self.conflicts: list[ConflictView] = []
        self._working = False
        self.setWindowTitle(_("Conflicts"))
        self.resize(900, 480)
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("conflicts_table")
        self.table.setHorizontalHeaderLabels(
            [_("Case"), _("Fields"), _("Local version"), _("Incoming version")])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)  # the two versions
        for column in (0, 1):  # the case and the field group: as wide as their text
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.empty = QLabel(_("No open conflicts."))
        self.empty.hide()
        self.error = ErrorLabel()
        self.busy = BusyBar()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.keep_local_button = self.buttons.addButton(
            _("Keep &local"), QDialogButtonBox.ButtonRole.ActionRole)
        self.keep_incoming_button = self.buttons.addButton(
            _("Keep &incoming"), QDialogButtonBox.ButtonRole.ActionRole)
        self.keep_local_button.clicked.connect(lambda: self.resolve("local"))
        self.keep_incoming_button.clicked.connect(lambda: self.resolve("incoming"))
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addWidget(self.busy)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.reload()

    def reload(self) -> None:
        self._set_working(True)
        self._update_buttons()
        self._runner.run(self._service.list_conflicts, self._loaded, self._failed)

    def _loaded(self, conflicts: list[ConflictView]) -> None:
        self._set_working(False)
        self.conflicts = conflicts
        self.table.setRowCount(len(conflicts))
        for row, view in enumerate(conflicts):
            cells = (view.ref, group_label(view.group),
                     format_version(view.group, _first(view, True)),
                     format_version(view.group, _first(view, False)))
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeRowsToContents()
        self.empty.setVisible(not conflicts)
        if conflicts:
            self.table.selectRow(0)
        self._update_buttons()

    def _set_working(self, working: bool) -> None:
        self._working = working
        self.busy.setVisible(working)
        self._update_buttons()

    def _selected(self) -> ConflictView | None:
        rows = self.table.selectionModel().selectedRows()
        return self.conflicts[rows[0].row()] if rows else None

    def _update_buttons(self) -> None:
        view = None if self._working else self._selected()
        self.keep_local_button.setEnabled(view is not None and _first(view, True) is not None)
        self.keep_incoming_button.setEnabled(
            view is not None and _first(view, False) is not None)

    def resolve(self, keep: str) -> None:
        view = self._selected()
        if view is None:
            return
        self.error.clear_error()
        self._set_working(True)
        self._runner.run(
            lambda: self._service.resolve_conflict(view.id, keep),
            lambda _op: self.reload(), self._failed,
        )

    def _failed(self, error: BaseException) -> None:
        self._set_working(False)
        self.error.show_error(describe_failure(error))
