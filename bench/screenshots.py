"""Screens a person can look at: PNGs of the real windows, in English and Ukrainian.

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m bench.screenshots [OUT_DIR]

Creates a demo vault in a temporary folder (300 synthetic cases), drives the real
dialogs and windows through a case, and saves each screen as OUT_DIR/<screen>_<lang>.png
(default ./screenshots/). Nothing here is mocked; only the Argon2id cost is the legal
minimum, so the run takes seconds.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from bench.qtloop import settle, wait_until
from db import cases
from db.keyslots import KdfParams
from db.records import Status
from db.vault import now_utc
from desktop.demo import make_demo_cases
from desktop.i18n import _
from desktop.keycard import key_card_payload
from desktop.printing import print_handoff_sheet
from desktop.session import IntakeResult, Session
from desktop.transfer.service import TransferService
from ui import style
from ui.case_view import CaseView
from ui.confirm import ARRANGE_PAGE, DETAILS_PAGE, ConfirmDialog
from ui.conflicts_dialog import ConflictsDialog
from ui.first_run import FirstRunDialog, RecoveryKeyDialog
from ui.handoff_preview import HandoffPreviewDialog
from ui.language import apply_language
from ui.main_window import MainWindow
from ui.peers_dialog import PeersDialog
from ui.places import PlacesDialog
from ui.settings import SettingsDialog, UiSettings
from ui.tasks import TaskRunner
from ui.transfer_dialog import ExportDialog, ImportDialog
from ui.unlock import UnlockDialog

USER = "demo"
PASSWORD = "haven-demo-2026"  # noqa: S105 - the public demo login of `make run`
DEMO_KDF = KdfParams(memory_kib=19 * 1024, iterations=2, lanes=1)
LANGUAGES = ("en", "uk")


class Shooter:
    """Saves grabs of widgets as <name>_<lang>.png and remembers what it wrote."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.written: list[Path] = []
        out.mkdir(parents=True, exist_ok=True)

    def shoot(self, widget: QWidget, name: str, lang: str) -> None:
        settle()
        path = self.out / f"{name}_{lang}.png"
        if not widget.grab().save(str(path)):
            raise OSError(f"could not write {path}")
        self.written.append(path)


def show(widget: QWidget) -> None:
    widget.show()
    widget.raise_()
    widget.activateWindow()
    settle()


def type_text(widget: QWidget, text: str) -> None:
    from PySide6.QtTest import QTest

    for char in text:
        QTest.sendKeyEvent(
            QTest.KeyAction.Click, widget, Qt.Key.Key_unknown, char, Qt.KeyboardModifier.NoModifier
        )


def shoot_start(shooter: Shooter, data: Path, runner: TaskRunner, lang: str) -> None:
    unlock = UnlockDialog(
        data, _("Vault: {folder}").format(folder=str(data)), runner, (USER, PASSWORD)
    )
    show(unlock)
    shooter.shoot(unlock, "unlock", lang)
    unlock.password_edit.setText("wrong password")
    unlock.try_unlock()
    wait_until(lambda: unlock.password_error.isVisible())
    shooter.shoot(unlock, "unlock_wrong_password", lang)
    unlock.close()

    first = FirstRunDialog(data.parent / "empty", runner)
    show(first)
    first.site_edit.setText("Пункт «Північ»")
    first.admin_edit.setText("chief")
    first.password_edit.setText("short")
    first.try_create()
    shooter.shoot(first, "first_run", lang)
    first.close()
    key = RecoveryKeyDialog("ABCDE-FGHIJ-KLMNO-PQRST-UVWXY-Z2345-67ABC-DEFGH-IJKLM-NOPQR-ST")
    show(key)
    shooter.shoot(key, "recovery_key", lang)
    key.written.setChecked(True)
    key.accept()


