"""The handoff sheet from the case view: Ctrl+P, the in-memory preview, copies, print, save.

The preview is a draft the register does not list; printing or saving registers the sheet.

Everything is real: the vault, the session, reportlab's PDF and QtPdf reading it. The
sub-dialogs of the preview open without blocking, so the tests answer them directly.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QDir, QSettings, Qt
from PySide6.QtGui import QPageRanges
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QAbstractPrintDialog, QPrinter
from PySide6.QtWidgets import QApplication, QMessageBox

from db import printing as register
from db.records import CaseKind, Channel, NewCase, Person, Role, Status
from desktop.errors import PermissionDenied
from desktop.printing import print_handoff_sheet
from desktop.session import Session
from tests.conftest import FAST_KDF, Site
from tests.ui.conftest import WAIT_MS
from ui.case_view import CaseView
from ui.handoff_preview import (
    HandoffPreviewDialog,
    SheetUnreadable,
    describe_print_failure,
    open_document,
    print_pages,
)
from ui.main_window import MainWindow
from ui.settings import UiSettings
from ui.tasks import TaskRunner

CTRL = Qt.KeyboardModifier.ControlModifier
PASSWORD = "another long password"
SERIAL = re.compile(r"[A-Z0-9]+-\d{6}")
# reportlab writes each page as its own uncompressed dictionary: a count QtPdf played no part in.
PAGE_OBJECT = re.compile(rb"/Type\s*/Page\b")


def _case(session: Session, arranged: bool = True, group: int = 2) -> str:
    persons = (Person(full_name="Кравченко Ігор Олегович", birth_date="1991-03-14"),
               *(Person(full_name=f"Кравченко Олег {n}") for n in range(1, group)))
    result = session.register_case(NewCase(CaseKind.SURRENDER, Channel.PHONE, persons))
    if arranged:
        start = datetime.now(UTC) + timedelta(hours=1)
        session.advance(result.case_id, Status.CONFIRMED,
                        {"codeword": result.codeword, "location": "Суми", "group_size": group})
        session.advance(result.case_id, Status.HANDOFF_ARRANGED,
                        {"meeting_point": "Point A", "receiving_unit": "Unit 1",
                         "window_start": start, "window_end": start + timedelta(hours=2)})
    return result.case_id


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty temp folder that Python, Qt and C libraries all use for this test.

    Listing the shared /tmp before and after would race with other processes; pointing
    every temp-file API at a folder of our own lets "nothing was written" be exact.
    """
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    assert Path(QDir.tempPath()).resolve() == folder.resolve()
    assert Path(tempfile.gettempdir()).resolve() == folder.resolve()
    return folder


@pytest.fixture
def qt_user_settings(tmp_path: Path) -> Iterator[Path]:
    """Where Qt's own user settings go during the test, instead of the real ~/.config."""
    folder = tmp_path / "config"
    folder.mkdir()
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(folder))
    yield folder
    default = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, default)


def _sign_in(site: Site, role: Role) -> Session:
    site.session.add_user("worker", role, PASSWORD, FAST_KDF)
    return Session.open(site.data, "worker", PASSWORD)


@pytest.fixture
def manager(site: Site, runner: TaskRunner) -> Iterator[Session]:
    session = _sign_in(site, Role.MANAGER)
    yield session
    runner.cancel_all()
    runner.wait_for_done()
    session.close()


def _desk(session: Session, site: Site, runner: TaskRunner, qtbot) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(session, runner, UiSettings(site.data))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
    return window


