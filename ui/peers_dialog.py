"""This site's public keys and its peers, and the key card to print for another site."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db.peers import Peer
from db.vault import parse_time
from desktop.files import write_private_file
from desktop.i18n import _
from desktop.transfer.identity import SiteIdentity
from desktop.transfer.service import TransferService
from ui import labels
from ui.messages import describe_failure
from ui.tasks import TaskRunner
from ui.transfer_dialog import ChooseFile
from ui.widgets import BusyBar, ErrorLabel


def ask_key_card_path(parent: QWidget) -> Path | None:
    name, _filter = QFileDialog.getSaveFileName(parent, _("Save key card"), "", "PDF (*.pdf)")
    return Path(name) if name else None


def load_keys(service: TransferService) -> tuple[SiteIdentity, list[Peer]]:
    """This site's identity and its peers, for a worker thread."""
    return service.site_identity(), service.list_peers()


def save_key_card(service: TransferService, path: Path) -> Path:
    """Render the key card and write it (0600, synced): for a worker thread."""
    service.key_card(save=lambda pdf: write_private_file(path, pdf))
    return path


def _selectable(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                  | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    label.setWordWrap(True)
    return label


class PeersDialog(QDialog):
    """Read-only: peers are added and revoked with haven-admin, after the fingerprint check."""

    def __init__(
        self, service: TransferService, runner: TaskRunner, parent: QWidget | None = None,
        choose_file: ChooseFile = ask_key_card_path,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._runner = runner
        self._choose_file = choose_file
        self.setWindowTitle(_("Peers and keys"))
        self.resize(820, 480)
        self.site_form = QFormLayout()
        self.fingerprint = _selectable("")
        self.fingerprint.setObjectName("own_fingerprint")
        self.site_id = _selectable("")
        self.signing_key = _selectable("")
        self.recipient = _selectable("")
        self.site_form.addRow(_("This site's fingerprint:"), self.fingerprint)
        self.site_form.addRow(_("Site id:"), self.site_id)
        self.site_form.addRow(_("Signing key:"), self.signing_key)
        self.site_form.addRow(_("Encryption key (age):"), self.recipient)
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("peers_table")
        self.table.setHorizontalHeaderLabels(
            [_("Name"), _("Site id"), _("Fingerprint"), _("Status")])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.table.setTabKeyNavigation(False)  # Tab goes on to the buttons
        self.status = QLabel()
        self.status.setObjectName("key_card_status")
        self.status.setWordWrap(True)
        self.error = ErrorLabel()
        self.busy = BusyBar()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.key_card_button = self.buttons.addButton(
            _("Save &key card…"), QDialogButtonBox.ButtonRole.ActionRole)
        self.key_card_button.clicked.connect(self.save_key_card)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.site_form)
        peers_label = QLabel(_("&Peers:"))
        peers_label.setBuddy(self.table)
        layout.addWidget(peers_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.busy)
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.busy.show()
        self._runner.run(lambda: load_keys(service), self._loaded, self._failed)

    def _loaded(self, loaded: tuple[SiteIdentity, list[Peer]]) -> None:
        self.busy.hide()
        mine, peers = loaded
        self.fingerprint.setText(mine.fingerprint)
        self.site_id.setText(mine.site_id)
        self.signing_key.setText(mine.signing_key)
        self.recipient.setText(mine.age_recipient)
        self.table.setRowCount(len(peers))
        for row, peer in enumerate(peers):
            state = (_("revoked {at}").format(at=labels.moment(parse_time(peer.revoked_at)))
                     if peer.revoked_at is not None else _("active"))
            for column, text in enumerate((peer.name, peer.site_id, peer.fingerprint, state)):
                self.table.setItem(row, column, QTableWidgetItem(text))

    def save_key_card(self) -> None:
        path = self._choose_file(self)
        if path is None:
            return
        if not path.suffix:
            path = path.with_suffix(".pdf")
        self.error.clear_error()
        self.status.clear()
        self.busy.show()
        self.key_card_button.setEnabled(False)
        self._runner.run(lambda: save_key_card(self._service, path), self._saved, self._failed)

    def _saved(self, path: Path) -> None:
        self.busy.hide()
        self.key_card_button.setEnabled(True)
        self.status.setText(
            _("Key card saved to {file} (public keys only; nothing secret).").format(
                file=str(path)))

    def _failed(self, error: BaseException) -> None:
        self.busy.hide()
        self.key_card_button.setEnabled(True)
        self.error.show_error(describe_failure(error))
