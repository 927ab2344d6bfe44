"""The handoff sheet on screen: look at it, print it, or save an unencrypted copy on purpose.

The preview is a draft that nothing records. Printing or saving enters the sheet in the
print register, with its serial and QR code, and puts it out within that same step: a
sheet that did not come out is not registered. The view then shows the sheet that did.

The PDF holds personal data, so it stays in memory: QtPdf reads it from a QBuffer over
the bytes, and printing paints rendered pages straight onto the printer. The only way
to a file is "Save as PDF…", behind a warning that the file is not encrypted.
"""

from __future__ import annotations

import getpass
import re
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QRectF, QSize, Signal
from PySide6.QtGui import QPageSize, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QAbstractPrintDialog, QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import InputRejected
from desktop.i18n import _, ngettext
from desktop.printing import PrintedSheet, Register, write_registered
from ui.messages import describe_failure
from ui.style import heading_font, mono_font
from ui.tasks import TaskRunner
from ui.widgets import BusyBar, ErrorLabel, fit_to_screen, plain_label, set_default_button

# Sharp enough for the QR code and the small print; at the printer's own 1200 dpi one A4
# page would be a 0.5 GB image.
PRINT_DPI = 300
_NOT_PRINTABLE = re.compile(r"a handoff sheet is printed once the handoff is arranged$")
_IN_CONFLICT = re.compile(r"was changed at two sites without either seeing the other")


class SheetUnreadable(Exception):
    """QtPdf could not read the PDF bytes (it would mean a rendering bug, not a user error)."""


class PrinterUnavailable(Exception):
    """The printer refused to start a job (switched off, unplugged, or removed meanwhile)."""


def open_document(pdf: bytes, parent: QObject | None = None) -> tuple[QPdfDocument, QBuffer]:
    """Load PDF bytes into QtPdf from memory; the buffer must live as long as the document."""
    # Created first, so that as a sibling the document is destroyed before its buffer.
    document = QPdfDocument(parent)
    buffer = QBuffer(parent)
    buffer.setData(QByteArray(pdf))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document.load(buffer)  # a random-access device loads synchronously
    if document.status() != QPdfDocument.Status.Ready or document.pageCount() < 1:
        raise SheetUnreadable(f"QtPdf could not read the sheet: {document.error().name}")
    return document, buffer


def print_pages(pdf: bytes, printer: QPrinter) -> int:
    """Paint each page, rendered from memory, onto its own printer page; for a worker thread.

    Returns the number of pages sent. Painting onto a QPrinter outside the GUI thread
    is supported by Qt; the document here is this thread's own, not the preview's.
    """
    document, buffer = open_document(pdf)
    try:
        ranges = printer.pageRanges()  # 1-based, as typed in the print dialog; empty means all
        wanted = [index for index in range(document.pageCount())
                  if ranges.isEmpty() or ranges.contains(index + 1)]
        painter = QPainter()
        if not painter.begin(printer):
            raise PrinterUnavailable("the printer did not start the job")
        try:
            for position, index in enumerate(wanted):
                if position:
                    printer.newPage()
                points = document.pagePointSize(index)
                image = document.render(
                    index,
                    QSize(round(points.width() * PRINT_DPI / 72),
                          round(points.height() * PRINT_DPI / 72)),
                )
                painter.drawImage(_fitted(QRectF(painter.viewport()), image.size()), image)
        finally:
            painter.end()  # this hands the job to the print system
        return len(wanted)
    finally:
        document.close()
        buffer.close()


def _fitted(area: QRectF, size: QSize) -> QRectF:
    """The largest rectangle of `size`'s proportions centred in `area`."""
    scale = min(area.width() / size.width(), area.height() / size.height())
    width, height = size.width() * scale, size.height() * scale
    return QRectF(area.x() + (area.width() - width) / 2, area.y() + (area.height() - height) / 2,
                  width, height)