def shoot_desk(shooter: Shooter, session: Session, runner: TaskRunner, settings: UiSettings,
               lang: str) -> None:
    window = MainWindow(session, runner, settings)
    window.resize(1400, 860)
    show(window)
    wait_until(runner.idle)
    shooter.shoot(window, "queue", lang)

    window.queue.search_edit.setText("Ivanov")
    wait_until(lambda: window.queue.table.model() is window.queue.search_model and runner.idle())
    shooter.shoot(window, "search", lang)
    window.queue.search_edit.clear()
    wait_until(runner.idle)

    intake = window.new_intake()
    assert intake is not None
    intake.move(window.pos())
    show(intake)
    person = intake.persons[0]
    type_text(person.edits["birth_date"], "31.02.1991")
    type_text(person.edits["phone"], "+380 67 555 1234")
    type_text(intake.location_edit, "Запорізька обл., околиці Оріхова")
    intake.save()
    shooter.shoot(intake, "intake_error", lang)
    person.edits["birth_date"].selectAll()
    type_text(person.edits["birth_date"], "14.03.1991")
    type_text(person.edits["full_name"], "Мельник Тарас Іванович")
    type_text(person.edits["rank"], "молодший сержант")
    type_text(person.edits["unit"], "в/ч 11931")
    intake.add_person()
    type_text(intake.persons[1].edits["full_name"], "Мельник Богдан")
    type_text(intake.callback_edit, "Signal: @taras_m")
    wait_until(lambda: runner.idle())
    settle(500)
    wait_until(runner.idle)
    shooter.shoot(intake, "intake", lang)
    results: list[IntakeResult] = []
    intake.registered.connect(results.append)
    intake.save()
    wait_until(lambda: bool(results))
    shooter.shoot(intake, "intake_result", lang)
    intake.accept()

    view = window.open_case(results[0].case_id)
    assert view is not None
    wait_until(lambda: view.case is not None and runner.idle())
    view.start_contact()
    type_text(view.contact_bar.summary_edit, "Передзвонив, чекає на підтвердження")
    shooter.shoot(window, "case", lang)
    view.contact_bar.save()
    wait_until(runner.idle)

    case = view.case
    assert case is not None
    view.take(next(t for t in session.allowed_transitions(case) if t.target == Status.CONFIRMED))
    wait_until(lambda: isinstance(view.dialog, ConfirmDialog))
    confirm = view.dialog
    assert isinstance(confirm, ConfirmDialog)
    settle()
    confirm.codeword_edit.setText("не те слово")
    confirm.check_codeword()
    wait_until(lambda: confirm.codeword_error.isVisible())
    shooter.shoot(confirm, "confirm_wrong_codeword", lang)
    confirm.codeword_edit.setText(results[0].codeword)
    confirm.check_codeword()
    wait_until(lambda: confirm.pages.currentIndex() == DETAILS_PAGE)
    assert confirm.details_form is not None
    type_text(confirm.details_form.fields["location"], "Оріхів, підвал школи")
    type_text(confirm.details_form.fields["condition"], "виснажені, без поранень")
    shooter.shoot(confirm, "confirm_details", lang)
    confirm.confirm()
    wait_until(lambda: confirm.pages.currentIndex() == ARRANGE_PAGE)
    shooter.shoot(confirm, "confirm_arrange", lang)
    confirm.arrange()
    wait_until(lambda: view.dialog is None and runner.idle())
    wait_until(lambda: view.case is not None and view.case.status == Status.HANDOFF_ARRANGED)
    wait_until(runner.idle)
    shooter.shoot(window, "case_arranged", lang)
    shoot_handoff(shooter, session, window, view, runner, lang)

    places = PlacesDialog(session, runner, window)
    show(places)
    wait_until(runner.idle)
    shooter.shoot(places, "site_lists", lang)
    places.reject()
    settings_dialog = SettingsDialog(settings, window)
    show(settings_dialog)
    shooter.shoot(settings_dialog, "settings", lang)
    settings_dialog.reject()

    window.lock()
    shooter.shoot(window, "locked", lang)
    window.close_without_asking()
    wait_until(runner.idle)


def open_preview(window: MainWindow, view: CaseView, runner: TaskRunner) -> HandoffPreviewDialog:
    view.print_handoff()
    wait_until(lambda: view.preview is not None and view.preview.isVisible() and runner.idle())
    preview = view.preview
    assert preview is not None
    preview.move(window.pos())
    settle(500)  # QPdfView renders its pages after the first paint
    return preview


def shoot_handoff(shooter: Shooter, session: Session, window: MainWindow, view: CaseView,
                  runner: TaskRunner, lang: str) -> None:
    """The sheet preview, the warning before an unencrypted save, and a reprint's preview."""
    preview = open_preview(window, view, runner)
    shooter.shoot(preview, "handoff_preview", lang)
    preview.ask_to_save()
    warning = preview.unencrypted_warning
    assert warning is not None
    shooter.shoot(warning, "handoff_save_warning", lang)
    warning.reject()
    wait_until(lambda: preview.unencrypted_warning is None)
    preview.reject()
    wait_until(lambda: view.preview is None)

    assert view.case is not None
    print_handoff_sheet(session, view.case.id)  # as if it had gone to the printer
    reprint = open_preview(window, view, runner)
    shooter.shoot(reprint, "handoff_preview_copy", lang)
    reprint.reject()
    wait_until(lambda: view.preview is None)


def _peers(first: TransferService, second: TransferService, names: tuple[str, str]) -> None:
    """Make two sites peers of each other, fingerprints confirmed."""
    for service, other, name in ((first, second, names[1]), (second, first, names[0])):
        keys = other.site_identity()
        service.add_peer(name, keys.signing_key, keys.age_recipient, keys.fingerprint)


def _edit_location(session: Session, case_id: str, place: str) -> None:
    with session.vault.transaction() as conn:
        cases.update_fields(conn, case_id, {"location": place}, now_utc(), by=USER)


