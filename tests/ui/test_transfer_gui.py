"""Transfer through the dialogs, between two real sites: export, dry run, import, refusals."""

from __future__ import annotations

import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from db.records import Role
from db.vault import parse_time
from desktop.session import Session
from tests.conftest import FAST_KDF, Site, SmallDisk
from tests.desktop.transfer.sites import (
    HavenSite,
    edited_everywhere,
    make_sites,
    new_case,
    vault_digest,
)
from tests.ui.conftest import WAIT_MS, focused
from ui import labels
from ui.conflicts_dialog import ConflictsDialog, ResolveConflictDialog
from ui.main_window import MainWindow
from ui.peers_dialog import PeersDialog
from ui.settings import UiSettings
from ui.tasks import TaskRunner
from ui.transfer_dialog import ExportDialog, ImportDialog
from ui.widgets import BusyBar

WORKER_PASSWORD = "another long password"


def _sites_with_runner(folder: Path, names: str) -> Iterator[tuple[list[HavenSite], TaskRunner]]:
    """Sites, peers of each other, and a runner that finishes before they close."""
    sites = make_sites(folder, names)
    tasks = TaskRunner()
    yield sites, tasks
    tasks.cancel_all()
    tasks.wait_for_done()
    QApplication.processEvents()
    for site in sites:
        site.close()


@pytest.fixture
def pair(tmp_path: Path, qapp: QApplication) -> Iterator[tuple[HavenSite, HavenSite, TaskRunner]]:
    """Sites "a" and "b", peers of each other, and a runner that finishes before they close."""
    for (a, b), tasks in _sites_with_runner(tmp_path, "ab"):
        yield a, b, tasks


@pytest.fixture
def trio(tmp_path: Path, qapp: QApplication) -> Iterator[tuple[list[HavenSite], TaskRunner]]:
    """Sites "a", "b" and "c", each a peer of the others, and a runner."""
    yield from _sites_with_runner(tmp_path, "abc")


def export_through_dialog(qtbot, site: HavenSite, runner: TaskRunner, peer: str,  # type: ignore[no-untyped-def]
                          target: Path) -> ExportDialog:
    dialog = ExportDialog(site.service, runner, choose_file=lambda _parent: target)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.peer_list.count() > 0 and runner.idle(), timeout=WAIT_MS)
    dialog.set_peer_checked(peer)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.working(), timeout=WAIT_MS)
    return dialog


def open_import_dialog(qtbot, site: HavenSite, runner: TaskRunner, source: Path) -> ImportDialog:  # type: ignore[no-untyped-def]
    dialog = ImportDialog(site.service, runner, choose_file=lambda _parent: source)
    qtbot.addWidget(dialog)
    dialog.show()
    # Choosing the file starts the dry run at once.
    qtbot.mouseClick(dialog.browse_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: runner.idle() and (bool(dialog.summary.text())
                                               or dialog.error.isVisible()), timeout=WAIT_MS)
    return dialog


def test_export_at_a_then_dry_run_and_import_at_b(qtbot, pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b, runner = pair
    new_case(a, "Шевченко Тарас")
    new_case(a, "Коваль Олена")
    target = tmp_path / "to-b.haven"

    exported = export_through_dialog(qtbot, a, runner, "b", target)
    assert not exported.error.isVisible()
    # "Confirmed" is a case's status; what a peer holds is what its files acknowledged.
    assert exported.full_box.text() == (
        "Send e&verything, not only what the peers have not yet acknowledged")
    assert "2 cases" in exported.summary.text()
    assert str(target) in exported.summary.text()
    assert target.is_file()

    before = vault_digest(b)
    dialog = open_import_dialog(qtbot, b, runner, target)
    summary = dialog.summary.text()
    assert "would bring" in summary
    assert "2 new cases" in summary
    assert "0 updated cases" in summary
    assert "0 new conflicts" in summary
    with a.session.vault.reading() as conn:
        a_entries = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    assert f"{a_entries} audit entries of other sites" in summary
    assert vault_digest(b) == before, "the dry run changed the vault"
    assert b.session.search("Шевченко") == []
    assert dialog.import_button.isEnabled()

    imported: list[object] = []
    dialog.imported.connect(imported.append)
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(imported), timeout=WAIT_MS)
    assert "The import is done." in dialog.summary.text()
    assert not dialog.import_button.isEnabled()
    [found] = b.session.search("Шевченко")
    assert found.ref
    assert len(b.session.search("Коваль")) == 1