def _open(qtbot, desk: MainWindow, runner: TaskRunner, case_id: str) -> CaseView:  # type: ignore[no-untyped-def]
    view = desk.open_case(case_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    desk.activateWindow()
    qtbot.waitUntil(desk.isActiveWindow)
    return view


def _press_ctrl_p(qtbot, desk: MainWindow, view: CaseView) -> HandoffPreviewDialog:  # type: ignore[no-untyped-def]
    qtbot.keyClick(desk, Qt.Key.Key_P, CTRL)
    qtbot.waitUntil(lambda: view.preview is not None and view.preview.isVisible(),
                    timeout=WAIT_MS)
    preview = view.preview
    assert preview is not None
    return preview


def _previewing(site: Site, session: Session, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
                ) -> tuple[MainWindow, CaseView, HandoffPreviewDialog]:
    """A desk with an arranged case open and its sheet's preview showing."""
    desk = _desk(session, site, runner, qtbot)
    view = _open(qtbot, desk, runner, _case(site.session))
    return desk, view, _press_ctrl_p(qtbot, desk, view)


def _close(qtbot, view: CaseView, preview: HandoffPreviewDialog) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(preview, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: view.preview is None)
    desk = view.window()
    desk.activateWindow()  # the offscreen platform does not hand activation back by itself
    qtbot.waitUntil(desk.isActiveWindow)


def _pdf_printer(path: Path) -> QPrinter:
    """No printer here, so the pages go to Qt's PDF print engine: a file we asked for."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    return printer


def _print(qtbot, runner: TaskRunner, preview: HandoffPreviewDialog, printer: QPrinter) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(preview.printed, timeout=WAIT_MS):
        preview.print_to(printer)
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)


def _register(site: Site, case_id: str) -> list[register.PrintRecord]:
    with site.session.vault.reading() as conn:
        return register.prints_for(conn, case_id)


def test_a_preview_registers_nothing_and_a_print_registers_the_sheet_it_shows(
    site: Site, manager: Session, runner: TaskRunner, private_tmp: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
    qtbot,
) -> None:
    case_id = _case(site.session)
    desk = _desk(manager, site, runner, qtbot)
    view = _open(qtbot, desk, runner, case_id)
    assert view.print_button.isVisible()
    assert view.print_button.isEnabled()

    # Looking at the sheet and closing it leaves no trace in the register.
    draft = _press_ctrl_p(qtbot, desk, view)
    pages = draft.document.pageCount()
    assert pages == len(PAGE_OBJECT.findall(draft.sheet.pdf)) > 0
    assert draft.view.document() is draft.document
    assert draft.view.pageMode() == QPdfView.PageMode.MultiPage
    assert draft.view.zoomMode() == QPdfView.ZoomMode.FitToWidth
    assert not draft.registered
    assert draft.serial_label.text() == "given when printed"
    assert draft.draft_label.isVisible()
    assert draft.pages_label.text() == ("1 page" if pages == 1 else f"{pages} pages")
    assert draft.copy_label.isHidden()
    # What the sheet says, as pdfium reads it: the case, and that it is only a preview.
    text = draft.document.getAllText(0).text()
    assert view.case is not None
    assert view.case.ref in text
    assert "ПЕРЕГЛЯД / PREVIEW" in text
    assert not SERIAL.search(text)
    _close(qtbot, view, draft)
    assert _register(site, case_id) == []

    # Printing enters it in the register, and the view turns to the sheet that was printed.
    preview = _press_ctrl_p(qtbot, desk, view)
    assert not preview.registered
    _print(qtbot, runner, preview, _pdf_printer(tmp_path / "first.pdf"))
    entries = _register(site, case_id)
    assert [(entry.copy_number, entry.printed_by) for entry in entries] == [(0, "worker")]
    assert preview.registered
    assert SERIAL.fullmatch(preview.serial_label.text())
    assert preview.serial_label.text() == preview.sheet.serial
    assert preview.sheet.serial.endswith(f"-{entries[0].serial_number:06d}")
    assert preview.draft_label.isHidden()
    text = preview.document.getAllText(0).text()
    assert preview.sheet.serial in text
    assert "PREVIEW" not in text
    _close(qtbot, view, preview)

    # The next preview says that printing gives a marked copy; the register is unchanged.
    copy = _press_ctrl_p(qtbot, desk, view)
    assert copy.copy_label.isVisible()
    assert "Printing gives copy 1" in copy.copy_label.text()
    assert "COPY 1" in copy.document.getAllText(0).text()
    _close(qtbot, view, copy)
    assert len(_register(site, case_id)) == 1
    assert list(private_tmp.iterdir()) == []
    desk.close_without_asking()


def test_a_print_that_fails_registers_nothing(
    site: Site, manager: Session, runner: TaskRunner, tmp_path: Path, qtbot,  # type: ignore[no-untyped-def]
) -> None:
    desk, view, preview = _previewing(site, manager, runner, qtbot)
    case_id = view.case.id if view.case is not None else ""
    # A printer that cannot start a job: its output goes to a folder that does not exist.
    preview.print_to(_pdf_printer(tmp_path / "missing" / "out.pdf"))
    qtbot.waitUntil(lambda: preview.error.isVisible() and runner.idle(), timeout=WAIT_MS)
    assert preview.error.text() == (
        "The printer did not start. Check that it is switched on and connected, then try again."
    )
    assert _register(site, case_id) == []
    assert not preview.registered
    assert preview.print_button.isEnabled()
    with site.session.vault.reading() as conn:
        actions = [row[0] for row in conn.execute("SELECT action FROM audit_log")]
    assert "handoff_printed" not in actions
    _close(qtbot, view, preview)
    desk.close_without_asking()


def test_save_as_pdf_warns_first_then_writes_a_file_only_its_owner_reads(
    site: Site, manager: Session, runner: TaskRunner, private_tmp: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
    qt_user_settings: Path, qtbot,
) -> None:
    case_id = _case(site.session)
    desk = _desk(manager, site, runner, qtbot)
    view = _open(qtbot, desk, runner, case_id)
    preview = _press_ctrl_p(qtbot, desk, view)
    removable = tmp_path / "removable"
    removable.mkdir()
    target = removable / "sheet.pdf"

    # Cancel at the warning: no file dialog, no file.
    preview.save_button.click()
    warning = preview.unencrypted_warning
    assert isinstance(warning, QMessageBox)
    qtbot.waitUntil(warning.isVisible)
    assert "NOT encrypted" in warning.text()
    assert "removable media" in warning.informativeText()
    assert warning.defaultButton() is warning.button(QMessageBox.StandardButton.Cancel)
    warning.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: preview.unencrypted_warning is None)
    assert preview.save_dialog is None

    # Accept the warning, then choose the file.
    preview.save_button.click()
    warning = preview.unencrypted_warning
    assert warning is not None
    qtbot.waitUntil(warning.isVisible)
    warning.button(QMessageBox.StandardButton.Save).click()
    qtbot.waitUntil(lambda: preview.save_dialog is not None and preview.save_dialog.isVisible())
    dialog = preview.save_dialog
    assert dialog is not None
    assert view.case is not None
    assert dialog.selectedFiles()[0].endswith(f"handoff-{view.case.ref}.pdf")
    dialog.selectFile(str(target))
    with qtbot.waitSignal(preview.saved, timeout=WAIT_MS) as saved:
        dialog.accept()
    assert saved.args == [str(target)]
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)

    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    # What was written is the sheet the register now lists, and the view shows it.
    assert preview.registered
    assert target.read_bytes() == preview.sheet.pdf
    assert [f"-{entry.serial_number:06d}" for entry in _register(site, case_id)] == [
        preview.sheet.serial[-7:]
    ]
    assert preview.sheet.serial in preview.note.text()
    assert sorted(p.name for p in removable.iterdir()) == ["sheet.pdf"]  # no partial left
    assert "not encrypted" in preview.note.text()
    assert list(private_tmp.iterdir()) == []
    _close(qtbot, view, preview)
    # The file dialog is gone (deleted), and it left no trace of the folder it saved into.
    remembered = "".join(path.read_text() for path in qt_user_settings.rglob("*.conf"))
    assert "[FileDialog]" in remembered
    assert str(removable) not in remembered
    desk.close_without_asking()


def test_print_offers_no_file_output_and_paints_every_page(
    site: Site, manager: Session, runner: TaskRunner, private_tmp: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
    qtbot,
) -> None:
    case_id = _case(site.session, group=40)  # a group this size fills more than one page
    desk = _desk(manager, site, runner, qtbot)
    view = _open(qtbot, desk, runner, case_id)
    preview = _press_ctrl_p(qtbot, desk, view)
    assert preview.document.pageCount() == len(PAGE_OBJECT.findall(preview.sheet.pdf)) > 1
    assert preview.pages_label.text() == f"{preview.document.pageCount()} pages"
    draft_pages = preview.document.pageCount()

    preview.print_button.click()
    dialog = preview.print_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    assert not dialog.testOption(QAbstractPrintDialog.PrintDialogOption.PrintToFile)
    dialog.reject()
    qtbot.waitUntil(lambda: preview.print_dialog is None)

    printed = tmp_path / "printer-output.pdf"
    printer = _pdf_printer(printed)
    printer.setCopyCount(3)
    with qtbot.waitSignal(preview.printed, timeout=WAIT_MS) as done:
        preview.print_to(printer)
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
    assert done.args == [preview.document.pageCount()] == [draft_pages]
    # The print job is named by the serial, which names no one.
    assert printer.docName() == preview.sheet.serial
    output, buffer = open_document(printed.read_bytes())
    assert output.pageCount() == preview.document.pageCount()
    output.close()
    buffer.close()
    assert "Only one copy was printed" in preview.note.text()
    assert not preview.print_button.isEnabled()  # this serial is on paper now
    assert preview.save_button.isEnabled()
    assert list(private_tmp.iterdir()) == []
    _close(qtbot, view, preview)
    desk.close_without_asking()


def test_an_operator_is_not_offered_the_sheet(
    site: Site, runner: TaskRunner, qtbot,  # type: ignore[no-untyped-def]
) -> None:
    case_id = _case(site.session)
    session = _sign_in(site, Role.OPERATOR)
    try:
        desk = _desk(session, site, runner, qtbot)
        view = _open(qtbot, desk, runner, case_id)
        assert view.print_button.isHidden()
        qtbot.keyClick(desk, Qt.Key.Key_P, CTRL)
        qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
        assert view.preview is None
        with site.session.vault.reading() as conn:
            assert register.prints_for(conn, case_id) == []
        desk.close_without_asking()
    finally:
        runner.wait_for_done()
        session.close()


def test_the_sheet_is_offered_once_the_handoff_is_arranged(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot,  # type: ignore[no-untyped-def]
) -> None:
    registered = _case(site.session, arranged=False)
    view = _open(qtbot, desk, runner, registered)
    assert view.print_button.isHidden()
    qtbot.keyClick(desk, Qt.Key.Key_P, CTRL)
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
    assert view.preview is None


def test_a_case_withdrawn_meanwhile_gets_a_clear_refusal(
    site: Site, manager: Session, runner: TaskRunner, qtbot,  # type: ignore[no-untyped-def]
) -> None:
    case_id = _case(site.session)
    desk = _desk(manager, site, runner, qtbot)
    view = _open(qtbot, desk, runner, case_id)
    assert view.print_button.isVisible()
    # Another desk withdraws the case after this one showed it.
    site.session.advance(case_id, Status.WITHDRAWN, {"reason": "called off"})
    qtbot.keyClick(desk, Qt.Key.Key_P, CTRL)
    qtbot.waitUntil(lambda: view.error.isVisible() and runner.idle(), timeout=WAIT_MS)
    assert view.error.text() == (
        "A handoff sheet can be printed only once the handoff is arranged."
    )
    assert view.preview is None
    assert view.print_button.isEnabled()
    with site.session.vault.reading() as conn:
        assert register.prints_for(conn, case_id) == []
    desk.close_without_asking()


def test_a_refused_permission_reads_as_such() -> None:
    assert describe_print_failure(PermissionDenied("a user with role 'operator' may not print")) \
        == "Your role does not allow this."


def test_an_unreadable_sheet_is_reported(qapp: QApplication) -> None:
    with pytest.raises(SheetUnreadable) as refused:
        open_document(b"%PDF-1.4 not really")
    assert describe_print_failure(refused.value) == (
        "The sheet could not be shown; tell the IT officer."
    )


def test_a_page_range_prints_only_those_pages(
    site: Site, tmp_path: Path, qapp: QApplication,
) -> None:
    sheet = print_handoff_sheet(site.session, _case(site.session, group=40))
    document, buffer = open_document(sheet.pdf)
    assert document.pageCount() >= 3
    document.close()
    buffer.close()
    printed = tmp_path / "range.pdf"
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(printed))
    printer.setPageRanges(QPageRanges.fromString("2-3"))
    assert print_pages(sheet.pdf, printer) == 2
    output, output_buffer = open_document(printed.read_bytes())
    assert output.pageCount() == 2
    output.close()
    output_buffer.close()


def test_ctrl_l_locks_the_desk_from_the_open_preview(
    site: Site, manager: Session, runner: TaskRunner, qtbot,  # type: ignore[no-untyped-def]
) -> None:
    from ui.main_window import LOCK_PAGE

    desk, _view, preview = _previewing(site, manager, runner, qtbot)
    assert preview.isModal() or preview.windowModality() != Qt.WindowModality.NonModal
    # The preview blocks the desk, whose own shortcut then does not fire.
    qtbot.keyClick(preview.view, Qt.Key.Key_L, CTRL)
    qtbot.waitUntil(lambda: desk.locked)
    assert desk.stack.currentIndex() == LOCK_PAGE
    assert not preview.isVisible()  # the sheet's personal data is hidden too
    desk.close_without_asking()
