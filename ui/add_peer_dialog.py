"""Trust another site: its name, its keys (typed, or from its key card's QR code) and the
fingerprint read off its card or aloud, which the service checks against the keys.

The fingerprint the keys give is never shown here: a person who saw it could copy it
instead of comparing it. The peers dialog shows it once the service found that it matches.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from db.peers import Peer
from desktop.errors import InputRejected
from desktop.i18n import _
from desktop.keycard import CardKeys, read_key_card
from desktop.transfer.service import TransferService
from ui.messages import explain
from ui.style import mono_font
from ui.tasks import TaskRunner
from ui.widgets import BusyBar, ErrorLabel, FieldErrors, focus, set_default_button

CARD_LINES = 3


def _card(text: str) -> CardKeys | None:
    """The keys of a key card's QR text, or None while it is no such text (yet)."""
    try:
        return read_key_card(text)
    except InputRejected:
        return None


class AddPeerDialog(QDialog):
    """The peer's name, keys and fingerprint; emits `added(peer)` once the service added it."""

    added = Signal(object)

    def __init__(
        self, service: TransferService, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._runner = runner
        self._busy = False
        self.setWindowTitle(_("Add peer"))
        self.setMinimumWidth(640)
        intro = QLabel(_("Scan the other site's key card, or type its keys as its Haven shows"
                         " them. Then type the fingerprint as its IT officer reads it to you,"
                         " or as it stands on the paper card."))
        intro.setWordWrap(True)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("peer_name")
        self.card_edit = QPlainTextEdit()
        self.card_edit.setObjectName("key_card_text")
        self.card_edit.setTabChangesFocus(True)  # Enter from a scanner stays in the box
        self.card_edit.setPlaceholderText(_("Scan the QR code here, or paste its text."))
        line = self.card_edit.fontMetrics().lineSpacing()
        self.card_edit.setFixedHeight(CARD_LINES * line + 2 * self.card_edit.frameWidth() + 8)
        self.card_edit.textChanged.connect(self._card_changed)
        self._card: CardKeys | None = None  # the card the keys were taken from
        self.card_note = QLabel()
        self.card_note.setObjectName("card_note")
        self.card_note.setProperty("role", "hint")
        self.card_note.setWordWrap(True)
        self.card_note.hide()
        self.signing_key_edit = QLineEdit()
        self.signing_key_edit.setObjectName("signing_key")
        self.signing_key_edit.setPlaceholderText("ssh-ed25519 AAAA… haven:…")
        self.recipient_edit = QLineEdit()
        self.recipient_edit.setObjectName("recipient")
        self.recipient_edit.setPlaceholderText("age1…")
        for edit in (self.signing_key_edit, self.recipient_edit):
            edit.textEdited.connect(self._forget_card)
        self.fingerprint_edit = QLineEdit()
        self.fingerprint_edit.setObjectName("fingerprint")
        self.fingerprint_edit.setFont(mono_font(13, bold=True))
        fingerprint_hint = QLabel(_("Read it with the other site's IT officer, group by group;"
                                    " never copy it from the keys or the QR code."))
        fingerprint_hint.setProperty("role", "hint")
        fingerprint_hint.setWordWrap(True)
        self.general_error = ErrorLabel()
        self.errors = FieldErrors(self.general_error)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        rows = (
            ("peer_name", _("&Name:"), self.name_edit, None),
            ("card", _("&Key card (QR):"), self.card_edit, self.card_note),
            ("signing_key", _("&Signing key:"), self.signing_key_edit, None),
            ("recipient", _("&Encryption key (age):"), self.recipient_edit, None),
            ("fingerprint", _("&Fingerprint:"), self.fingerprint_edit, fingerprint_hint),
        )
        for key, text, edit, hint in rows:
            error = ErrorLabel()
            form.addRow(text, edit)
            if hint is not None:
                form.addRow("", hint)
            form.addRow("", error)
            self.errors.add(key, edit, error)
        self.busy = BusyBar()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.addButton(
            _("&Add peer"), QDialogButtonBox.ButtonRole.AcceptRole)
        set_default_button(self.buttons, self.add_button)
        self.buttons.accepted.connect(self.try_add)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.general_error)
        layout.addWidget(self.busy)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        focus(self.name_edit)

    def _card_changed(self) -> None:
        """A key card's text fills both keys, and is taken out of the box again: it holds
        the card's fingerprint too, which must be typed, not copied."""
        text = self.card_edit.toPlainText()
        if not text.strip():
            return  # the Enter a scanner ends with, once its text was read
        card = _card(text)
        if card is None:
            if self._card is not None:  # another card being scanned or typed
                self._forget_card()
            return
        self._card = card
        for edit, key in ((self.signing_key_edit, card.signing_key),
                          (self.recipient_edit, card.recipient)):
            edit.setText(key)
            edit.setCursorPosition(0)
            self.errors.clear_widget(edit)
        self.errors.clear_widget(self.card_edit)
        with QSignalBlocker(self.card_edit):
            self.card_edit.clear()
        self.card_note.setText(_("Both keys are taken from the key card. Now type the"
                                 " fingerprint."))
        self.card_note.show()

    def _forget_card(self) -> None:
        """The keys are typed (or changed) by hand: the card read before no longer counts."""
        self._card = None
        self.card_note.clear()
        self.card_note.hide()

    def try_add(self) -> None:
        if self._busy:
            return
        if self.card_edit.toPlainText().strip():  # text that was not read as a card
            try:
                read_key_card(self.card_edit.toPlainText())
            except InputRejected as exc:
                self._show(exc)
                return
        name = self.name_edit.text()
        signing_key = self.signing_key_edit.text()
        recipient = self.recipient_edit.text()
        fingerprint = self.fingerprint_edit.text()
        missing = [(key, _("Required.")) for key, text in (
            ("peer_name", name), ("signing_key", signing_key), ("recipient", recipient),
            ("fingerprint", fingerprint)) if not text.strip()]
        if missing:
            self.errors.show_all(missing)
            return
        self.errors.clear()
        self._set_busy(True)
        site_id = self._card.site_id if self._card is not None else None
        service = self._service
        self._runner.run(
            lambda: service.add_peer(name, signing_key, recipient, fingerprint, site_id),
            self._added, self._failed,
        )

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy.setVisible(busy)
        # Read-only, not disabled: a disabled field hands the focus on to the next one,
        # which then selects its whole text and shows a long key from its end.
        for edit in (self.name_edit, self.card_edit, self.signing_key_edit,
                     self.recipient_edit, self.fingerprint_edit):
            edit.setReadOnly(busy)
        self.add_button.setEnabled(not busy)

    def _added(self, peer: Peer) -> None:
        self._set_busy(False)
        self.added.emit(peer)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self._show(error)

    def _show(self, error: BaseException) -> None:
        problem = explain(error)
        self.errors.show(problem.field, problem.text)
