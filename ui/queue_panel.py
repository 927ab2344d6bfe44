"""The queue tab: status filter, search-as-you-type and the case table."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from db.records import OPEN_STATUSES, Status
from desktop.i18n import _, ngettext
from desktop.permissions import Action
from desktop.session import Session
from ui import labels
from ui.language import number
from ui.messages import describe_failure
from ui.queue_model import QueueModel, SummaryTableModel
from ui.tasks import Task, TaskRunner
from ui.widgets import plain_label

SEARCH_DELAY_MS = 150
SEARCH_LIMIT = 200
OPEN = "open"
ALL = "all"


class CaseTable(QTableView):
    """The table; Enter opens the current case like a double click, Up on the first row and
    Esc go back to the search. With no rows it shows its placeholder: what to do on an
    empty queue or after a search found nothing."""

    open_requested = Signal(QModelIndex)
    to_search = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._placeholder = ""

    def placeholder(self) -> str:
        return self._placeholder

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.viewport().update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        model = self.model()
        if self._placeholder and (model is None or model.rowCount() == 0):
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.viewport().rect().adjusted(24, 24, -24, -24),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self._placeholder)
            painter.end()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.open_requested.emit(self.currentIndex())
            return
        plain = event.modifiers() == Qt.KeyboardModifier.NoModifier
        at_top = self.currentIndex().row() <= 0
        if plain and (event.key() == Qt.Key.Key_Escape
                      or (event.key() == Qt.Key.Key_Up and at_top)):
            self.to_search.emit()
            return
        super().keyPressEvent(event)


class SearchEdit(QLineEdit):
    """The search box: Down goes to the results, Escape empties the box."""

    to_results = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Down:
            self.to_results.emit()
            return
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            return
        super().keyPressEvent(event)


class QueuePanel(QWidget):
    """Lists cases in action order; typing in the search box narrows to matches."""

    open_case = Signal(str)
    search_finished = Signal(str)  # the text whose results are now shown

    def __init__(self, session: Session, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self._session = session
        self._runner = runner
        # A role without cases (an IT officer) keeps the panel but never asks for them.
        self.allowed = session.can(Action.VIEW_CASES)
        self._search_task: Task | None = None
        self._count_task: Task | None = None

        self.filter_combo = QComboBox()
        self.filter_combo.setObjectName("status_filter")
        self.filter_combo.addItem(_("Open cases"), OPEN)
        for status in Status:
            self.filter_combo.addItem(labels.label(status), status.value)
        self.filter_combo.addItem(_("All cases"), ALL)
        filter_label = QLabel(_("S&how:"))
        filter_label.setBuddy(self.filter_combo)

        self.search_edit = SearchEdit()
        self.search_edit.setObjectName("search")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setPlaceholderText(
            _("Find by reference, phone or name (any script) — Ctrl+F")
        )
        self.count_label = plain_label()
        self.count_label.setProperty("role", "hint")

        self.queue_model = QueueModel(session, runner, OPEN_STATUSES, parent=self)
        self.search_model = SummaryTableModel(self)
        self.table = CaseTable()
        self.table.setObjectName("queue")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move in it
        self.table.setModel(self.queue_model)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column, width in enumerate((150, 340, 170, 130, 150, 120)):
            self.table.setColumnWidth(column, width)
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 10)

        self._then: Callable[[], None] | None = None  # what waits for the search running
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setTimerType(Qt.TimerType.PreciseTimer)
        self._debounce.setInterval(SEARCH_DELAY_MS)
        self._debounce.timeout.connect(self._run_search)

        self.filter_combo.currentIndexChanged.connect(self._filter_changed)
        self.search_edit.textChanged.connect(self._search_typed)
        self.search_edit.returnPressed.connect(self._open_first)
        self.search_edit.to_results.connect(self._to_results)
        self.table.doubleClicked.connect(self._open_index)
        self.table.open_requested.connect(self._open_index)
        self.table.to_search.connect(self._back_to_search)
        self._count_after_page = False
        self.queue_model.loading_changed.connect(self._page_loaded)
        self.queue_model.load_failed.connect(
            lambda error: self.count_label.setText(describe_failure(error))
        )

        bar = QHBoxLayout()
        bar.addWidget(filter_label)
        bar.addWidget(self.filter_combo)
        bar.addWidget(self.search_edit, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count_label)
        self.setTabOrder(self.search_edit, self.filter_combo)
        self.setTabOrder(self.filter_combo, self.table)

    # --- loading -------------------------------------------------------------------------------

    def chosen_statuses(self) -> Iterable[Status] | None:
        chosen = self.filter_combo.currentData()
        if chosen == OPEN:
            return OPEN_STATUSES
        if chosen == ALL:
            return None
        return (Status(chosen),)

    def reload(self) -> None:
        """Show the queue from the top again (after unlocking or a change to a case)."""
        if not self.allowed:
            return
        self._reload_queue()
        if self.search_edit.text().strip():
            self._run_search()

    def _reload_queue(self) -> None:
        # The count scans every case of the chosen statuses; it waits for the first page,
        # which is what the operator is looking at, so the two do not queue on the vault.
        self._count_after_page = True
        self.table.set_placeholder("")
        self.queue_model.set_statuses(self.chosen_statuses())

    def _page_loaded(self, loading: bool) -> None:
        if not loading and self._count_after_page:
            self._count_after_page = False
            self._count()

    def clear(self) -> None:
        """Forget every row and result (the window is locked)."""
        self._debounce.stop()
        if self._search_task is not None:
            self._search_task.cancel()
        self.queue_model.clear()
        self.search_model.clear()
        self.search_edit.clear()
        self.count_label.clear()
        self.table.set_placeholder("")

    def _filter_changed(self) -> None:
        self._reload_queue()

    def _count(self) -> None:
        if self._count_task is not None:
            self._count_task.cancel()
        session, statuses = self._session, self.chosen_statuses()
        self._count_task = self._runner.run(
            lambda: session.count_cases(statuses), self._show_count, self._count_failed
        )

    def _show_count(self, count: int) -> None:
        self._count_task = None
        if self.table.model() is self.queue_model:
            self.count_label.setText(
                ngettext("{count} case", "{count} cases", count).format(count=number(count))
            )
            self.table.set_placeholder(self._empty_queue_text() if count == 0 else "")

    def _empty_queue_text(self) -> str:
        chosen = self.filter_combo.currentData()
        if chosen == OPEN:
            text = _("No open cases.")
        elif chosen == ALL:
            text = _("No cases yet.")
        else:
            text = _("No cases with this status.")
        if self._session.can(Action.REGISTER_CASE):
            text += "\n" + _("When a call or message comes in: New intake (Ctrl+N).")
        return text

    def _nothing_found_text(self, searched: str) -> str:
        text = _("Nothing found for “{text}”.").format(text=searched)
        if self._session.can(Action.REGISTER_CASE):
            text += "\n" + _("A first contact: New intake (Ctrl+N).")
        return text

    def _count_failed(self, error: BaseException) -> None:
        self._count_task = None
        self.count_label.setText(describe_failure(error))

    # --- searching -----------------------------------------------------------------------------

    def _to_results(self) -> None:
        if self._when_searched(self._to_results):
            return  # the results shown are of what was typed before
        model = self.table.model()
        if model is None or model.rowCount() == 0:
            return
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        if not self.table.currentIndex().isValid():
            self.table.setCurrentIndex(model.index(0, 0))
        self.table.selectRow(self.table.currentIndex().row())

    def _back_to_search(self) -> None:
        """From the results to the end of what was typed: the next keys refine it."""
        self.search_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self.search_edit.deselect()
        self.search_edit.end(False)

    def focus_search(self) -> None:
        if not self.allowed:
            return
        self.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_edit.selectAll()

    def _search_typed(self, text: str) -> None:
        self.table.set_placeholder("")  # until the rows of what is typed now are known
        if text.strip():
            self._debounce.start()
            return
        self._debounce.stop()
        self._then = None
        if self._search_task is not None:
            self._search_task.cancel()
            self._search_task = None
        self.search_model.clear()
        self.table.setModel(self.queue_model)
        self._count()

    def _run_search(self) -> None:
        text = self.search_edit.text().strip()
        if not text:
            return
        if self._search_task is not None:
            self._search_task.cancel()  # its answer would be stale
        session = self._session
        self._search_task = self._runner.run(
            lambda: session.search(text, SEARCH_LIMIT),
            lambda rows: self._show_results(text, rows),
            self._search_failed,
        )

    def _show_results(self, text: str, rows: list) -> None:
        self._search_task = None
        self.search_model.set_rows(rows)
        if self.table.model() is not self.search_model:
            self.table.setModel(self.search_model)
        if rows:
            self.table.selectRow(0)
        self.table.set_placeholder("" if rows else self._nothing_found_text(text))
        self.count_label.setText(
            ngettext("{count} match", "{count} matches", len(rows)).format(count=number(len(rows)))
            if rows else _("Nothing found for “{text}”.").format(text=text)
        )
        self.search_finished.emit(text)
        then, self._then = self._then, None
        if then is not None:
            then()

    def _search_failed(self, error: BaseException) -> None:
        self._search_task = None
        self._then = None
        self.count_label.setText(describe_failure(error))

    def _when_searched(self, then: Callable[[], None]) -> bool:
        """If a search of the text typed is waiting or running, run it now and call `then`
        once its results are shown (True); False when the results shown are up to date."""
        if not (self._debounce.isActive() or self._search_task is not None):
            return False
        self._debounce.stop()
        self._then = then
        if self._search_task is None:
            self._run_search()
        return True

    # --- opening -------------------------------------------------------------------------------

    def _open_first(self) -> None:
        if self._when_searched(self._open_first):
            return  # Enter pressed before the results came: the first hit opens after them
        self._open_index(self.table.currentIndex())

    def _open_index(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        model = self.table.model()
        summary = model.summary(index.row()) if isinstance(model, SummaryTableModel) else None
        if summary is not None:
            self.open_case.emit(summary.id)
