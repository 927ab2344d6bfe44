"""The audit log as a table: this site's entries and those other sites' files brought."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db.audit import AuditReport
from desktop.i18n import N_, _, ngettext
from desktop.session import ListedAuditEntry, Session
from desktop.text_rules import visible
from ui import labels
from ui.language import number
from ui.messages import describe_failure, first_translation
from ui.tasks import TaskRunner
from ui.widgets import BusyBar, ErrorLabel, plain_label

# A table of more rows than this gets slow to build; a case filter finds older entries.
NEWEST = 2000
SET_ASIDE = QColor("#777777")


def shown_time(at: str) -> str:
    """2026-11-27T13:20:10.232Z as 2026-11-27 13:20:10 UTC."""
    return at[:19].replace("T", " ") + " UTC"


# How db.audit.verify words what it finds, as the desk says it.
_PROBLEMS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^entry (?P<seq>\d+) was altered after it was written$"),
     N_("entry {seq} was altered after it was written")),
    (re.compile(r"^entry (?P<seq>\d+) is missing \(next entry is (?P<next>\d+)\)$"),
     N_("entry {seq} is missing (the next one is {next})")),
    (re.compile(r"^entry (?P<seq>\d+) does not follow entry (?P<before>\d+)"),
     N_("entry {seq} does not follow entry {before} (one was removed or they were reordered)")),
]


def problem_text(problem: str) -> str:
    """One problem the verification found, in the person's language when it is a known one."""
    return first_translation(_PROBLEMS, problem, default=problem)


class AuditDialog(QDialog):
    """Newest entries first in time order, optionally those of one case; verify this site's log."""

    def __init__(self, session: Session, runner: TaskRunner, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self._session = session
        self._runner = runner
        self.entries: list[ListedAuditEntry] = []
        self.setWindowTitle(_("Audit log"))
        self.resize(1000, 560)
        self.case_edit = QLineEdit()
        self.case_edit.setObjectName("audit_case")
        self.case_edit.setPlaceholderText(_("Case reference (empty: every case)"))
        self.case_edit.returnPressed.connect(self.reload)
        self.show_button = QPushButton(_("&Show"))
        self.show_button.clicked.connect(self.reload)
        case_label = QLabel(_("&Case:"))
        case_label.setBuddy(self.case_edit)
        filter_row = QHBoxLayout()
        filter_row.addWidget(case_label)
        filter_row.addWidget(self.case_edit, 1)
        filter_row.addWidget(self.show_button)
        self.table = QTableWidget(0, 7)
        self.table.setObjectName("audit_table")
        self.table.setHorizontalHeaderLabels(
            [_("When"), _("Site"), _("No."), _("User"), _("Action"), _("Case"), _("Detail")])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.setTabKeyNavigation(False)  # Tab goes on to the buttons
        self.table.itemSelectionChanged.connect(self._show_detail)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        # The chosen entry's detail whole, which its cell may cut short: to read or copy.
        self.detail = plain_label()
        self.detail.setObjectName("audit_detail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                            | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.summary = plain_label()
        self.summary.setWordWrap(True)
        # The last verification's outcome stays until the next one, whatever is listed.
        self.verdict = plain_label()
        self.verdict.setObjectName("audit_verdict")
        self.verdict.setWordWrap(True)
        self.verdict.hide()
        self.alarm = ErrorLabel()
        self.alarm.setObjectName("audit_alarm")
        self.error = ErrorLabel()
        self.busy = BusyBar()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.verify_button = self.buttons.addButton(
            _("&Verify this site's log"), QDialogButtonBox.ButtonRole.ActionRole)
        self.verify_button.clicked.connect(self.verify)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(filter_row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.detail)
        layout.addWidget(self.summary)
        layout.addWidget(self.verdict)
        layout.addWidget(self.alarm)
        layout.addWidget(self.busy)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.reload()

    def reload(self) -> None:
        """Load the newest entries, of every case or of the one typed."""
        case = self.case_edit.text().strip() or None
        self.error.clear_error()
        self._set_working(True)
        self._runner.run(lambda: self._listing(case), self._loaded, self._failed)

    def _listing(self, case: str | None) -> tuple[int, list[ListedAuditEntry]]:
        # Counted first: listing adds an entry of its own.
        return self._session.count_audit_entries(case), self._session.audit_entries(case, NEWEST)

    def _loaded(self, result: tuple[int, list[ListedAuditEntry]]) -> None:
        total, entries = result
        self._set_working(False)
        self.entries = entries
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            # Another site's entries are shown as they are, hidden characters made visible.
            cells = (shown_time(entry.at), entry.site, str(entry.seq), visible(entry.actor),
                     labels.audit_action(entry.action), entry.ref or "", visible(entry.detail))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if entry.set_aside:
                    item.setForeground(QBrush(SET_ASIDE))
                    item.setToolTip(_("Set aside: not in its site's log as it stands (from"
                                      " before that site was restored from a backup, or"
                                      " relayed and contradicted by that site)"))
                self.table.setItem(row, column, item)
        if entries:
            self.table.scrollToBottom()
        self._show_detail()  # of the entry now chosen, not of one listed before
        text = ngettext("{count} entry.", "{count} entries.", len(entries)).format(
            count=number(len(entries)))
        if total > len(entries):
            text = _("The newest {shown} of {total} entries; type a case reference to see"
                     " all of one case's.").format(shown=number(len(entries)), total=number(total))
        self.summary.setText(text)

    def _show_detail(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        entry = self.entries[rows[0].row()] if len(rows) == 1 else None
        shown = entry is not None and bool(entry.detail)
        self.detail.setText(
            _("Detail: {text}").format(text=visible(entry.detail)) if shown else "")

    def verify(self) -> None:
        """Recompute this site's hash chain and say where it was altered, if anywhere."""
        self.error.clear_error()
        self.alarm.clear_error()
        self.verdict.hide()
        self._set_working(True)
        self._runner.run(self._session.verify_audit, self._verified, self._failed)

    def _verified(self, report: AuditReport) -> None:
        self._set_working(False)
        if report.ok:
            self.verdict.setText(ngettext(
                "This site's audit log is intact: {count} entry.",
                "This site's audit log is intact: {count} entries.",
                report.entries).format(count=number(report.entries)))
            self.verdict.show()
        else:
            self.alarm.show_error("\n".join(
                [_("This site's audit log was altered:"), *map(problem_text, report.problems)]))
        self.reload()  # the listing shows the verification's own entry

    def _set_working(self, working: bool) -> None:
        self.busy.setVisible(working)
        self.show_button.setEnabled(not working)
        self.verify_button.setEnabled(not working)

    def _failed(self, error: BaseException) -> None:
        self._set_working(False)
        self.entries = []
        self.table.setRowCount(0)
        self.summary.clear()
        self.error.show_error(describe_failure(error))
