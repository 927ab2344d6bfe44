"""Adding and revoking peers in the desk: the fingerprint typed by hand confirms the keys,
every refusal is said in the dialog with nothing added, and revoking asks first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QMessageBox, QPlainTextEdit

from db.records import Role
from db.vault import parse_time
from desktop.keycard import key_card_payload
from desktop.session import Session
from desktop.transfer.identity import SiteIdentity
from desktop.transfer.service import TransferService
from tests.conftest import FAST_KDF, Site
from tests.desktop.transfer.sites import HavenSite, make_site, vault_digest
from tests.ui.conftest import WAIT_MS, type_text
from tests.ui.test_transfer_gui import pair  # noqa: F401 - the fixture: two sites, peers
from ui import labels
from ui.add_peer_dialog import AddPeerDialog
from ui.peers_dialog import PeersDialog
from ui.tasks import TaskRunner

WORKER_PASSWORD = "another long password"


@pytest.fixture
def third(tmp_path: Path, qapp: QApplication) -> Iterator[HavenSite]:
    """Site "c", a peer of no one yet."""
    site = make_site(tmp_path, "c")
    yield site
    site.close()


def open_peers(qtbot, service: TransferService, runner: TaskRunner) -> PeersDialog:  # type: ignore[no-untyped-def]
    dialog = PeersDialog(service, runner)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
    return dialog


def open_add(qtbot, peers: PeersDialog) -> AddPeerDialog:  # type: ignore[no-untyped-def]
    peers.activateWindow()  # the offscreen platform activates no window by itself
    qtbot.waitUntil(peers.isActiveWindow, timeout=WAIT_MS)
    qtbot.keyClick(peers, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)  # "&Add peer…"
    qtbot.waitUntil(lambda: peers.add_dialog is not None, timeout=WAIT_MS)
    step = peers.add_dialog
    assert step is not None, "Alt+A opened no add step"
    qtbot.waitExposed(step)
    return step


def shown_texts(dialog: AddPeerDialog) -> str:
    """Everything the add step shows, but what the person typed into the fingerprint box."""
    texts = [label.text() for label in dialog.findChildren(QLabel) if label.isVisible()]
    texts += [edit.text() for edit in dialog.findChildren(QLineEdit)
              if edit is not dialog.fingerprint_edit]
    texts += [edit.toPlainText() for edit in dialog.findChildren(QPlainTextEdit)]
    return "\n".join(texts)


def fill(qtbot, dialog: AddPeerDialog, name: str, keys: SiteIdentity, fingerprint: str) -> None:  # type: ignore[no-untyped-def]
    for edit, text in ((dialog.name_edit, name), (dialog.signing_key_edit, keys.signing_key),
                       (dialog.recipient_edit, keys.age_recipient),
                       (dialog.fingerprint_edit, fingerprint)):
        edit.clear()
        qtbot.keyClicks(edit, text)


def press_add(qtbot, dialog: AddPeerDialog, runner: TaskRunner) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)


def audit_actions(site: HavenSite) -> list[tuple[str, str, str | None]]:
    with site.session.vault.reading() as conn:
        return [tuple(row) for row in conn.execute(
            "SELECT actor, action, detail FROM audit_log ORDER BY seq")]


def peer_names(site: HavenSite) -> list[str]:
    return [peer.name for peer in site.service.list_peers()]


def test_a_peer_whose_fingerprint_matches_is_added_and_audited(  # type: ignore[no-untyped-def]
    qtbot, pair, third: HavenSite  # noqa: F811
) -> None:
    a, _b, runner = pair
    theirs = third.service.site_identity()
    peers = open_peers(qtbot, a.service, runner)
    step = open_add(qtbot, peers)
    # Typed as heard: lower case, dashes, an O for a zero is all the same to the check.
    heard = theirs.fingerprint.lower().replace(" ", "-")
    fill(qtbot, step, "c", theirs, heard)
    assert theirs.fingerprint not in shown_texts(step)  # nothing to copy it from

    press_add(qtbot, step, runner)
    qtbot.waitUntil(lambda: peers.add_dialog is None and peers.table.rowCount() == 2,
                    timeout=WAIT_MS)
    assert peer_names(a) == ["b", "c"]
    row = [peers.table.item(1, column).text() for column in range(4)]
    assert row == ["c", third.site_id, theirs.fingerprint, "active"]
    assert peers.status.text() == (
        f"Peer 'c' added: the fingerprint you typed matches its keys ({theirs.fingerprint}).")
    assert peers.selected_peer() is not None
    assert peers.selected_peer().name == "c"
    assert audit_actions(a)[-1] == ("admin", "peer_added", f"c {theirs.fingerprint}")


def test_a_fingerprint_that_does_not_match_adds_nothing(  # type: ignore[no-untyped-def]
    qtbot, pair, third: HavenSite  # noqa: F811
) -> None:
    a, b, runner = pair
    theirs = third.service.site_identity()
    peers = open_peers(qtbot, a.service, runner)
    step = open_add(qtbot, peers)
    # The card of c, but the keys of b: the keys are not the ones on the card.
    keys_of_b = b.service.site_identity()
    before = vault_digest(a)
    audited = audit_actions(a)
    fill(qtbot, step, "c", keys_of_b, theirs.fingerprint)
    press_add(qtbot, step, runner)

    assert step.isVisible()
    error = step.errors.label("fingerprint")
    assert error is not None
    assert error.isVisible()
    assert error.text() == (
        "The fingerprint does not match: these keys are not the ones on the other site's card."
        " The peer was not added. Check the keys, and read the fingerprint again with the"
        " other site.")
    assert step.fingerprint_edit.hasFocus()
    assert keys_of_b.fingerprint not in shown_texts(step)  # not even after the refusal
    assert peer_names(a) == ["b"]
    assert vault_digest(a) == before
    assert audit_actions(a) == audited
    step.reject()
    assert peers.table.rowCount() == 1


def test_the_key_cards_text_fills_both_keys_but_not_the_fingerprint(  # type: ignore[no-untyped-def]
    qtbot, pair, third: HavenSite  # noqa: F811
) -> None:
    a, _b, runner = pair
    theirs = third.service.site_identity()
    peers = open_peers(qtbot, a.service, runner)
    step = open_add(qtbot, peers)
    qtbot.keyClicks(step.name_edit, "c")
    step.card_edit.setFocus()
    # A scanner types the QR code's text and ends with Enter.
    type_text(step.card_edit, key_card_payload(
        theirs.site_id, theirs.signing_key, theirs.age_recipient, theirs.fingerprint))
    qtbot.keyClick(step.card_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
    assert step.isVisible()  # Enter stayed in the box: nothing was tried yet
    assert peer_names(a) == ["b"]
    assert step.signing_key_edit.text() == theirs.signing_key
    assert step.recipient_edit.text() == theirs.age_recipient
    assert step.card_note.text() == (
        "Both keys are taken from the key card. Now type the fingerprint.")
    assert step.fingerprint_edit.text() == ""
    # The QR text holds the fingerprint too: it is taken out of the box once read.
    assert step.card_edit.toPlainText().strip() == ""
    assert theirs.fingerprint not in shown_texts(step)

    qtbot.keyClicks(step.fingerprint_edit, theirs.fingerprint)
    press_add(qtbot, step, runner)
    qtbot.waitUntil(lambda: peers.add_dialog is None and peers.table.rowCount() == 2,
                    timeout=WAIT_MS)
    assert peer_names(a) == ["b", "c"]


def test_text_that_is_no_key_card_is_refused_and_edited_keys_are_typed(  # type: ignore[no-untyped-def]
    qtbot, pair, third: HavenSite  # noqa: F811
) -> None:
    a, _b, runner = pair
    theirs = third.service.site_identity()
    peers = open_peers(qtbot, a.service, runner)
    step = open_add(qtbot, peers)
    fill(qtbot, step, "c", theirs, theirs.fingerprint)
    qtbot.keyClicks(step.card_edit, '{"site_id": "x"}')
    assert step.signing_key_edit.text() == theirs.signing_key  # typed keys are kept
    press_add(qtbot, step, runner)
    error = step.errors.label("card")
    assert error is not None
    assert error.text() == "This is not the text of a Haven key card's QR code."
    assert step.isVisible()
    assert peer_names(a) == ["b"]

    step.card_edit.setPlainText(key_card_payload(  # pasted
        theirs.site_id, theirs.signing_key, theirs.age_recipient, theirs.fingerprint))
    assert not error.isVisible()
    assert step.card_note.isVisible()
    step.signing_key_edit.setFocus()
    qtbot.keyClick(step.signing_key_edit, Qt.Key.Key_End)
    qtbot.keyClicks(step.signing_key_edit, "x")  # changed by hand: no longer the card's
    assert not step.card_note.isVisible()
    press_add(qtbot, step, runner)
    assert peer_names(a) == ["b"]
    signing_error = step.errors.label("signing_key")
    assert signing_error is not None
    assert signing_error.isVisible()


@pytest.mark.parametrize(("name", "keys", "field", "message"), [
    ("b", "c", "peer_name",
     "The peer 'b' has this name or these keys already; the peer was not added."),
    ("c d", "c", "peer_name",
     "A peer's name is 1 to 64 letters, digits, '-', '_' or '.': no spaces or commas."),
    ("again", "b", "peer_name",
     "The peer 'b' has this name or these keys already; the peer was not added."),
    ("c", "bad key", "signing_key",
     "This is not a usable signing key. It is one line, 'ssh-ed25519 AAAA… haven:…'."),
    ("c", "bad recipient", "recipient",
     "This is not a usable encryption key. It is one word starting with 'age1'."),
    ("c", "own", "signing_key", "These are this site's own keys, not another site's."),
    ("c", "", "signing_key", "Required."),
])
def test_each_refusal_is_said_in_the_dialog_and_adds_nothing(  # type: ignore[no-untyped-def]
    qtbot, pair, third: HavenSite, name: str, keys: str, field: str, message: str  # noqa: F811
) -> None:
    a, b, runner = pair
    chosen = {"b": b, "c": third, "own": a}.get(keys, third).service.site_identity()
    signing_key, recipient = chosen.signing_key, chosen.age_recipient
    if keys == "bad key":
        signing_key = "ssh-ed25519 AAAAnotakey haven:" + third.site_id
    elif keys == "bad recipient":
        recipient = "age1notarecipient"
    elif keys == "":
        signing_key = ""
    peers = open_peers(qtbot, a.service, runner)
    step = open_add(qtbot, peers)
    fill(qtbot, step, name, chosen, chosen.fingerprint)
    step.signing_key_edit.setText(signing_key)
    step.recipient_edit.setText(recipient)
    audited = audit_actions(a)
    press_add(qtbot, step, runner)
    error = step.errors.label(field)
    assert error is not None
    assert error.isVisible()
    assert error.text() == message
    assert step.isVisible()
    assert peer_names(a) == ["b"]
    assert audit_actions(a) == audited


def revoke_question(qtbot, peers: PeersDialog) -> QMessageBox:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(peers.revoke_button, Qt.MouseButton.LeftButton)
    box = peers.revoke_question
    assert box is not None
    qtbot.waitUntil(box.isVisible, timeout=WAIT_MS)
    return box


def test_revoking_asks_first_and_no_is_the_default(qtbot, pair) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    a, _b, runner = pair
    peers = open_peers(qtbot, a.service, runner)
    assert not peers.revoke_button.isEnabled()  # no peer chosen yet
    peers.select_peer("b")
    assert peers.revoke_button.isEnabled()

    box = revoke_question(qtbot, peers)
    assert box.text() == "Revoke the peer 'b'?"
    assert box.informativeText() == (
        "Every file from this site is refused from then on, and no file is written for it any"
        " more. This cannot be undone here.")
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: peers.revoke_question is None, timeout=WAIT_MS)
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
    assert not a.service.list_peers()[0].revoked
    assert peers.table.item(0, 3).text() == "active"

    box = revoke_question(qtbot, peers)
    qtbot.keyClick(box, Qt.Key.Key_Return)  # Enter answers the default: No
    qtbot.waitUntil(lambda: peers.revoke_question is None, timeout=WAIT_MS)
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
    assert not a.service.list_peers()[0].revoked

    box = revoke_question(qtbot, peers)
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: runner.idle() and "revoked" in peers.table.item(0, 3).text(),
                    timeout=WAIT_MS)
    [peer] = a.service.list_peers()
    assert peer.revoked_at is not None
    assert peers.table.item(0, 3).text() == (
        "revoked " + labels.moment(parse_time(peer.revoked_at)))
    assert peers.status.text() == "Peer 'b' revoked: files from it are refused from now on."
    assert peers.selected_peer() == peer
    assert not peers.revoke_button.isEnabled()  # revoked already
    assert audit_actions(a)[-1] == ("admin", "peer_revoked", "b")


@pytest.mark.parametrize(("role", "may_change"), [
    (Role.OPERATOR, False), (Role.MANAGER, False), (Role.IT, True)])
def test_only_a_role_that_may_transfer_adds_or_revokes(  # type: ignore[no-untyped-def]
    site: Site, runner: TaskRunner, qtbot, role: Role, may_change: bool
) -> None:
    site.session.add_user("worker", role, WORKER_PASSWORD, FAST_KDF)
    session = Session.open(site.data, "worker", WORKER_PASSWORD)
    try:
        peers = open_peers(qtbot, TransferService(session), runner)
        assert peers.add_button.isVisible() is may_change
        assert peers.revoke_button.isVisible() is may_change
        assert peers.add_button.isEnabled() is may_change
        assert peers.error.isVisible() is not may_change
        if not may_change:
            assert peers.error.text() == "Your role does not allow this."
            assert peers.open_add_peer() is None
            assert peers.add_dialog is None
        peers.close()
    finally:
        runner.wait_for_done()
        session.close()
