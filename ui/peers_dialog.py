"""This site's public keys and its peers, the key card to print for another site, and
adding and revoking peers."""

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
    QMessageBox,
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
from ui.add_peer_dialog import AddPeerDialog
from ui.messages import describe_failure
from ui.tasks import TaskRunner
from ui.transfer_dialog import ChooseFile
from ui.widgets import BusyBar, ErrorLabel, plain_label


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
    label = plain_label(text)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                  | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    label.setWordWrap(True)
    return label


class PeersDialog(QDialog):
    """This site's keys and its peers; a user who may transfer adds a peer (its fingerprint
    checked, as `haven-admin peer add` does) or revokes one, after a confirmation."""

    def __init__(
        self, service: TransferService, runner: TaskRunner, parent: QWidget | None = None,
        choose_file: ChooseFile = ask_key_card_path,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._runner = runner
        self._choose_file = choose_file
        self.peers: list[Peer] = []
        self._working = False
        self.add_dialog: AddPeerDialog | None = None
        self._select_after_load: str | None = None  # the peer just added
        self.revoke_question: QMessageBox | None = None
        self._revoking: Peer | None = None  # the peer the question is about
        self.setWindowTitle(_("Peers and keys"))
        self.resize(980, 520)  # a revoked peer's date, and Ukrainian headers, in full
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
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)  # Tab goes on to the buttons
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.status = plain_label()  # names a peer and a file
        self.status.setObjectName("key_card_status")
        self.status.setWordWrap(True)
        self.error = ErrorLabel()
        self.busy = BusyBar()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.key_card_button = self.buttons.addButton(
            _("Save &key card…"), QDialogButtonBox.ButtonRole.ActionRole)
        self.key_card_button.clicked.connect(self.save_key_card)
        self.add_button = self.buttons.addButton(
            _("&Add peer…"), QDialogButtonBox.ButtonRole.ActionRole)
        self.add_button.clicked.connect(self.open_add_peer)
        self.revoke_button = self.buttons.addButton(
            _("&Revoke…"), QDialogButtonBox.ButtonRole.ActionRole)
        self.revoke_button.clicked.connect(self.ask_to_revoke)
        # As the menus do: a role that may not change peers is not offered to.
        may_change = service.may_change_peers()
        self.add_button.setVisible(may_change)
        self.revoke_button.setVisible(may_change)
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
        self._reload()

    def _reload(self) -> None:
        self._set_working(True)
        service = self._service
        self._runner.run(lambda: load_keys(service), self._loaded, self._failed)

    def _set_working(self, working: bool) -> None:
        self._working = working
        self.busy.setVisible(working)
        self._update_buttons()

    def _update_buttons(self) -> None:
        may_change = self._service.may_change_peers()
        self.key_card_button.setEnabled(not self._working)
        self.add_button.setEnabled(may_change and not self._working)
        peer = self.selected_peer()
        self.revoke_button.setEnabled(
            may_change and not self._working and peer is not None and not peer.revoked)

    def selected_peer(self) -> Peer | None:
        rows = self.table.selectionModel().selectedRows()
        return self.peers[rows[0].row()] if rows else None

    def select_peer(self, name: str) -> None:
        """Select the peer of this name in the table."""
        for row, peer in enumerate(self.peers):
            if peer.name == name:
                self.table.selectRow(row)

    def _loaded(self, loaded: tuple[SiteIdentity, list[Peer]]) -> None:
        mine, peers = loaded
        chosen = self.selected_peer()
        select = self._select_after_load or (chosen.name if chosen is not None else None)
        self._select_after_load = None
        self.peers = peers
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
        if select is not None:
            self.select_peer(select)
        self._set_working(False)

    def save_key_card(self) -> None:
        path = self._choose_file(self)
        if path is None:
            return
        if not path.suffix:
            path = path.with_suffix(".pdf")
        self.error.clear_error()
        self.status.clear()
        self._set_working(True)
        self._runner.run(lambda: save_key_card(self._service, path), self._saved, self._failed)

    def _saved(self, path: Path) -> None:
        self._set_working(False)
        self.status.setText(
            _("Key card saved to {file} (public keys only; nothing secret).").format(
                file=str(path)))

    def open_add_peer(self) -> AddPeerDialog | None:
        """The step that adds a peer; the table shows it once added."""
        if self._working or not self._service.may_change_peers():
            return None
        dialog = AddPeerDialog(self._service, self._runner, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.added.connect(self._peer_added)
        # Bound methods, not lambdas: a closure holding this dialog, let go while the step
        # is deleted, could delete this dialog (its parent) in the middle of that.
        dialog.finished.connect(self._add_closed)
        self.add_dialog = dialog
        dialog.open()
        return dialog

    def _add_closed(self) -> None:
        self.add_dialog = None

    def _peer_added(self, peer: Peer) -> None:
        self.error.clear_error()
        # Only now, with the fingerprint found to match, is it shown.
        self.status.setText(
            _("Peer '{name}' added: the fingerprint you typed matches its keys ({fingerprint})."
              ).format(name=peer.name, fingerprint=peer.fingerprint))
        self._select_after_load = peer.name
        self._reload()

    def ask_to_revoke(self) -> None:
        """Ask before revoking the selected peer; No (the default) or Esc leaves it."""
        peer = None if self._working else self.selected_peer()
        if peer is None or peer.revoked or not self._service.may_change_peers():
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            _("Revoke peer"),
            _("Revoke the peer '{name}'?").format(name=peer.name),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setObjectName("revoke_question")
        box.setInformativeText(
            _("Every file from this site is refused from then on, and no file is written for"
              " it any more. This cannot be undone here.")
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setEscapeButton(QMessageBox.StandardButton.No)
        box.finished.connect(self._revoke_answered)
        self.revoke_question = box
        self._revoking = peer
        box.open()

    def _revoke_answered(self) -> None:
        box, peer = self.revoke_question, self._revoking
        self.revoke_question = self._revoking = None
        if box is None or peer is None:
            return
        revoke = box.clickedButton() is box.button(QMessageBox.StandardButton.Yes)
        box.deleteLater()
        if not revoke:
            return
        self.error.clear_error()
        self.status.clear()
        self._set_working(True)
        service = self._service
        self._runner.run(lambda: service.revoke_peer(peer.name), self._revoked, self._failed)

    def _revoked(self, peer: Peer) -> None:
        self.status.setText(
            _("Peer '{name}' revoked: files from it are refused from now on.").format(
                name=peer.name))
        self._reload()

    def _failed(self, error: BaseException) -> None:
        self._set_working(False)
        self.error.show_error(describe_failure(error))
