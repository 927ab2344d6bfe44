"""Merge conflicts side by side, every version shown; a manager keeps one of them.

Keeping a version discards the others for good, at every site the decision reaches, so it
takes a step of its own (ResolveConflictDialog) that shows what is kept and what goes.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QRadioButton,
    QScrollArea,
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
from desktop.workflow import in_asked_order
from ui import labels
from ui.messages import describe_failure
from ui.style import heading_font
from ui.tasks import TaskRunner
from ui.widgets import BusyBar, ErrorLabel, plain_label, set_default_button

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


def format_versions(group: str, versions: list[ConflictVersion]) -> str:
    """Versions one after another, a blank line between them; — for none."""
    return "\n\n".join(format_version(group, v) for v in versions) or "—"


def origin(version: ConflictVersion) -> str:
    """Where, when and by whom a version was made."""
    return _("{site}, {at}, by {user}").format(
        site=_("this site") if version.local else version.site,
        at=labels.moment(parse_time(version.at)), user=version.by or "?")


def format_version(group: str, version: ConflictVersion) -> str:
    """One field per line as the forms name it, then who changed it where and when."""
    return "\n".join([*field_lines(group, version), f"({origin(version)})"])


def field_lines(group: str, version: ConflictVersion) -> list[str]:
    """The version's fields, one line each, as the forms name them."""
    values = version.values
    if group == STATUS_GROUP:
        lines = [f"{_('Status')}: {_shown('status', values.get('status'))}"]
        extra = values.get("fields") or {}
        asked = next((s for s in Status if s.value == values.get("status")), None)
        lines += [f"{labels.field_label(name)}: {_shown(name, extra[name])}"
                  for name in in_asked_order(asked, extra)]
    else:
        names = FIELD_GROUPS.get(group, tuple(sorted(values)))
        lines = [f"{labels.field_label(name)}: {_shown(name, values.get(name))}"
                 for name in names]
    return lines


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


class ResolveConflictDialog(QDialog):
    """Every version of one conflict in full, each with a radio button to keep it.

    Nothing is chosen at first and "Keep this version" waits for a choice, so no Enter
    pressed out of habit settles a conflict; the summary says what stays and what goes.
    """

    def __init__(self, view: ConflictView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.setWindowTitle(_("Resolve conflict"))
        self.setMinimumWidth(620)
        title = plain_label(_("Case {ref}: {fields}").format(ref=view.ref,
                                                         fields=group_label(view.group)))
        title.setFont(heading_font(14))
        title.setWordWrap(True)
        self.choices = QButtonGroup(self)  # exclusive, and none checked until one is chosen
        versions = QWidget()
        column = QVBoxLayout(versions)
        for index, version in enumerate(view.versions):
            kind = _("Local version") if version.local else _("Incoming version")
            heading = f"{kind} — {origin(version)}"
            if index == 0:  # list_conflicts gives the newest first: what the case shows
                heading = _("{version} (shown in the case now)").format(version=heading)
            button = QRadioButton(heading.replace("&", "&&"))  # a user name's & is no mnemonic
            self.choices.addButton(button, index)
            details = plain_label("\n".join(field_lines(view.group, version)))
            details.setWordWrap(True)
            details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            details.setContentsMargins(24, 0, 0, 10)  # under the button's text, apart
            column.addWidget(button)
            column.addWidget(details)
        column.addStretch(1)
        self.choices.idToggled.connect(lambda _id, _on: self._chosen_changed())
        scroll = QScrollArea()
        scroll.setWidget(versions)
        scroll.setWidgetResizable(True)
        scroll.setMinimumHeight(min(versions.sizeHint().height() + 4, 520))
        # As wide as the longest heading (a site's long name), within reason: no scrolling
        # sideways to read whose version it is.
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(min(versions.sizeHint().width() + bar + 4, 1100))
        versions_label = QLabel(_("&Versions, newest first:"))
        versions_label.setBuddy(self.choices.buttons()[0])
        self.summary = plain_label()
        self.summary.setObjectName("resolve_summary")
        self.summary.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.keep_button = self.buttons.addButton(
            _("&Keep this version"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        # Enter keeps the version once one is chosen; until then the button is off.
        set_default_button(self.buttons, self.keep_button)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(versions_label)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)
        self._chosen_changed()
        self.choices.buttons()[0].setFocus()

    def choose(self, index: int) -> None:
        """Check the version at `index` of the view's versions (newest first)."""
        button = self.choices.button(index)
        button.setChecked(True)
        button.setFocus()

    def chosen(self) -> ConflictVersion | None:
        index = self.choices.checkedId()
        return self.view.versions[index] if index >= 0 else None

    def _chosen_changed(self) -> None:
        kept = self.chosen()
        self.keep_button.setEnabled(kept is not None)
        if kept is None:
            self.summary.setText(_("Choose the version to keep; the others will be discarded."))
            return
        discarded = [v for v in self.view.versions if v is not kept]
        self.summary.setText("\n".join([
            _("Will be kept:"), f"  • {origin(kept)}",
            _("Will be discarded:"), *(f"  • {origin(v)}" for v in discarded),
        ]))


class ConflictsDialog(QDialog):
    """Open conflicts with every version; reloads after each one resolved."""

    def __init__(
        self, service: TransferService, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._runner = runner
        self.conflicts: list[ConflictView] = []
        self._working = False
        self.resolve_dialog: ResolveConflictDialog | None = None
        self.setWindowTitle(_("Conflicts"))
        self.resize(1000, 560)
        intro = QLabel(_("These fields were changed at different sites without seeing each"
                         " other. Choose a conflict and press Resolve… to keep one version."))
        intro.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("conflicts_table")
        self.table.setHorizontalHeaderLabels(
            [_("Case"), _("Fields"), _("Local version"), _("Incoming versions")])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move in it
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)  # the versions
        for column in (0, 1):  # the case and the field group: as wide as their text
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.table.itemSelectionChanged.connect(self._update_buttons)
        # Enter reaches the default button below; a double click does the same.
        self.table.doubleClicked.connect(lambda _index: self.open_resolve())
        self.empty = QLabel(_("No open conflicts."))
        self.empty.hide()
        self.error = ErrorLabel()
        self.busy = BusyBar()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.resolve_button = self.buttons.addButton(
            _("&Resolve…"), QDialogButtonBox.ButtonRole.ActionRole)
        self.resolve_button.clicked.connect(self.open_resolve)
        self.buttons.rejected.connect(self.reject)
        # Enter opens the resolve step, which asks before anything is discarded.
        set_default_button(self.buttons, self.resolve_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
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
                     format_versions(view.group, [v for v in view.versions if v.local]),
                     format_versions(view.group, [v for v in view.versions if not v.local]))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
                self.table.setItem(row, column, item)
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
        self.resolve_button.setEnabled(not self._working and self._selected() is not None)

    def open_resolve(self) -> None:
        """The resolve step for the selected conflict; it resolves only once accepted."""
        view = None if self._working else self._selected()
        if view is None:
            return
        dialog = ResolveConflictDialog(view, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._keep(view, dialog.chosen()))
        dialog.finished.connect(lambda _result: setattr(self, "resolve_dialog", None))
        self.resolve_dialog = dialog
        dialog.open()

    def _keep(self, view: ConflictView, version: ConflictVersion | None) -> None:
        if version is None:
            return
        self.error.clear_error()
        self._set_working(True)
        self._runner.run(
            lambda: self._service.resolve_conflict(view.id, version.op_id),
            lambda _op: self.reload(), self._failed,
        )

    def _failed(self, error: BaseException) -> None:
        self._set_working(False)
        self.error.show_error(describe_failure(error))
