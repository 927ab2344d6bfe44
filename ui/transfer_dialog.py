"""Export a transfer file for chosen peers, and import one after a dry run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from db.peers import Peer
from desktop.i18n import _, ngettext
from desktop.transfer.export import ExportResult
from desktop.transfer.importer import ImportReport
from desktop.transfer.service import TransferService
from ui.language import number
from ui.messages import describe_failure
from ui.refusals import refusal_text
from ui.tasks import TaskRunner
from ui.widgets import (
    BusyBar,
    ErrorLabel,
    TaskProgress,
    TaskStopped,
    plain_label,
    set_default_button,
)

# Asks the person for a file; returns None when she cancels. Tests pass their own.
ChooseFile = Callable[[QWidget], Path | None]

FILE_FILTER = "Haven (*.haven)"


def ask_save_path(parent: QWidget) -> Path | None:
    name, _filter = QFileDialog.getSaveFileName(
        parent, _("Save transfer file"), "", FILE_FILTER
    )
    return Path(name) if name else None


def ask_open_path(parent: QWidget) -> Path | None:
    name, _filter = QFileDialog.getOpenFileName(
        parent, _("Open transfer file"), "", FILE_FILTER
    )
    return Path(name) if name else None


def _path_row(edit: QLineEdit, button: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


class _TaskDialog(QDialog):
    """A dialog whose task runs with a bar and can be stopped, by Stop, Esc or closing the
    window: the task's next report of progress unwinds it, and with it everything it did.
    The dialog stays open until then, to say so."""

    def __init__(self, summary_name: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.summary = plain_label()
        self.summary.setObjectName(summary_name)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error = ErrorLabel()
        self.busy = BusyBar()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.close_button = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        self.stop_button = self.buttons.addButton(
            _("&Stop"), QDialogButtonBox.ButtonRole.ActionRole)
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.hide()
        self.buttons.rejected.connect(self.reject)
        self._progress: TaskProgress | None = None

    def working(self) -> bool:
        return self._progress is not None

    def _begin(self, doing: str) -> TaskProgress:
        self._progress = self.busy.start()
        self.error.clear_error()
        self.summary.setText(doing)
        self._enable_fields(False)
        self.close_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.stop_button.show()
        self.stop_button.setFocus()
        return self._progress

    def _end(self) -> None:
        self._progress = None
        self.busy.hide()
        self.stop_button.hide()
        self.close_button.setEnabled(True)
        self._enable_fields(True)

    def _enable_fields(self, enabled: bool) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self._progress is not None and not self._progress.stopping:
            self._progress.stop()
            self.stop_button.setEnabled(False)
            self.summary.setText(_("Stopping…"))

    def reject(self) -> None:
        if self.working():
            self.stop()
        else:
            super().reject()


class ExportDialog(_TaskDialog):
    """Peers to send to, full or incremental, and the file to write; emits `exported`."""

    exported = Signal(object)

    def __init__(
        self, service: TransferService, runner: TaskRunner, parent: QWidget | None = None,
        choose_file: ChooseFile = ask_save_path,
    ) -> None:
        super().__init__("export_summary", parent)
        self._service = service
        self._runner = runner
        self._choose_file = choose_file
        self.setWindowTitle(_("Export transfer file"))
        self.resize(560, 420)
        self.peer_list = QListWidget()
        self.peer_list.setObjectName("export_peers")
        self.peer_list.itemChanged.connect(self._choice_changed)
        self.full_box = QCheckBox(
            _("Send e&verything, not only what the peers have not yet acknowledged"))
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("export_path")
        self.path_edit.textChanged.connect(self._choice_changed)
        self.browse_button = QPushButton(_("&Choose file…"))
        self.browse_button.clicked.connect(self.choose_path)
        self.export_button = self.buttons.addButton(
            _("&Export"), QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.clicked.connect(self.start_export)
        self.export_button.setEnabled(False)
        # Enter in the file field writes the file typed there; the chooser is a click away.
        self.browse_button.setAutoDefault(False)
        set_default_button(self.buttons, self.export_button)
        layout = QVBoxLayout(self)
        peers_label = QLabel(_("&Peers to send to:"))
        peers_label.setBuddy(self.peer_list)
        layout.addWidget(peers_label)
        layout.addWidget(self.peer_list)
        layout.addWidget(self.full_box)
        file_label = QLabel(_("&File to write:"))
        file_label.setBuddy(self.path_edit)
        layout.addWidget(file_label)
        layout.addLayout(_path_row(self.path_edit, self.browse_button))
        layout.addWidget(self.busy)
        layout.addWidget(self.summary)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.busy.show()
        self._runner.run(service.list_peers, self._peers_loaded, self._failed)

    def _peers_loaded(self, peers: list[Peer]) -> None:
        self.busy.hide()
        for peer in peers:
            item = QListWidgetItem(peer.name if not peer.revoked else _("{name} (revoked)").format(
                name=peer.name))
            item.setData(Qt.ItemDataRole.UserRole, peer.name)
            if peer.revoked:
                item.setFlags(Qt.ItemFlag.NoItemFlags)
            else:
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
            self.peer_list.addItem(item)
        if not peers:
            self.error.show_error(_("This site has no peers yet: add them under Transfer →"
                                    " Peers and keys…, once their fingerprints are confirmed."))
        self.export_button.setEnabled(True)

    def _choice_changed(self) -> None:
        """A peer ticked or a file typed: an error about the last choice is mended, and
        Enter exports again (after an export, it closed the dialog)."""
        if not self.working():
            self.error.clear_error()
            set_default_button(self.buttons, self.export_button)

    def chosen_peers(self) -> list[str]:
        items = (self.peer_list.item(i) for i in range(self.peer_list.count()))
        return [item.data(Qt.ItemDataRole.UserRole) for item in items
                if item.checkState() == Qt.CheckState.Checked]

    def set_peer_checked(self, name: str, checked: bool = True) -> None:
        for i in range(self.peer_list.count()):
            item = self.peer_list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == name:
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def choose_path(self) -> None:
        path = self._choose_file(self)
        if path is not None:
            self.path_edit.setText(str(_with_suffix(path)))

    def start_export(self) -> None:
        self.error.clear_error()
        self.summary.clear()
        names = self.chosen_peers()
        if not names:
            self.error.show_error(_("Choose at least one peer."))
            return
        if not self.path_edit.text().strip():
            self.choose_path()
        text = self.path_edit.text().strip()
        if not text:
            self.error.show_error(_("Choose the file to write."))
            return
        path, full = _with_suffix(Path(text)), self.full_box.isChecked()
        self.path_edit.setText(str(path))
        report = self._begin(_("Writing the file…")).report
        self._runner.run(
            lambda: self._service.export(names, path, full=full, progress=report),
            self._done, self._failed,
        )

    def _enable_fields(self, enabled: bool) -> None:
        for widget in (self.export_button, self.browse_button, self.peer_list, self.full_box,
                       self.path_edit):
            widget.setEnabled(enabled)

    def _done(self, result: ExportResult) -> None:
        self._end()
        set_default_button(self.buttons, self.close_button)  # done: Enter closes
        self.close_button.setFocus()
        peers = ", ".join(_("{name} (file #{sequence})").format(name=name, sequence=seq)
                          for name, seq in result.recipients)
        self.summary.setText(ngettext(
            "Wrote {file}: {cases} case for {peers}.",
            "Wrote {file}: {cases} cases for {peers}.",
            result.cases,
        ).format(file=str(result.path), cases=number(result.cases), peers=peers))
        self.exported.emit(result)

    def _failed(self, error: BaseException) -> None:
        self._end()
        set_default_button(self.buttons, self.export_button)
        if isinstance(error, TaskStopped):
            self.summary.setText(_("Stopped: no file was written, and no file number was"
                                   " used."))
        else:
            self.summary.clear()
            self.error.show_error(describe_failure(error))
        self.path_edit.setFocus()


def _with_suffix(path: Path) -> Path:
    """A transfer file's name as typed, with .haven if it has no suffix: the import's
    chooser lists only those."""
    return path if path.suffix else path.with_suffix(".haven")


class ImportDialog(_TaskDialog):
    """Choose a file, see what a dry run would do, then import it; emits `imported`."""

    imported = Signal(object)

    def __init__(
        self, service: TransferService, runner: TaskRunner, parent: QWidget | None = None,
        choose_file: ChooseFile = ask_open_path,
    ) -> None:
        super().__init__("import_summary", parent)
        self._service = service
        self._runner = runner
        self._choose_file = choose_file
        self._checked: Path | None = None  # the file whose dry run succeeded
        self.setWindowTitle(_("Import transfer file"))
        self.resize(560, 320)
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("import_path")
        self.path_edit.textChanged.connect(self._path_changed)
        self.browse_button = QPushButton(_("&Choose file…"))
        self.browse_button.clicked.connect(self.choose_path)
        self.check_button = self.buttons.addButton(
            _("C&heck file"), QDialogButtonBox.ButtonRole.ActionRole)
        self.check_button.clicked.connect(self.start_dry_run)
        self.import_button = self.buttons.addButton(
            _("&Import"), QDialogButtonBox.ButtonRole.ActionRole)
        self.import_button.clicked.connect(self.start_import)
        self.import_button.setEnabled(False)
        # Enter checks the file typed there; once checked, Enter imports it.
        self.browse_button.setAutoDefault(False)
        set_default_button(self.buttons, self.check_button)
        layout = QVBoxLayout(self)
        file_label = QLabel(_("&Transfer file:"))
        file_label.setBuddy(self.path_edit)
        layout.addWidget(file_label)
        layout.addLayout(_path_row(self.path_edit, self.browse_button))
        layout.addWidget(self.busy)
        layout.addWidget(self.summary)
        layout.addWidget(self.error)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

    def choose_path(self) -> None:
        path = self._choose_file(self)
        if path is not None:
            self.path_edit.setText(str(path))
            self.start_dry_run()

    def _path_changed(self) -> None:
        self._checked = None
        self.import_button.setEnabled(False)
        set_default_button(self.buttons, self.check_button)
        self.summary.clear()
        self.error.clear_error()

    def start_dry_run(self) -> None:
        """Always first: the report says what would change, and nothing changes."""
        text = self.path_edit.text().strip()
        if not text:
            self.error.show_error(_("Choose the file to import."))
            return
        self._run(Path(text), dry_run=True)

    def start_import(self) -> None:
        if self._checked is not None:
            self._run(self._checked, dry_run=False)

    def _run(self, path: Path, *, dry_run: bool) -> None:
        doing = _("Checking the file…") if dry_run else _("Importing…")
        progress = self._begin(doing).report
        self._runner.run(
            lambda: self._service.import_file(path, dry_run=dry_run, progress=progress),
            lambda report: self._done(path, report),
            lambda error: self._failed(error, dry_run),
        )

    def _enable_fields(self, enabled: bool) -> None:
        for widget in (self.check_button, self.browse_button, self.path_edit):
            widget.setEnabled(enabled)
        self.import_button.setEnabled(enabled and self._checked is not None)

    def _done(self, path: Path, report: ImportReport) -> None:
        self._checked = path if report.dry_run else None
        self._end()
        self.summary.setText(import_summary(report))
        if report.dry_run:
            set_default_button(self.buttons, self.import_button)
            self.import_button.setFocus()
        else:
            set_default_button(self.buttons, self.close_button)  # done: Enter closes
            self.close_button.setFocus()
            self.imported.emit(report)

    def _failed(self, error: BaseException, dry_run: bool) -> None:
        self._checked = None
        self._end()
        if isinstance(error, TaskStopped):
            self.summary.setText(_("Check stopped.") if dry_run
                                 else _("Stopped: nothing was imported."))
        else:
            self.summary.clear()
            self.error.show_error(refusal_text(error))
        set_default_button(self.buttons, self.check_button)
        self.path_edit.setFocus()


def import_summary(report: ImportReport) -> str:
    """What an import did, or for a dry run would do, in the person's language."""
    if report.dry_run:
        head = _("File #{sequence} from {sender} would bring:")
    else:
        head = _("Imported file #{sequence} from {sender}:")
    lines = [
        head.format(sequence=report.sequence, sender=report.sender),
        ngettext("{count} new case", "{count} new cases", report.cases_new).format(
            count=number(report.cases_new)),
        ngettext("{count} updated case", "{count} updated cases", report.cases_updated).format(
            count=number(report.cases_updated)),
        ngettext("{count} new conflict", "{count} new conflicts", report.conflicts_new).format(
            count=number(report.conflicts_new)),
        ngettext("{count} audit entry of other sites", "{count} audit entries of other sites",
                 report.audit_new).format(count=number(report.audit_new)),
    ]
    if report.before_reset:
        lines.append(_(
            "Written before {sender} was restored from a backup: its cases are taken; its audit"
            " checkpoint and its own audit entries of then are left out."
        ).format(sender=report.sender))
    elif report.audit_left_out:
        lines.append(ngettext(
            "{count} relayed audit entry differs from the one held here and was left out"
            " (its site was restored from a backup).",
            "{count} relayed audit entries differ from the ones held here and were left out"
            " (their site was restored from a backup).",
            report.audit_left_out,
        ).format(count=number(report.audit_left_out)))
    if report.ops_corrected:
        lines.append(ngettext(
            "{count} change held here as another site relayed it was replaced by its own"
            " site's.",
            "{count} changes held here as another site relayed them were replaced by their"
            " own site's.",
            report.ops_corrected,
        ).format(count=number(report.ops_corrected)))
    if report.audit_corrected:
        lines.append(ngettext(
            "{count} audit entry held here as another site relayed it was set aside: its own"
            " site's file shows its log otherwise.",
            "{count} audit entries held here as another site relayed them were set aside: their"
            " own site's file shows its log otherwise.",
            report.audit_corrected,
        ).format(count=number(report.audit_corrected)))
    if report.ops_left_out:
        lines.append(ngettext(
            "{count} relayed change differs from the one held here and was left out.",
            "{count} relayed changes differ from the ones held here and were left out.",
            report.ops_left_out,
        ).format(count=number(report.ops_left_out)))
    if report.ops_not_ours:
        lines.append(ngettext(
            "{count} change in this site's name that it did not make, or built on one, was"
            " left out: forged by the sending site, or by a site whose file it took.",
            "{count} changes in this site's name that it did not make, or built on one, were"
            " left out: forged by the sending site, or by a site whose file it took.",
            report.ops_not_ours,
        ).format(count=number(report.ops_not_ours)))
    if report.ops_waiting:
        lines.append(ngettext(
            "{count} change waits for a file that creates its case.",
            "{count} changes wait for a file that creates their cases.",
            report.ops_waiting,
        ).format(count=number(report.ops_waiting)))
    if report.missing_count:
        lines.append(ngettext(
            "{count} earlier file from this site has not arrived yet.",
            "{count} earlier files from this site have not arrived yet.",
            report.missing_count,
        ).format(count=number(report.missing_count)))
    if report.conflicts_new:
        lines.append(_("A manager should review the conflicts: Transfer → Conflicts…"))
    lines.append(_("Check done: nothing was changed yet. Press Import to apply it.")
                 if report.dry_run else _("The import is done."))
    return "\n".join(lines)