def test_a_typed_path_and_enter_export_check_and_import(qtbot, pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b, runner = pair
    new_case(a, "Шевченко Тарас")
    target = tmp_path / "typed.haven"
    chooser_opened: list[object] = []

    def chooser(_parent: object) -> None:
        chooser_opened.append(_parent)

    export = ExportDialog(a.service, runner, choose_file=chooser)
    qtbot.addWidget(export)
    export.show()
    qtbot.waitUntil(lambda: export.peer_list.count() > 0 and runner.idle(), timeout=WAIT_MS)
    export.set_peer_checked("b")
    export.path_edit.setFocus()
    qtbot.keyClicks(export.path_edit, str(target))
    qtbot.keyClick(export.path_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(export.summary.text()) and runner.idle(), timeout=WAIT_MS)
    assert target.is_file()

    dialog = ImportDialog(b.service, runner, choose_file=chooser)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.path_edit.setFocus()
    qtbot.keyClicks(dialog.path_edit, str(target))
    qtbot.keyClick(dialog.path_edit, Qt.Key.Key_Return)  # checks the file typed
    qtbot.waitUntil(lambda: "would bring" in dialog.summary.text() and runner.idle(),
                    timeout=WAIT_MS)
    assert dialog.focusWidget() is dialog.import_button
    qtbot.keyClick(dialog.import_button, Qt.Key.Key_Return)  # then imports it
    qtbot.waitUntil(lambda: "The import is done." in dialog.summary.text() and runner.idle(),
                    timeout=WAIT_MS)
    assert len(b.session.search("Шевченко")) == 1
    assert chooser_opened == []


def test_a_tampered_file_is_refused_and_changes_nothing(qtbot, pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b, runner = pair
    new_case(a)
    target = tmp_path / "to-b.haven"
    export_through_dialog(qtbot, a, runner, "b", target)
    content = bytearray(target.read_bytes())
    content[-40] ^= 0x01  # one bit of the encrypted payload
    tampered = tmp_path / "tampered.haven"
    tampered.write_bytes(bytes(content))

    before = vault_digest(b)
    dialog = open_import_dialog(qtbot, b, runner, tampered)
    assert dialog.error.isVisible()
    assert "The file was refused; nothing was changed." in dialog.error.text()
    assert not dialog.summary.text()
    assert not dialog.import_button.isEnabled()
    assert vault_digest(b) == before
    assert b.session.search("Іваненко") == []


def test_export_asks_for_a_peer_and_refuses_an_existing_file(qtbot, pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, _b, runner = pair
    target = tmp_path / "exists.haven"
    target.write_bytes(b"keep me")
    dialog = ExportDialog(a.service, runner, choose_file=lambda _parent: target)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.peer_list.count() == 1 and runner.idle(), timeout=WAIT_MS)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.error.text() == "Choose at least one peer."
    dialog.set_peer_checked("b")
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error.isVisible() and runner.idle(), timeout=WAIT_MS)
    assert "exists" in dialog.error.text()
    assert target.read_bytes() == b"keep me"


def test_a_new_site_without_peers_is_told_where_to_add_them(  # type: ignore[no-untyped-def]
    qtbot, site: Site, runner: TaskRunner
) -> None:
    from desktop.transfer.service import TransferService

    dialog = ExportDialog(TransferService(site.session), runner)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.error.isVisible() and runner.idle(), timeout=WAIT_MS)
    assert dialog.peer_list.count() == 0
    assert dialog.error.text() == (
        "This site has no peers yet: add them under Transfer → Peers and keys…, once their"
        " fingerprints are confirmed.")