def removable_media_folder() -> Path:
    """Where removable media are mounted on this workstation, else the home folder."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name for this uid: only the shared mount point
        user = ""
    candidates = [Path("/run/media") / user, Path("/media") / user] if user else []
    for folder in (*candidates, Path("/media")):
        if folder.is_dir():
            return folder
    return Path.home()


def describe_print_failure(error: BaseException) -> str:
    """One translated line about a failed render, print or save."""
    if isinstance(error, InputRejected) and _NOT_PRINTABLE.search(str(error)):
        return _("A handoff sheet can be printed only once the handoff is arranged.")
    if isinstance(error, InputRejected) and _IN_CONFLICT.search(str(error)):
        return _("Two sites changed what this sheet would show without seeing each other's"
                 " change. Keep one version under Transfer → Conflicts…, then print.")
    if isinstance(error, PrinterUnavailable):
        return _("The printer did not start. Check that it is switched on and connected, "
                 "then try again.")
    if isinstance(error, SheetUnreadable):
        return _("The sheet could not be shown; tell the IT officer.")
    return describe_failure(error)


class HandoffPreviewDialog(QDialog):
    """A handoff sheet: every page fitted to the width, Print…, Save as PDF…, Close.

    It opens on the draft (``sheet``, not registered). Print… and Save as PDF… call
    ``register`` to enter the sheet in the print register and put it out; ``sheet`` is
    then the sheet registered last, and the view shows it. The sub-dialogs open without
    blocking (`open()`), and the one showing is kept in `print_dialog`,
    `unencrypted_warning` or `save_dialog`. `printed(pages)` and `saved(path)` report what
    reached the printer or the disk.
    """

    printed = Signal(int)
    saved = Signal(str)

    def __init__(
        self, sheet: PrintedSheet, case_ref: str, runner: TaskRunner, register: Register,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.sheet = sheet
        self._case_ref = case_ref
        self._register = register
        self._runner = runner
        self._busy = False
        self._printed_once = False
        self.print_dialog: QPrintDialog | None = None
        self.unencrypted_warning: QMessageBox | None = None
        self.save_dialog: QFileDialog | None = None
        self.setWindowTitle(_("Handoff sheet — {ref}").format(ref=case_ref))
        fit_to_screen(self, 860, 860, near=parent)  # as tall as a page wants

        self.document, self._buffer = open_document(sheet.pdf, self)
        self._shown_before: list[tuple[QPdfDocument, QBuffer, QPdfView]] = []

        title = QLabel(_("Handoff sheet"))
        title.setFont(heading_font(14))
        serial_caption = QLabel(_("Serial:"))
        self.serial_label = plain_label()
        self.serial_label.setObjectName("sheet_serial")
        self.serial_label.setFont(mono_font(14, bold=True))
        self.pages_label = QLabel()
        self.pages_label.setProperty("role", "hint")
        self.draft_label = QLabel(
            _("A preview: nothing is registered yet. Printing or saving enters the sheet in "
              "the print register and gives it its serial and QR code.")
        )
        self.draft_label.setObjectName("sheet_draft")
        self.draft_label.setProperty("role", "hint")
        self.draft_label.setWordWrap(True)
        self.copy_label = plain_label()
        self.copy_label.setObjectName("sheet_copy")
        self.copy_label.setProperty("role", "warning")
        self.copy_label.setWordWrap(True)

        self.view = self._new_view(self.document)

        self.note = plain_label()
        self.note.setObjectName("sheet_note")
        self.note.setProperty("role", "hint")
        self.note.setWordWrap(True)
        self.note.hide()
        self.error = ErrorLabel()
        self.busy = BusyBar()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.print_button = self.buttons.addButton(
            _("&Print…"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.print_button.setObjectName("print_sheet")
        self.save_button = self.buttons.addButton(
            _("&Save as PDF…"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.save_button.setObjectName("save_sheet")
        self.print_button.clicked.connect(self.ask_to_print)
        self.save_button.clicked.connect(self.ask_to_save)
        self.buttons.rejected.connect(self.reject)
        set_default_button(self.buttons, self.print_button)

        header = QHBoxLayout()
        header.addWidget(title)
        header.addSpacing(16)
        header.addWidget(serial_caption)
        header.addWidget(self.serial_label)
        header.addSpacing(16)
        header.addWidget(self.pages_label)
        header.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.draft_label)
        layout.addWidget(self.copy_label)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        layout.addWidget(self.busy)
        layout.addWidget(self.buttons)
        self._describe()
        self.view.setFocus()  # arrows and Page Up/Down scroll the sheet; Enter prints

    def _new_view(self, document: QPdfDocument) -> QPdfView:
        view = QPdfView(self)
        view.setObjectName("sheet_view")
        view.setPageMode(QPdfView.PageMode.MultiPage)
        view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        view.setDocument(document)
        return view

    @property
    def registered(self) -> bool:
        """Whether the sheet shown is entered in the print register (else it is the draft)."""
        return bool(self.sheet.serial)

    def _describe(self) -> None:
        sheet, pages = self.sheet, self.document.pageCount()
        self.serial_label.setText(sheet.serial or _("given when printed"))
        self.pages_label.setText(
            ngettext("{count} page", "{count} pages", pages).format(count=pages)
        )
        self.draft_label.setVisible(not self.registered)
        if self.registered:
            text = _("Copy {number}: a reprint. The sheet is marked as a copy, and the print "
                     "register lists it.")
        else:
            text = _("Printing gives copy {number}: a reprint. The sheet is marked as a copy, "
                     "and the print register lists it.")
        self.copy_label.setText(text.format(number=sheet.copy_number))
        self.copy_label.setVisible(sheet.copy_number > 0)

    def _show(self, sheet: PrintedSheet) -> None:
        """Show the sheet just registered (and put out) in place of what was shown."""
        document, buffer = open_document(sheet.pdf, self)
        # The sheet shown before stays loaded until the dialog goes: the view may still be
        # rendering one of its pages in the background.
        # A new view: the old one could go on showing the draft's pages it had rendered
        # (it did after the file dialog of Save as PDF…). It stays, hidden, with its
        # document until the dialog goes, as it may still be rendering in the background.
        old_view, had_focus = self.view, self.view.hasFocus()
        self._shown_before.append((self.document, self._buffer, old_view))
        self.sheet, self.document, self._buffer = sheet, document, buffer
        self.view = self._new_view(document)
        layout = self.layout()
        assert layout is not None
        layout.replaceWidget(old_view, self.view)
        old_view.hide()
        if had_focus:
            self.view.setFocus()
        self._describe()

    # --- printing ------------------------------------------------------------------------------

    def ask_to_print(self) -> None:
        """Print…: the system print dialog, then the pages go to the chosen printer."""
        if self._busy or self._printed_once:
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        # The sheet carries its own margins; printing the whole paper keeps its scale 1:1.
        printer.setFullPage(True)
        printer.setPageSize(QPageSize(self.document.pagePointSize(0), QPageSize.Unit.Point))
        dialog = QPrintDialog(printer, self)
        # A file written from here would skip the warning that "Save as PDF…" gives.
        dialog.setOption(QAbstractPrintDialog.PrintDialogOption.PrintToFile, False)
        dialog.setMinMax(1, self.document.pageCount())
        dialog.finished.connect(lambda result: self._print_dialog_closed(dialog, printer, result))
        self.print_dialog = dialog
        QDialog.open(dialog)  # QPrintDialog's binding only offers open(receiver, member)

    def _print_dialog_closed(self, dialog: QPrintDialog, printer: QPrinter, result: int) -> None:
        self.print_dialog = None
        dialog.deleteLater()
        if result == QDialog.DialogCode.Accepted:
            self.print_to(printer)

    def print_to(self, printer: QPrinter) -> None:
        """Send the sheet to a configured printer, on a worker thread."""
        if self._busy or self._printed_once:
            return
        # One paper copy per register entry: a further copy is printed again from the case,
        # and so gets its own serial and its copy marking.
        extra_copies = printer.copyCount() > 1
        printer.setCopyCount(1)
        self._set_busy(True)
        sent: list[int] = []

        def put_out(sheet: PrintedSheet) -> None:
            # The job title stays in the print system's history: the serial names no one.
            printer.setDocName(sheet.serial)
            sent.append(print_pages(sheet.pdf, printer))

        self._runner.run(
            lambda: self._register(put_out),
            lambda sheet: self._printed(sheet, sent[0], extra_copies),
            self._failed,
        )

    def _printed(self, sheet: PrintedSheet, pages: int, extra_copies: bool) -> None:
        self._set_busy(False)
        self._show(sheet)
        text = ngettext("{count} page sent to the printer.", "{count} pages sent to the printer.",
                        pages).format(count=pages)
        if extra_copies:
            text += " " + _("Only one copy was printed: each further copy needs its own "
                            "register entry, so print it again from the case (Ctrl+P).")
        else:
            text += " " + _("To print it again, close this and press Ctrl+P in the case; "
                            "the new sheet is marked as a copy.")
        self._say(text)
        # Printing this serial twice would put two papers out for one register entry.
        self._printed_once = True
        self.print_button.setEnabled(False)
        self.printed.emit(pages)

    # --- saving --------------------------------------------------------------------------------

    def ask_to_save(self) -> None:
        """Save as PDF…: first the warning that the file is not encrypted, then the file dialog."""
        if self._busy:
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            _("Save an unencrypted copy?"),
            _("The saved PDF file is NOT encrypted. Anyone who gets hold of it can read the "
              "personal data of everyone on the sheet."),
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("unencrypted_warning")
        box.setInformativeText(
            _("Save it only to removable media that is kept locked away, never to this "
              "computer's disk or a shared folder. Delete the file once it has served.")
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda _result: self._warning_answered(box))
        self.unencrypted_warning = box
        box.open()

    def _warning_answered(self, box: QMessageBox) -> None:
        self.unencrypted_warning = None
        go_on = box.clickedButton() is box.button(QMessageBox.StandardButton.Save)
        box.deleteLater()
        if go_on:
            self._choose_file()

    def _choose_file(self) -> None:
        dialog = QFileDialog(self, _("Save the handoff sheet (not encrypted)"))
        dialog.setObjectName("save_sheet_dialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setNameFilter(_("PDF files (*.pdf)"))
        dialog.setDefaultSuffix("pdf")
        # Qt's own dialog behaves the same on every workstation, whatever the desktop.
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        # Qt's Ukrainian catalogue lacks these two of its labels.
        dialog.setLabelText(QFileDialog.DialogLabel.LookIn, _("Look in:"))
        dialog.setLabelText(QFileDialog.DialogLabel.FileType, _("Files of type:"))
        dialog.setDirectory(str(removable_media_folder()))
        dialog.selectFile(f"handoff-{self._case_ref}.pdf")  # the reference names no one
        dialog.fileSelected.connect(self.save_to)
        dialog.finished.connect(lambda _result: self._save_dialog_closed(dialog))
        self.save_dialog = dialog
        dialog.open()

    def _save_dialog_closed(self, dialog: QFileDialog) -> None:
        self.save_dialog = None
        # Qt's dialog writes the folders it visited to the user's QtProject.conf when it is
        # destroyed; a folder on a stick may be named after a case, so leave no trace of it.
        dialog.setHistory([])
        dialog.setDirectory(str(removable_media_folder()))
        dialog.deleteLater()

    def save_to(self, path: str) -> None:
        """Write the unencrypted copy (the warning was accepted), on a worker thread."""
        if not path or self._busy:
            return
        self._set_busy(True)
        self._runner.run(
            lambda: write_registered(self._register, Path(path)),
            lambda sheet: self._saved(sheet, path),
            self._failed,
        )

    def _saved(self, sheet: PrintedSheet, path: str) -> None:
        self._set_busy(False)
        self._show(sheet)
        self._say(_("Saved to {path} as sheet {serial}. The file is not encrypted: keep the "
                    "medium locked away.").format(path=path, serial=sheet.serial))
        self.saved.emit(path)

    # --- shared --------------------------------------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy.setVisible(busy)
        self.print_button.setEnabled(not busy and not self._printed_once)
        self.save_button.setEnabled(not busy)
        if busy:
            self.error.clear_error()

    def _say(self, text: str) -> None:
        self.note.setText(text)
        self.note.show()

    def _failed(self, error: BaseException) -> None:
        # After a failed print the button comes back: nothing came out for this serial.
        self._set_busy(False)
        self.error.show_error(describe_print_failure(error))

    def done(self, result: int) -> None:
        """Stay open while a print or a save runs: its outcome is reported here."""
        if self._busy:
            return
        super().done(result)