def shoot_transfer(shooter: Shooter, session: Session, runner: TaskRunner, scratch: Path,
                   lang: str) -> None:
    """Export to a new peer, the import's check, the import, a replay refused, peers, a conflict."""
    name = "south" if lang == "en" else "Південь"
    site_name = "South" if lang == "en" else "Пункт «Південь»"
    peer_session, _recovery = Session.create_site(
        scratch / f"peer-{lang}", site_name, USER, PASSWORD, DEMO_KDF
    )
    mine, theirs = TransferService(session), TransferService(peer_session)
    _peers(mine, theirs, ("demo", name))
    path = scratch / f"to-{lang}.haven"
    export = ExportDialog(mine, runner, choose_file=lambda _parent: path)
    show(export)
    wait_until(lambda: export.peer_list.count() > 0 and runner.idle())
    export.set_peer_checked(name)
    export.start_export()
    wait_until(lambda: bool(export.summary.text()) and runner.idle())
    shooter.shoot(export, "transfer_export", lang)
    export.close()

    incoming = ImportDialog(theirs, runner, choose_file=lambda _parent: path)
    show(incoming)
    incoming.browse_button.click()
    wait_until(lambda: incoming.import_button.isEnabled() and runner.idle())
    shooter.shoot(incoming, "transfer_import_check", lang)
    incoming.import_button.click()
    wait_until(lambda: not incoming.import_button.isEnabled() and runner.idle())
    shooter.shoot(incoming, "transfer_import_done", lang)
    incoming.browse_button.click()  # the same file again: a replay
    wait_until(lambda: incoming.error.isVisible() and runner.idle())
    shooter.shoot(incoming, "transfer_import_refused", lang)
    incoming.close()

    case_id = session.queue_page(None, limit=1)[0][0].id
    _edit_location(session, case_id, "Оріхів, школа №2")
    _edit_location(peer_session, case_id, "Оріхів, лікарня")
    back = scratch / f"back-{lang}.haven"
    theirs.export(["demo"], back, full=False)
    mine.import_file(back)
    conflicts = ConflictsDialog(mine, runner)
    show(conflicts)
    wait_until(lambda: conflicts.table.rowCount() > 0 and runner.idle())
    shooter.shoot(conflicts, "transfer_conflicts", lang)
    conflicts.open_resolve()
    step = conflicts.resolve_dialog
    assert step is not None
    show(step)
    step.choose(len(step.view.versions) - 1)  # the oldest: what is kept and what goes
    shooter.shoot(step, "transfer_conflict_resolve", lang)
    step.reject()
    conflicts.close()
    peers = PeersDialog(mine, runner)
    show(peers)
    wait_until(runner.idle)
    shooter.shoot(peers, "transfer_peers", lang)
    peers.close()
    peer_session.close()


def shoot_peers(shooter: Shooter, mine: TransferService, runner: TaskRunner, scratch: Path,
                lang: str) -> None:
    """Adding a peer from its key card (a wrong fingerprint first), then revoking it."""
    name = "west" if lang == "en" else "Захід"
    site_name = "West" if lang == "en" else "Пункт «Захід»"
    their_session, _recovery = Session.create_site(
        scratch / f"west-{lang}", site_name, USER, PASSWORD, DEMO_KDF
    )
    theirs = TransferService(their_session).site_identity()
    their_session.close()
    peers = PeersDialog(mine, runner)
    show(peers)
    wait_until(runner.idle)
    step = peers.open_add_peer()
    assert step is not None
    show(step)
    shooter.shoot(step, "transfer_peer_add", lang)
    type_text(step.name_edit, name)
    step.card_edit.setPlainText(key_card_payload(
        theirs.site_id, theirs.signing_key, theirs.age_recipient, theirs.fingerprint))
    misheard = theirs.fingerprint[:-1] + ("0" if theirs.fingerprint[-1] != "0" else "1")
    type_text(step.fingerprint_edit, misheard)
    step.try_add()
    wait_until(lambda: runner.idle() and step.general_error.isHidden()
               and bool(step.errors.label("fingerprint").text()))  # type: ignore[union-attr]
    shooter.shoot(step, "transfer_peer_add_mismatch", lang)
    step.fingerprint_edit.setText(theirs.fingerprint)
    step.try_add()
    wait_until(lambda: peers.add_dialog is None and runner.idle())
    shooter.shoot(peers, "transfer_peer_added", lang)
    peers.ask_to_revoke()
    question = peers.revoke_question
    assert question is not None
    show(question)
    shooter.shoot(question, "transfer_peer_revoke", lang)
    question.button(QMessageBox.StandardButton.Yes).click()
    wait_until(lambda: peers.revoke_question is None and runner.idle())
    shooter.shoot(peers, "transfer_peer_revoked", lang)
    peers.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "screenshots").resolve()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Haven")
    style.install(app)
    shooter = Shooter(out)
    with tempfile.TemporaryDirectory(prefix="haven-screens-") as scratch:
        data = Path(scratch) / "demo-site"
        session, _recovery = Session.create_site(data, "Demo site", USER, PASSWORD, DEMO_KDF)
        runner = TaskRunner()
        try:
            make_demo_cases(session, 300, seed=7)
            settings = UiSettings(data)
            for lang in LANGUAGES:
                settings.language = lang
                apply_language(lang)
                shoot_start(shooter, data, runner, lang)
                shoot_desk(shooter, session, runner, settings, lang)
                shoot_transfer(shooter, session, runner, Path(scratch), lang)
                shoot_peers(shooter, TransferService(session), runner, Path(scratch), lang)
        finally:
            runner.cancel_all()
            runner.wait_for_done()
            session.close()
    for path in shooter.written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