def test_an_export_to_a_full_medium_says_so_and_leaves_no_file(  # type: ignore[no-untyped-def]
    qtbot, pair, small_disk: SmallDisk
) -> None:
    a, _b, runner = pair
    for index in range(60):
        new_case(a, f"Коваленко {index}")
    small_disk.fill()
    target = small_disk.path / "to-b.haven"
    before = vault_digest(a)
    dialog = export_through_dialog(qtbot, a, runner, "b", target)
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
    assert dialog.error.text() == (
        f"There is no room left for {target}; nothing was written. Free some space or choose"
        " another medium."
    )
    assert not target.exists()
    assert sorted(path.name for path in small_disk.path.iterdir()) == ["filler"]
    assert vault_digest(a) == before


def test_peers_dialog_lists_peers_and_saves_the_key_card(qtbot, pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b, runner = pair
    card = tmp_path / "card"
    dialog = PeersDialog(a.service, runner, choose_file=lambda _parent: card)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1 and runner.idle(), timeout=WAIT_MS)
    mine = a.service.site_identity()
    assert dialog.fingerprint.text() == mine.fingerprint
    assert dialog.recipient.text() == mine.age_recipient
    row = [dialog.table.item(0, column).text() for column in range(4)]
    assert row == ["b", b.site_id, b.service.site_identity().fingerprint, "active"]

    qtbot.mouseClick(dialog.key_card_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(dialog.status.text()) and runner.idle(), timeout=WAIT_MS)
    written = card.with_suffix(".pdf")
    assert written.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


def open_conflicts(qtbot, site: HavenSite, runner: TaskRunner) -> ConflictsDialog:  # type: ignore[no-untyped-def]
    dialog = ConflictsDialog(site.service, runner)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1 and runner.idle(), timeout=WAIT_MS)
    return dialog


def resolve_step(qtbot, dialog: ConflictsDialog) -> ResolveConflictDialog:  # type: ignore[no-untyped-def]
    """The resolve step the dialog opened, once it has the keyboard."""
    step = dialog.resolve_dialog
    assert step is not None, "no resolve step was opened"
    qtbot.waitExposed(step)
    step.activateWindow()  # the offscreen platform activates no window by itself
    qtbot.waitUntil(step.isActiveWindow, timeout=WAIT_MS)
    assert step.isAncestorOf(focused())  # the first version, not chosen yet
    return step


def version_headings(step: ResolveConflictDialog) -> list[str]:
    return [button.text() for button in step.choices.buttons()]


