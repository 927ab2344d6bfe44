"""The case queue as table models: keyset pages fetched as the view scrolls, and search hits.

A million cases never load at once: the queue asks the session for one page after the
last row it holds, on a worker thread, only when the view scrolls near the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor

from db.records import CaseSummary, Status
from desktop.i18n import N_, _
from desktop.session import Session
from ui import labels
from ui.tasks import Task, TaskRunner

COLUMNS = (
    N_("Reference"),
    N_("Names"),
    N_("Status"),
    N_("In this status"),
    N_("Last contact"),
    N_("Operator"),
)
AGE_COLUMN = 3
PAGE_SIZE = 200
SUMMARY_ROLE = Qt.ItemDataRole.UserRole + 1
FLAG_MARK = "⚠ "
_FLAGGED_BACKGROUND = QBrush(QColor("#fde0dc"))

AnyIndex = QModelIndex | QPersistentModelIndex


class SummaryTableModel(QAbstractTableModel):
    """Rows of CaseSummary shown in the queue's columns; flagged cases marked."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[CaseSummary] = []
        self._now = datetime.now(UTC)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _(COLUMNS[section])
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, index.column())
        if role == SUMMARY_ROLE:
            return row
        if row.flagged and role == Qt.ItemDataRole.BackgroundRole:
            return _FLAGGED_BACKGROUND
        if row.flagged and role == Qt.ItemDataRole.ToolTipRole:
            return _("Flagged: the codeword failed repeatedly; possibly an impostor.")
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == AGE_COLUMN:
            return labels.moment(row.status_changed_at)
        return None

    def _display(self, row: CaseSummary, column: int) -> str:
        if column == 0:
            return (FLAG_MARK if row.flagged else "") + row.ref
        if column == 1:
            return row.names
        if column == 2:
            return labels.label(row.status)
        if column == AGE_COLUMN:
            return labels.age(row.status_changed_at, self._now)
        if column == 4:
            return labels.moment(row.last_contact_at)
        return row.created_by

    def summary(self, row: int) -> CaseSummary | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def set_rows(self, rows: Sequence[CaseSummary]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._now = datetime.now(UTC)
        self.endResetModel()

    def clear(self) -> None:
        self.set_rows([])

    def tick(self) -> None:
        """Recompute the ages shown (called once a minute)."""
        self._now = datetime.now(UTC)
        if self._rows:
            self.dataChanged.emit(
                self.index(0, AGE_COLUMN), self.index(len(self._rows) - 1, AGE_COLUMN)
            )


class QueueModel(SummaryTableModel):
    """The queue in action order, fetched one keyset page at a time on the task runner."""

    loading_changed = Signal(bool)
    load_failed = Signal(object)

    def __init__(
        self,
        session: Session,
        runner: TaskRunner,
        statuses: Iterable[Status] | None,
        page_size: int = PAGE_SIZE,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._runner = runner
        self._statuses = None if statuses is None else frozenset(statuses)
        self._page_size = page_size
        self._cursor: Any = None
        self._exhausted = False
        self._task: Task | None = None

    @property
    def loading(self) -> bool:
        return self._task is not None

    @property
    def exhausted(self) -> bool:
        return self._exhausted

    def set_statuses(self, statuses: Iterable[Status] | None) -> None:
        """Show other statuses: start again from the first page."""
        self._statuses = None if statuses is None else frozenset(statuses)
        self.reload()

    def reload(self) -> None:
        """Forget the loaded rows and fetch the first page again (after a change or unlock)."""
        self._cancel()
        self.beginResetModel()
        self._rows = []
        self._cursor = None
        self._exhausted = False
        self._now = datetime.now(UTC)
        self.endResetModel()
        self._fetch_page()

    def clear(self) -> None:
        """Drop every row and stop fetching (the window is locked)."""
        self._cancel()
        self.beginResetModel()
        self._rows = []
        self._cursor = None
        self._exhausted = True
        self.endResetModel()

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if not parent.isValid():
            self._fetch_page()

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
            self.loading_changed.emit(False)

    def _fetch_page(self) -> None:
        if self._task is not None or self._exhausted:
            return
        session, statuses, after, limit = (
            self._session, self._statuses, self._cursor, self._page_size
        )
        fetch: Callable[[], Any] = lambda: session.queue_page(statuses, after, limit)  # noqa: E731
        self._task = self._runner.run(fetch, self._page_arrived, self._page_failed)
        self.loading_changed.emit(True)

    def _page_arrived(self, result: tuple[list[CaseSummary], Any]) -> None:
        self._task = None
        page, cursor = result
        self._cursor = cursor
        self._exhausted = cursor is None
        if page:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._rows.extend(page)
            self.endInsertRows()
        self.loading_changed.emit(False)

    def _page_failed(self, error: BaseException) -> None:
        self._task = None
        self._exhausted = True
        self.loading_changed.emit(False)
        self.load_failed.emit(error)