def test_conflicts_side_by_side_and_keep_incoming(qtbot, pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b, runner = pair
    case_id = edited_everywhere([a, b], ["Пункт А", "Пункт Б"], tmp_path)

    dialog = open_conflicts(qtbot, a, runner)
    assert dialog.table.item(0, 1).text() == "Intake details"
    local, incoming = dialog.table.item(0, 2).text(), dialog.table.item(0, 3).text()
    assert local.splitlines()[0] == "Location: Пункт А"
    assert incoming.splitlines()[0] == "Location: Пункт Б"
    assert "Notes: —" in local.splitlines()  # an empty field, not JSON's null
    assert local.splitlines()[-1].startswith("(this site, ")
    assert incoming.splitlines()[-1].startswith("(b, ")

    qtbot.mouseClick(dialog.resolve_button, Qt.MouseButton.LeftButton)
    step = resolve_step(qtbot, dialog)
    headings = version_headings(step)
    assert [h.split(" — ")[0] for h in sorted(headings)] == ["Incoming version", "Local version"]
    assert not step.keep_button.isEnabled()  # nothing is chosen for the manager
    assert step.summary.text() == "Choose the version to keep; the others will be discarded."
    incoming_index = next(i for i, h in enumerate(headings) if h.startswith("Incoming"))
    qtbot.mouseClick(step.choices.button(incoming_index), Qt.MouseButton.LeftButton)
    assert [line.split(",")[0] for line in step.summary.text().splitlines()] == [
        "Will be kept:", "  • b", "Will be discarded:", "  • this site"]
    qtbot.mouseClick(step.keep_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 0 and runner.idle(), timeout=WAIT_MS)
    assert dialog.empty.isVisibleTo(dialog)
    assert a.session.get_case(case_id, audit_view=False).location == "Пункт Б"


def test_a_third_sites_version_is_shown_and_can_be_kept(qtbot, trio, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (a, b, c), runner = trio
    case_id = edited_everywhere([a, b, c], ["Пункт А", "Пункт Б", "Пункт В"], tmp_path)

    dialog = open_conflicts(qtbot, a, runner)
    assert dialog.table.item(0, 2).text().splitlines()[0] == "Location: Пункт А"
    incoming = dialog.table.item(0, 3).text().splitlines()
    assert {"Location: Пункт Б", "Location: Пункт В"} <= set(incoming)
    assert {line.split(",")[0] for line in incoming if line.startswith("(")} == {"(b", "(c"}

    # By keyboard: Enter opens the step, an arrow moves to a version, Space chooses it.
    dialog.table.setFocus()
    qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    step = resolve_step(qtbot, dialog)
    headings = version_headings(step)
    assert len(headings) == 3
    assert headings[0].endswith("(shown in the case now)")
    # The older of the two incoming versions: "Keep incoming" used to discard it unseen.
    older = max(i for i, h in enumerate(headings) if h.startswith("Incoming version"))
    place = "Пункт Б" if " — b, " in headings[older] else "Пункт В"
    for _step in range(older):
        qtbot.keyClick(focused(), Qt.Key.Key_Down)
    qtbot.keyClick(focused(), Qt.Key.Key_Space)
    assert step.chosen() is not None
    assert step.chosen().values["location"] == place  # type: ignore[union-attr]
    kept, other = ("b", "c") if place == "Пункт Б" else ("c", "b")
    summary = [line.split(",")[0] for line in step.summary.text().splitlines()]
    assert summary[:3] == ["Will be kept:", f"  • {kept}", "Will be discarded:"]
    assert sorted(summary[3:]) == [f"  • {other}", "  • this site"]
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 0 and runner.idle(), timeout=WAIT_MS)
    assert a.session.get_case(case_id, audit_view=False).location == place


def test_enter_on_a_conflict_resolves_nothing_by_itself(qtbot, pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b, runner = pair
    case_id = edited_everywhere([a, b], ["Пункт А", "Пункт Б"], tmp_path)
    dialog = open_conflicts(qtbot, a, runner)
    shown = a.session.get_case(case_id, audit_view=False).location

    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=WAIT_MS)
    dialog.table.setFocus()
    assert focused() is dialog.table
    qtbot.keyClick(dialog.table, Qt.Key.Key_Tab)
    assert focused() is not dialog.table  # Tab leaves the table
    dialog.table.setFocus()
    qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    step = resolve_step(qtbot, dialog)  # Enter opened the resolve step, and only that
    qtbot.keyClick(focused(), Qt.Key.Key_Return)  # a second Enter
    QApplication.processEvents()
    assert step.isVisible()
    assert step.chosen() is None
    assert not step.keep_button.isEnabled()
    qtbot.keyClick(focused(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: dialog.resolve_dialog is None and runner.idle(), timeout=WAIT_MS)
    assert dialog.table.rowCount() == 1
    assert len(a.service.list_conflicts()) == 1
    assert a.session.get_case(case_id, audit_view=False).location == shown


def test_a_conflict_version_reads_as_the_case_view_shows_it() -> None:
    from desktop.transfer.service import ConflictVersion
    from ui.conflicts_dialog import format_version

    arranged = ConflictVersion(
        op_id="x", site="south", local=False, at="2026-11-20T08:30:00.000Z", by="olena",
        values={"meeting_point": "КПП-3", "receiving_unit": "в/ч А1234",
                "window_start": "2026-11-21T06:00:00.000Z", "window_end": None},
    )
    lines = format_version("arrangement", arranged).splitlines()
    assert lines[0] == "Meeting point: КПП-3"
    assert lines[1] == "Receiving unit: в/ч А1234"
    assert lines[2] == "Window from: " + labels.moment(parse_time("2026-11-21T06:00:00.000Z"))
    assert lines[3] == "Window until: —"
    closed = ConflictVersion(
        op_id="y", site="south", local=True, at="2026-11-20T08:30:00.000Z", by=None,
        values={"status": "handed_off", "from": "handoff_arranged",
                "fields": {"received_by": "капітан Петренко"}},
    )
    assert format_version("status", closed).splitlines()[:2] == [
        "Status: handed off", "Received by: капітан Петренко"]
    # A move's fields in the order the form asks for them: the window from, then until.
    rearranged = ConflictVersion(
        op_id="z", site="south", local=False, at="2026-11-20T08:30:00.000Z", by="olena",
        values={"status": "handoff_arranged", "from": "handoff_arranged", "fields": {
            "meeting_point": "КПП-3", "receiving_unit": "в/ч А1234",
            "window_end": "2026-11-21T08:00:00.000Z", "window_start": "2026-11-21T06:00:00.000Z"}},
    )
    assert [line.split(":")[0] for line in format_version("status", rearranged).splitlines()[:5]
            ] == ["Status", "Meeting point", "Receiving unit", "Window from", "Window until"]


def _send(sender: HavenSite, peer: str, path: Path) -> Path:
    sender.service.export([peer], path, full=False)
    return path


@pytest.mark.parametrize(
    ("role", "transfer", "conflicts", "audit"),
    [(Role.OPERATOR, False, False, False), (Role.MANAGER, False, True, True),
     (Role.IT, True, False, True)],
)
def test_the_transfer_and_audit_menus_follow_the_role(  # type: ignore[no-untyped-def]
    site: Site, runner: TaskRunner, qtbot, role: Role, transfer: bool, conflicts: bool,
    audit: bool,
) -> None:
    site.session.add_user("worker", role, WORKER_PASSWORD, FAST_KDF)
    session = Session.open(site.data, "worker", WORKER_PASSWORD)
    try:
        window = MainWindow(session, runner, UiSettings(site.data))
        qtbot.addWidget(window)
        window.show()
        assert window.transfer_menu.menuAction().isVisible() is (transfer or conflicts)
        assert window.export_action.isVisible() is transfer
        assert window.import_action.isVisible() is transfer
        assert window.peers_action.isVisible() is transfer
        assert window.conflicts_action.isVisible() is conflicts
        assert window.audit_action.isVisible() is audit
        # An IT officer sees no case: no Find or Close tab that would do nothing.
        for case_action in (window.find_action, window.close_tab_action):
            assert case_action.isVisible() is (role != Role.IT)
        qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
        window.close_without_asking()
    finally:
        runner.wait_for_done()
        session.close()


def test_an_admin_opens_the_transfer_dialogs_from_the_menu(desk: MainWindow, runner, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert desk.transfer_menu.menuAction().isVisible()
    for open_dialog in (desk.export_transfer, desk.import_transfer, desk.show_peers,
                        desk.show_conflicts, desk.show_audit):
        dialog = open_dialog()
        assert dialog is not None
        assert dialog.isVisible()
        qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
        dialog.reject()
    desk.lock()
    assert not desk.export_action.isEnabled()
    assert desk.export_transfer() is None
    assert not desk.audit_action.isEnabled()
    assert desk.show_audit() is None


def test_the_summary_of_a_file_from_before_its_senders_restore() -> None:
    from desktop.transfer.importer import ImportReport
    from ui.transfer_dialog import import_summary

    report = ImportReport(
        sender="south", sequence=4, missing=(), missing_count=0, ops_new=3, ops_known=0,
        cases_new=1, cases_updated=0, conflicts_new=0, ops_waiting=0, audit_new=0,
        audit_left_out=5, before_reset=True, dry_run=False,
    )
    lines = import_summary(report).splitlines()
    assert "1 new case" in lines
    assert (
        "Written before south was restored from a backup: its cases are taken; its audit"
        " checkpoint and its own audit entries of then are left out."
    ) in lines
    assert not any("relayed" in line for line in lines)


def test_the_summary_says_what_a_sites_own_file_corrected() -> None:
    from desktop.transfer.importer import ImportReport
    from ui.language import apply_language
    from ui.transfer_dialog import import_summary

    report = ImportReport(
        sender="north", sequence=2, missing=(), missing_count=0, ops_new=0, ops_known=4,
        cases_new=0, cases_updated=1, conflicts_new=0, ops_waiting=0, audit_new=0,
        audit_left_out=0, before_reset=False, dry_run=False,
        ops_corrected=1, audit_corrected=5, ops_left_out=2,
    )
    apply_language("uk")  # the autouse fixture restores English
    lines = import_summary(report).splitlines()
    assert ("1 зміну, отриману тут через інший пункт, замінено зміною її власного"
            " пункту.") in lines
    assert ("5 записів аудиту, отриманих тут через інший пункт, відкладено: файл їхнього"
            " власного пункту показує журнал інакше.") in lines
    assert ("2 передані через інший пункт зміни відрізняються від збережених тут і не"
            " прийняті.") in lines
    apply_language("en")
    english = import_summary(report).splitlines()
    assert ("1 change held here as another site relayed it was replaced by its own"
            " site's.") in english


def test_new_conflicts_in_the_summary_say_where_a_manager_reviews_them() -> None:
    from desktop.transfer.importer import ImportReport
    from ui.transfer_dialog import import_summary

    report = ImportReport(
        sender="north", sequence=2, missing=(), missing_count=0, ops_new=2, ops_known=12,
        cases_new=0, cases_updated=1, conflicts_new=2, ops_waiting=0, audit_new=11,
        audit_left_out=0, before_reset=False, dry_run=False,
    )
    assert "A manager should review the conflicts: Transfer → Conflicts…" in (
        import_summary(report).splitlines())


def test_counts_in_the_summary_are_grouped_as_the_language_writes_them() -> None:
    from desktop.transfer.importer import ImportReport
    from ui.language import apply_language
    from ui.transfer_dialog import import_summary

    report = ImportReport(
        sender="south", sequence=9, missing=(), missing_count=0, ops_new=64_000, ops_known=0,
        cases_new=20_000, cases_updated=1_250, conflicts_new=3, ops_waiting=0, audit_new=0,
        audit_left_out=0, before_reset=False, dry_run=False,
    )
    try:
        apply_language("en")
        english = import_summary(report).splitlines()
        apply_language("uk")
        ukrainian = import_summary(report).splitlines()
    finally:
        apply_language("en")
    assert "20,000 new cases" in english
    assert "1,250 updated cases" in english
    assert "3 new conflicts" in english
    assert "20\u00a0000 нових справ" in ukrainian  # a no-break space between the groups


def test_the_bars_follow_the_export_and_the_check(qtbot, pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b, runner = pair
    for index in range(150):  # a payload of several age chunks
        new_case(a, f"Бондаренко {index}")
    target = tmp_path / "to-b.haven"
    exported = export_through_dialog(qtbot, a, runner, "b", target)
    assert "150 cases" in exported.summary.text()
    dialog = open_import_dialog(qtbot, b, runner, target)
    assert "150 new cases" in dialog.summary.text()
    for bar in (exported.busy, dialog.busy):
        assert bar.progress.steps == bar.STEPS  # the task told its bar it got to the end
        assert not bar.isVisible()


def test_a_busy_bar_shows_what_its_task_reports_from_another_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    bar = BusyBar()
    qtbot.addWidget(bar)
    progress = bar.start()
    assert (bar.minimum(), bar.maximum()) == (0, 0)  # busy until told how far
    worker = threading.Thread(target=progress.report, args=(43, 100))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: (bar.maximum(), bar.value()) == (bar.STEPS, 430), timeout=WAIT_MS)
    progress.report(100, 100)  # done: busy again while the task finishes
    qtbot.waitUntil(lambda: bar.maximum() == 0, timeout=WAIT_MS)
    stale = progress
    progress = bar.start()  # the next task starts afresh; the last one's reports go nowhere
    stale.report(10, 100)
    qtbot.wait(3 * bar.POLL_MS)
    assert (bar.minimum(), bar.maximum()) == (0, 0)
