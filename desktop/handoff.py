"""Handoff sheets: the paper a receiving unit signs when it takes custody.

Rendered in memory with reportlab (nothing personal is written to disk), on A4,
with bilingual Ukrainian / English labels and the bundled DejaVu fonts, which
cover Cyrillic. Every page carries the confidentiality marking, page x of y, a
watermark naming who printed it and when, and a QR code with the signed token
of desktop.sheet_token.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from reportlab import rl_config
from reportlab.graphics.barcode import qrencoder
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from db.names import transliterate_uk
from db.records import Case, Channel, ContactEntry, ContactStage, Mobilization, Person, Status
from desktop.sheet_token import make_sheet_token

SANS = "HavenSans"
SANS_BOLD = "HavenSans-Bold"
MONO = "HavenMono"
_FONT_FILES = {
    SANS: "DejaVuSans.ttf",
    SANS_BOLD: "DejaVuSans-Bold.ttf",
    MONO: "DejaVuSansMono.ttf",
}

CONTENT_FORMAT = "haven-handoff-sheet-v1"
SUMMARY_LIMIT = 160

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 15 * mm
TOP_MARGIN = 19 * mm
BOTTOM_MARGIN = 57 * mm
# A sheet's token makes a code of 61 modules with its quiet zone: at 48 mm a module is 0.79 mm,
# two pixels and more of a 72 dpi image, which zbar still reads (at 32 mm it needed 100 dpi).
QR_SIZE = 48 * mm
QR_QUIET_ZONE = 3 * mm  # about four modules: the code's dark edge lines up with the margin
QR_BOTTOM = 4 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
# The height a page's frame offers its flowables (SimpleDocTemplate pads it by 6 points).
FRAME_HEIGHT = PAGE_HEIGHT - TOP_MARGIN - BOTTOM_MARGIN - 12
SECTION_START = 30 * mm  # the least room a section's heading starts in
_PADDING_X = 8.5  # a table cell's left and right padding together, in points
_PADDING_Y = 5.5  # and its top and bottom
_SLACK = 12  # points to spare in measuring whether rows fit on a page
INK = colors.black
MUTED = colors.HexColor("#555555")
RULE = colors.HexColor("#888888")
SHADE = colors.HexColor("#ececec")
WATERMARK_GREY = 0.86
DRAFT_GREY = 0.7  # a preview's mark must not be missed
CONFIDENTIAL = "КОНФІДЕНЦІЙНО / CONFIDENTIAL"

MOBILIZATION_LABELS = {
    Mobilization.MOBILIZED: ("мобілізований", "mobilized"),
    Mobilization.PARTIALLY_MOBILIZED: ("частково мобілізований", "partially mobilized"),
    Mobilization.NOT_MOBILIZED: ("ще не мобілізований", "not yet mobilized"),
    Mobilization.CONTRACT: ("за контрактом", "contract"),
    Mobilization.UNKNOWN: ("невідомо", "unknown"),
}
CHANNEL_LABELS = {
    Channel.PHONE: ("телефон", "phone"),
    Channel.MESSENGER: ("месенджер", "messenger"),
    Channel.OTHER: ("інше", "other"),
}
STAGE_LABELS = {
    ContactStage.FIRST_CONTACT: ("перший контакт", "first contact"),
    ContactStage.CONFIRMATION: ("підтвердження", "confirmation"),
    ContactStage.HANDOFF: ("передача", "handoff"),
    ContactStage.FOLLOW_UP: ("подальший контакт", "follow-up"),
}


@dataclass(frozen=True)
class HandoffSheet:
    """Everything one printed handoff sheet shows."""

    site_id: str
    site_name: str
    serial: str
    case: Case
    contacts: tuple[ContactEntry, ...]
    operator: str
    printed_by: str
    printed_at: datetime
    copy_number: int  # 0 for an original, n for the nth copy of what it shows
    audit_root: str
    audit_size: int = 0  # the entries the root is over
    # A preview, before the sheet is entered in the print register: no serial, no QR code,
    # and every page says that it is not for the handoff.
    draft: bool = False
    copy_of: str = ""  # a copy's original: the first sheet printed of what it shows
    replaces: str = ""  # the newest earlier sheet of the case that shows other details


DRAFT_SERIAL = "—"
DRAFT_MARK = "ПЕРЕГЛЯД, НЕ ДЛЯ ПЕРЕДАЧІ / PREVIEW, NOT FOR HANDOFF"
DRAFT_STAMP = "ПЕРЕГЛЯД / PREVIEW"
STAMP_CLEARANCE = 3 * mm  # between a stamp and the text either side of it


def register_bundled_fonts() -> None:
    """Register the bundled DejaVu fonts with reportlab once per process."""
    _register_fonts_once()


@functools.cache
def _register_fonts_once() -> None:
    # Parsing the TrueType files takes tens of milliseconds; do it once.
    folder = resources.files("resources").joinpath("fonts")
    for name, filename in _FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(folder.joinpath(filename))))
    # <b> and <i> in Paragraph markup must map to bundled faces, never base-14.
    pdfmetrics.registerFontFamily(
        SANS, normal=SANS, bold=SANS_BOLD, italic=SANS, boldItalic=SANS_BOLD
    )
    pdfmetrics.registerFontFamily(MONO, normal=MONO, bold=MONO, italic=MONO, boldItalic=MONO)
    # Binary streams instead of ASCII85: a quarter smaller and ~15 ms faster per
    # sheet. Process-wide, which is fine: only Haven's own documents use reportlab.
    rl_config.useA85 = 0


def sheet_coverage() -> str:
    """What text_rules.printable reads (resources/fonts/sheet-coverage.txt): the ranges of
    characters both faces of the sheet's font have a glyph for.

    Kept as a file so that checking a name needs neither reportlab nor the fonts parsed
    (a tenth of a second or more, in every process that checks text); a test compares it
    with the fonts."""
    register_bundled_fonts()
    regular, bold = (pdfmetrics.getFont(name).face.charToGlyph for name in (SANS, SANS_BOLD))
    ranges: list[list[int]] = []
    for point in sorted(frozenset(regular) & frozenset(bold)):
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    lines = [f"{first:04x}-{last:04x}" for first, last in ranges]
    return "\n".join([*COVERAGE_HEADER, *lines]) + "\n"


COVERAGE_HEADER = (
    "# Characters the handoff sheet's font (DejaVu Sans, regular and bold) prints: code point",
    "# ranges in hex. Written by desktop.handoff.sheet_coverage; tests/desktop/test_handoff.py",
    "# says when the fonts and this file differ.",
)


def sheet_content_digest(sheet: HandoffSheet) -> bytes:
    """SHA-256 over a canonical JSON of what the sheet vouches for.

    That is the site, serial, case id and reference, every person as recorded,
    group size and condition, meeting point, window and receiving unit. Who
    printed it, when, and which copy it is are left out, so a reprint of
    unchanged content carries the same digest.
    """
    return content_digest(sheet.site_id, sheet.serial, sheet.case)


def content_digest(site_id: str, serial: str, case: Case) -> bytes:
    """The digest a sheet with this serial would carry for the case as it is given."""
    return content_digests(site_id, [serial], case)[0]


_SERIAL_SLOT = "\x00serial\x00"  # no serial holds it; JSON writes it as \u0000serial\u0000


def content_digests(site_id: str, serials: Sequence[str], case: Case) -> list[bytes]:
    """content_digest for each of these serials: the case is written out once."""
    canonical = _canonical_content(site_id, _SERIAL_SLOT, case)
    slot = json.dumps(_SERIAL_SLOT)
    return [
        hashlib.sha256(canonical.replace(slot, json.dumps(serial), 1).encode("utf-8")).digest()
        for serial in serials
    ]


def _canonical_content(site_id: str, serial: str, case: Case) -> str:
    content = {
        "format": CONTENT_FORMAT,
        "site_id": site_id,
        "serial": serial,
        "case_id": case.id,
        "reference": case.ref,
        "persons": [_person_content(person) for person in case.persons],
        "group_size": case.group_size,
        "condition": case.condition,
        "meeting_point": case.meeting_point,
        "window_start": _utc_text(case.window_start),
        "window_end": _utc_text(case.window_end),
        "receiving_unit": case.receiving_unit,
    }
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def handoff_sheet_token(sheet: HandoffSheet, signing_key: Ed25519PrivateKey) -> str:
    """The signed token that the sheet's QR code holds."""
    return make_sheet_token(
        site_id=sheet.site_id,
        case_id=sheet.case.id,
        reference=sheet.case.ref,
        serial=sheet.serial,
        content_digest=sheet_content_digest(sheet),
        signing_key=signing_key,
    )


def render_handoff_sheet(sheet: HandoffSheet, signing_key: Ed25519PrivateKey | None) -> bytes:
    """Render the sheet as A4 PDF bytes, in memory; a draft is not signed (no key)."""
    _require_aware(sheet.printed_at, "printed_at")
    if sheet.copy_number < 0:
        raise ValueError(f"copy_number must be 0 or more, not {sheet.copy_number}")
    if (signing_key is None) != sheet.draft:
        raise ValueError("a sheet is signed unless it is a draft, and a draft is not")
    register_bundled_fonts()
    token = None if signing_key is None else handoff_sheet_token(sheet, signing_key)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=TOP_MARGIN,
        bottomMargin=BOTTOM_MARGIN,
        title="Handoff sheet preview" if sheet.draft else f"Handoff sheet {sheet.serial}",
        author="Haven",
        creator="Haven",
        # Otherwise the canvas starts in Helvetica and the PDF lists that
        # unembedded base-14 font, which has no Cyrillic.
        initialFontName=SANS,
    )
    decorate = functools.partial(_decorate_page, sheet=sheet, token=token)
    doc.build(
        _story(sheet),
        onFirstPage=decorate,
        onLaterPages=decorate,
        canvasmaker=_page_counting_canvas(_draw_page_number),
    )
    return buffer.getvalue()


def draw_qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    """Draw a QR code of ``text`` (quiet zone included) with its lower left at x, y."""
    cells, operators = _qr_operators(text)
    canvas.saveState()
    canvas.setFillColor(colors.white)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColor(colors.black)
    canvas.translate(x, y)
    canvas.scale(size / cells, size / cells)
    canvas.addLiteral(operators)
    canvas.restoreState()


@functools.lru_cache(maxsize=32)
def _qr_operators(text: str) -> tuple[int, str]:
    """The QR code as PDF path operators in module units, with its size in modules.

    Formatting thousands of rectangle coordinates is the slow part of drawing a
    QR code with reportlab, and a sheet repeats the same code on every page.
    """
    modules = _qr_modules(text)
    quiet_zone = 4
    cells = len(modules) + 2 * quiet_zone
    rectangles = []
    for row_index, row in enumerate(modules):
        # PDF's y axis points up; a hair of overlap keeps rows from showing seams.
        bottom = cells - quiet_zone - row_index - 1
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            rectangles.append(f"{start + quiet_zone} {bottom - 0.02:.2f} {column - start} 1.04 re")
    return cells, "\n".join(rectangles) + "\nf"


class _FixedMaskQRCode(qrencoder.QRCode):
    """reportlab's encoder, minus the search for the best of the eight masks.

    The search encodes the symbol nine times: ~40 ms for a sheet token, against
    ~8 ms with one mask. It pays off for data with long regular runs; signed
    tokens are random-looking base32, for which every mask scores alike, and
    decoders read any mask.
    """

    def getBestMaskPattern(self) -> int:
        return 0


@functools.lru_cache(maxsize=32)
def _qr_modules(text: str) -> tuple[tuple[bool, ...], ...]:
    """The QR matrix for ``text`` at error correction level M (dark = True)."""
    code = _FixedMaskQRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.make()
    return tuple(tuple(bool(cell) for cell in row) for row in code.modules)


def _page_counting_canvas(draw_footer: Callable[[Canvas, int, int], None]) -> type[Canvas]:
    """A canvas class that holds pages back until the end so each can say "x of y"."""

    class PageCountingCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held_pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._held_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held_pages)
            for number, state in enumerate(self._held_pages, start=1):
                self.__dict__.update(state)
                draw_footer(self, number, total)
                super().showPage()
            super().save()

    return PageCountingCanvas


# --- the story -------------------------------------------------------------------------


class _Styles:
    def __init__(self) -> None:
        base = ParagraphStyle("base", fontName=SANS, fontSize=8.5, leading=10.5, textColor=INK)
        self.body = base
        self.body_muted = ParagraphStyle("body_muted", base, textColor=MUTED)
        self.body_bold = ParagraphStyle("body_bold", base, fontName=SANS_BOLD)
        self.fact = ParagraphStyle("fact", base, fontName=SANS_BOLD, fontSize=10, leading=12.5)
        self.small = ParagraphStyle("small", base, fontSize=7.5, leading=9)
        self.small_muted = ParagraphStyle("small_muted", self.small, textColor=MUTED)
        self.label = ParagraphStyle("label", base, fontName=SANS_BOLD, fontSize=7.5, leading=9)
        self.header = ParagraphStyle("header", base, fontName=SANS_BOLD, fontSize=7, leading=8.5)
        self.title = ParagraphStyle("title", base, fontName=SANS_BOLD, fontSize=14, leading=17)
        self.subtitle = ParagraphStyle("subtitle", base, fontSize=9, leading=12)
        self.section = ParagraphStyle(
            "section",
            base,
            fontName=SANS_BOLD,
            fontSize=10,
            leading=13,
            spaceBefore=6,
            spaceAfter=4,
        )
        self.warning = ParagraphStyle(
            "warning", base, fontName=SANS_BOLD, fontSize=9, leading=12.5
        )
        self.ref_label = ParagraphStyle("ref_label", self.small, alignment=TA_RIGHT)
        self.reference = ParagraphStyle(
            "reference", base, fontName=SANS_BOLD, fontSize=26, leading=30, alignment=TA_RIGHT
        )
        self.copy = ParagraphStyle(
            "copy", base, fontName=SANS_BOLD, fontSize=13, leading=16, alignment=TA_RIGHT
        )


class _Lines(Flowable):
    """Plain text wrapped at spaces: a far cheaper table cell than a Paragraph.

    For labels, numbers, dates and the persons' names, ranks and units, which need no
    markup; a twelve-person sheet has dozens of such cells. A word wider than the cell
    breaks after a hyphen where it has one (reportlab's Paragraph cuts a word with an
    і, ї, є or ґ anywhere), and splits between lines at a page break.
    """

    def __init__(self, *pieces: tuple[str, ParagraphStyle]) -> None:
        super().__init__()
        self.pieces = pieces
        self.lines: list[tuple[str, ParagraphStyle]] = []

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.lines = [
            (line, style)
            for text, style in self.pieces
            for line in _wrap_words(text, style.fontName, style.fontSize, availWidth)
        ]
        self.width = availWidth
        self.height = sum(style.leading for _, style in self.lines)
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        self.wrap(availWidth, availHeight)
        used, cut = 0.0, 0
        while cut < len(self.lines) and used + self.lines[cut][1].leading <= availHeight:
            used += self.lines[cut][1].leading
            cut += 1
        if not 0 < cut < len(self.lines):
            return []
        return [_Lines(*self.lines[:cut]), _Lines(*self.lines[cut:])]

    def draw(self) -> None:
        top = self.height
        for line, style in self.lines:
            self.canv.setFont(style.fontName, style.fontSize)
            self.canv.setFillColor(style.textColor)
            self.canv.drawString(0, top - style.fontSize, line)
            top -= style.leading


@functools.lru_cache(maxsize=1024)
def _wrap_words(text: str, font: str, size: float, width: float) -> tuple[str, ...]:
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and pdfmetrics.stringWidth(candidate, font, size) <= width:
            lines[-1] = candidate
        else:
            lines.extend(_word_pieces(word, font, size, width))
    return tuple(lines) or ("",)


def _word_pieces(word: str, font: str, size: float, width: float) -> list[str]:
    """The word, or if it is wider than ``width``, pieces of it that fit: each up to a
    hyphen where one fits, else as many letters as fit."""
    pieces = []
    while len(word) > 1 and pdfmetrics.stringWidth(word, font, size) > width:
        fits, used = 1, pdfmetrics.stringWidth(word[0], font, size)
        while fits < len(word):
            used += pdfmetrics.stringWidth(word[fits], font, size)
            if used > width:
                break
            fits += 1
        hyphen = word.rfind("-", 1, fits)
        cut = hyphen + 1 if hyphen > 0 else fits
        pieces.append(word[:cut])
        word = word[cut:]
    return [*pieces, word]


@functools.cache
def _styles() -> _Styles:
    return _Styles()


def _story(sheet: HandoffSheet) -> list[Flowable]:
    styles = _styles()
    case = sheet.case
    story: list[Flowable] = [_title_block(sheet, styles)]
    warnings = sheet_warnings(sheet)
    if warnings:
        story.append(_warnings_box(warnings, styles))
    # A heading starts a new page rather than end one without a row of what it heads.
    story.append(_section("Обставини передачі / Handoff details", styles))
    story.append(_facts_table(sheet, styles))
    story.append(CondPageBreak(SECTION_START))
    story.append(_section(f"Особи / Persons ({len(case.persons)})", styles))
    story.append(_persons_table(case.persons, styles))
    story.append(KeepTogether([_section("Підписи / Signatures", styles), _signature_table(styles)]))
    history, first_rows = _contacts_table(sheet.contacts, styles)
    heading = styles.section.spaceBefore + styles.section.leading + styles.section.spaceAfter
    story.append(CondPageBreak(heading + first_rows + _SLACK))
    story.append(
        _section("Історія контактів (довідково) / Contact history (for reference)", styles)
    )
    story.append(history)
    return story


def _title_block(sheet: HandoffSheet, styles: _Styles) -> Flowable:
    left = [
        Paragraph("АКТ ПРИЙМАННЯ-ПЕРЕДАЧІ<br/>HANDOFF SHEET", styles.title),
        Spacer(1, 2 * mm),
        Paragraph(
            f"Пункт / Site: <b>{_text(sheet.site_name)}</b>"
            f"<br/>Номер акта / Sheet serial: <b>{_text(_serial(sheet))}</b>",
            styles.subtitle,
        ),
    ]
    # A unit may hold several sheets of one case: each says which others it stands for.
    if sheet.copy_of:
        left.append(Paragraph(
            f"Копія акта / Copy of sheet <b>{_text(sheet.copy_of)}</b>"
            " (зміст той самий / same details)",
            styles.subtitle,
        ))
    if sheet.replaces:
        left.append(Paragraph(
            f"Замінює / Replaces: <b>{_text(sheet.replaces)}</b> і всі попередні з іншими"
            " даними, вони недійсні / and every earlier sheet with other details, which are"
            " void",
            styles.subtitle,
        ))
    right: list[Flowable] = [
        Paragraph("Референс справи / Case reference", styles.ref_label),
        Paragraph(_text(sheet.case.ref), styles.reference),
    ]
    if sheet.copy_number:
        right.append(Paragraph(_copy_label(sheet.copy_number), styles.copy))
    table = Table([[left, right]], colWidths=[CONTENT_WIDTH * 0.55, CONTENT_WIDTH * 0.45])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), SANS),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("LINEBELOW", (0, 0), (-1, 0), 1.2, INK),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3 * mm),
            ]
        )
    )
    return table


@dataclass(frozen=True, slots=True)
class SheetWarning:
    """Something that makes a sheet doubtful, printed above everything else on its first page."""

    title: tuple[str, str]  # Ukrainian, English; in capitals
    ukrainian: str
    english: str


def sheet_warnings(sheet: HandoffSheet) -> list[SheetWarning]:
    """What a receiving unit must be told before it trusts the sheet: a group handed off
    already, a meeting window over before the sheet was printed, a case flagged for failed
    codeword checks. A unit without Haven has only the paper to tell it."""
    case = sheet.case
    warnings = []
    if case.status == Status.HANDED_OFF:
        when = local_time_text(case.status_changed_at)
        warnings.append(SheetWarning(
            ("ГРУПУ ВЖЕ ПЕРЕДАНО", "ALREADY HANDED OFF"),
            f"Групу передано {when}. Цей акт надруковано після того: він лише для довідки,"
            " не для передачі.",
            f"The group was handed off {when}. This sheet was printed afterwards: it is a"
            " record, not for a handoff.",
        ))
    elif case.window_end is not None and case.window_end <= sheet.printed_at:
        end, printed = local_time_text(case.window_end), local_time_text(sheet.printed_at)
        warnings.append(SheetWarning(
            ("ЧАС ЗУСТРІЧІ МИНУВ", "MEETING WINDOW HAS PASSED"),
            f"Час зустрічі скінчився {end}, ще до друку цього акта ({printed}). Перед"
            " передачею з'ясуйте з пунктом нову домовленість.",
            f"The window ended {end}, before this sheet was printed ({printed}). Agree a new"
            " arrangement with the site before the handoff.",
        ))
    if case.flagged:
        warnings.append(SheetWarning(
            ("МОЖЛИВИЙ САМОЗВАНЕЦЬ", "POSSIBLE IMPOSTOR"),
            "Хтось не зміг назвати кодове слово цієї справи від імені заявника. Переконайтеся,"
            " хто передає групу і хто в ній: звірте кожну особу з цим актом.",
            "Someone failed this case's codeword check in the caller's name. Make sure of who"
            " hands the group over and who is in it: check every person against this sheet.",
        ))
    return warnings


def _warnings_box(warnings: Sequence[SheetWarning], styles: _Styles) -> Flowable:
    rows = [
        [Paragraph(
            f"<font size='11'>⚠ {_text(' / '.join(warning.title))}</font>"
            f"<br/>{_text(warning.ukrainian)}<br/>{_text(warning.english)}",
            styles.warning,
        )]
        for warning in warnings
    ]
    table = Table(rows, colWidths=[CONTENT_WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 2, INK),
                ("LINEBELOW", (0, 0), (-1, -2), 0.8, INK),
                ("BACKGROUND", (0, 0), (-1, -1), SHADE),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    table.spaceBefore = 3 * mm
    return table


def _group_text(case: Case) -> str:
    """How many to expect, and how that stands to the persons named below."""
    listed = len(case.persons)
    size = case.group_size or listed
    if size > listed:
        return (f"{size} — поіменно нижче {listed}, ще {size - listed} без імені"
                f" / {size} — {listed} named below, {size - listed} more not named")
    if size < listed:
        return (f"{size} — але нижче названо {listed}: з'ясуйте з пунктом, кого чекати"
                f" / {size} — but {listed} are named below: ask the site whom to expect")
    return str(size)


def _facts_table(sheet: HandoffSheet, styles: _Styles) -> Flowable:
    case = sheet.case
    # How many, where, when and who receives them: what a unit reads first, by torchlight.
    rows = [
        ("Кількість осіб у групі / Group size", _group_text(case), styles.fact),
        ("Стан / Condition", _text_lines(case.condition), styles.body),
        ("Пункт зустрічі / Meeting point", _text(case.meeting_point), styles.fact),
        (
            "Час зустрічі / Meeting window",
            _text(window_text(case.window_start, case.window_end)),
            styles.fact,
        ),
        ("Приймаючий підрозділ / Receiving unit", _text(case.receiving_unit), styles.fact),
        (
            "Зареєстрував / Registered by",
            f"{_text(sheet.operator)} · {_text(local_time_text(case.created_at))}",
            styles.body,
        ),
        (
            "Надрукував / Printed by",
            f"{_text(sheet.printed_by)} · {_text(local_time_text(sheet.printed_at))}",
            styles.body,
        ),
    ]
    data = [[_Lines((label, styles.label)), Paragraph(text, style)] for label, text, style in rows]
    table = Table(data, colWidths=[58 * mm, CONTENT_WIDTH - 58 * mm], splitInRow=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), SANS),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("GRID", (0, 0), (-1, -1), 0.5, RULE),
                ("BOX", (0, 0), (-1, -1), 0.8, INK),
                ("BACKGROUND", (0, 0), (0, -1), SHADE),
            ]
        )
    )
    return table


def _persons_table(persons: Sequence[Person], styles: _Styles) -> Flowable:
    header = [
        "№",
        "ПІБ (як назвав) / Full name (as given)\nЛатиницею / Latin transliteration",
        "Дата народження / Date of birth",
        "Звання / Rank",
        "Підрозділ / Unit",
        "Мобілізація / Mobilization",
    ]
    data: list[list[Any]] = [[_header_cell(text, styles) for text in header]]
    commands: list[tuple[Any, ...]] = []
    widths = [7 * mm, 57 * mm, 23 * mm, 24 * mm, 34 * mm]
    widths.append(CONTENT_WIDTH - sum(widths))
    # Room for a person's rows on a page under the repeated header.
    room = FRAME_HEIGHT - _row_height(data[0], widths)
    for number, person in enumerate(persons, start=1):
        full_name = _plain(person.full_name)
        latin = transliterate_uk(full_name)
        name = [(full_name, styles.body_bold)]
        if latin != full_name:
            name.append((latin, styles.body_muted))
        data.append(
            [
                _Lines((str(number), styles.body)),
                _Lines(*name),
                _Lines((person.birth_date or "—", styles.body)),
                _Lines((_plain(person.rank), styles.body)),
                _Lines((_plain(person.unit), styles.body)),
                _bilingual(
                    MOBILIZATION_LABELS[person.mobilization], styles.body, styles.body_muted
                ),
            ]
        )
        if person.notes:
            # A person's two rows stay on one page; only a person taller than a page is
            # split, and then this row repeats the person's number.
            row = len(data)
            data.append(
                [
                    _Lines((str(number), styles.small_muted)),
                    Paragraph(
                        "<b>Прикмети / Distinguishing features:</b> "
                        + _text_lines(person.notes),
                        styles.small,
                    ),
                    "",
                    "",
                    "",
                    "",
                ]
            )
            commands += [
                ("SPAN", (1, row), (-1, row)),
                ("LINEABOVE", (0, row), (-1, row), 0.25, SHADE),
            ]
            # A person's two rows stay on one page when they fit on one: reportlab would
            # look for a page that holds them for ever.
            spanned = [data[row][0], data[row][1]]
            pair = _row_height(data[row - 1], widths) + _row_height(
                spanned, [widths[0], sum(widths[1:])])
            if pair <= room - _SLACK:
                commands.append(("NOSPLIT", (0, row - 1), (-1, row)))
        first_row = len(data) - (2 if person.notes else 1)
        commands.append(("LINEABOVE", (0, first_row), (-1, first_row), 0.5, RULE))
    table = _RowsWhole(data, colWidths=widths, repeatRows=1)
    table.setStyle(_base_table_style(commands))
    return table


def _row_height(cells: Sequence[Any], widths: Sequence[float]) -> float:
    """The height a row of these cells takes in a table of _base_table_style."""
    tallest = 0.0
    for cell, width in zip(cells, widths, strict=True):
        if isinstance(cell, Flowable):
            tallest = max(tallest, cell.wrap(width - _PADDING_X, FRAME_HEIGHT * 100)[1])
    return tallest + _PADDING_Y


class _RowsWhole(Table):
    """A table that breaks between rows only, unless a row (or rows kept together) is
    taller than a whole page: then, at the top of a page, that row is split too.

    reportlab's own in-row splitting, always on, measures split spanned rows badly: it left
    pages mostly blank, and parts of a row without the person they belong to.
    """

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        parts: list[Flowable] = super().split(availWidth, availHeight)
        if parts or availHeight < FRAME_HEIGHT - 1:
            return parts  # what does not fit here goes whole to the next page
        self.splitInRow = 1
        try:
            parts = super().split(availWidth, availHeight)
        finally:
            self.splitInRow = 0
        for part in parts:  # the rest of the table breaks between rows again
            if isinstance(part, Table):
                part.splitInRow = 0
        return parts


def _contacts_table(
    contacts: Sequence[ContactEntry], styles: _Styles
) -> tuple[Flowable, float]:
    """The contact history, with the height of its start (the header and the first entry)."""
    if not contacts:
        return Paragraph("Записів немає / No entries", styles.body), styles.body.leading
    header = [
        "Дата і час / Date and time",
        "Канал / Channel",
        "Етап / Stage",
        "Оператор / Operator",
        "Зміст (скорочено) / Summary (shortened)",
    ]
    data: list[list[Any]] = [[_header_cell(text, styles) for text in header]]
    for entry in sorted(contacts, key=lambda contact: contact.at):
        data.append(
            [
                _Lines((local_time_text(entry.at), styles.small)),
                _bilingual(CHANNEL_LABELS[entry.channel], styles.small, styles.small_muted),
                _bilingual(STAGE_LABELS[entry.stage], styles.small, styles.small_muted),
                Paragraph(_text(entry.operator), styles.small),
                Paragraph(_text(_shorten(entry.summary, SUMMARY_LIMIT)), styles.small),
            ]
        )
    widths = [30 * mm, 24 * mm, 28 * mm, 24 * mm]
    widths.append(CONTENT_WIDTH - sum(widths))
    table = Table(data, colWidths=widths, repeatRows=1, splitInRow=1)
    table.setStyle(_base_table_style([("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE)]))
    return table, _row_height(data[0], widths) + _row_height(data[1], widths)


def _signature_table(styles: _Styles) -> Flowable:
    rows = [
        ("ПІБ / Full name", 11 * mm),
        ("Звання, посада / Rank, position", 11 * mm),
        ("Підпис / Signature", 16 * mm),
        ("Дата і час / Date and time", 11 * mm),
    ]
    data: list[list[Any]] = [
        [
            "",
            _Lines(("Передав / Handed over by", styles.label)),
            _Lines(("Прийняв / Received by", styles.label)),
        ]
    ]
    data += [[_Lines((label, styles.small)), "", ""] for label, _ in rows]
    half = (CONTENT_WIDTH - 42 * mm) / 2
    table = Table(
        data,
        colWidths=[42 * mm, half, half],
        rowHeights=[None, *(height for _, height in rows)],
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, INK),
                ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                ("BACKGROUND", (0, 1), (0, -1), SHADE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), SANS),
            ]
        )
    )
    return table


def _header_cell(text: str, styles: _Styles) -> Flowable:
    return _Lines(*((line, styles.header) for line in text.split("\n")))


def _section(title: str, styles: _Styles) -> Paragraph:
    return Paragraph(title, styles.section)


def _base_table_style(extra: Sequence[tuple[Any, ...]]) -> TableStyle:
    return TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), SANS),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), (-1, 0), SHADE),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
            ("BOX", (0, 0), (-1, -1), 0.8, INK),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), _PADDING_X - 4),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), _PADDING_Y - 2.5),
            *extra,
        ]
    )


# --- what every page carries ---------------------------------------------------------


def _decorate_page(
    canvas: Canvas, _doc: SimpleDocTemplate, *, sheet: HandoffSheet, token: str | None
) -> None:
    # Drawn before the page's flowables, so the watermark lies under the text.
    canvas.saveState()
    _draw_watermark(canvas, sheet)
    top = PAGE_HEIGHT - 12 * mm
    canvas.setFillColor(INK)
    stamp = _copy_label(sheet.copy_number) if sheet.copy_number else ""
    if sheet.draft:
        stamp = DRAFT_STAMP
    # The site's name gives way to a stamp: both fit between the margin and CONFIDENTIAL.
    gap_end = PAGE_WIDTH - MARGIN - pdfmetrics.stringWidth(CONFIDENTIAL, SANS_BOLD, 10)
    room = gap_end - MARGIN - (_stamp_width(stamp) + 2 * STAMP_CLEARANCE if stamp else 0)
    site_line = _fit(f"Haven · {sheet.site_name}", SANS, 8, min(CONTENT_WIDTH * 0.38, room))
    canvas.setFont(SANS, 8)
    canvas.drawString(MARGIN, top, site_line)
    canvas.setFont(SANS_BOLD, 10)
    canvas.drawRightString(PAGE_WIDTH - MARGIN, top, CONFIDENTIAL)
    if stamp:
        gap_start = MARGIN + pdfmetrics.stringWidth(site_line, SANS, 8)
        _draw_stamp(canvas, stamp, (gap_start + gap_end) / 2, top)
    canvas.setStrokeColor(INK)
    canvas.setLineWidth(0.8)
    canvas.line(MARGIN, top - 3 * mm, PAGE_WIDTH - MARGIN, top - 3 * mm)

    footer_top = BOTTOM_MARGIN - 4 * mm
    canvas.line(MARGIN, footer_top, PAGE_WIDTH - MARGIN, footer_top)
    qr_x = PAGE_WIDTH - MARGIN - QR_SIZE + QR_QUIET_ZONE
    if token is None:
        _draw_qr_placeholder(canvas, qr_x, QR_BOTTOM, QR_SIZE)
    else:
        draw_qr(canvas, token, qr_x, QR_BOTTOM, QR_SIZE)
    # Every page names its case and its sheet in type a torch finds: pages get separated.
    text_x = MARGIN
    label = "Референс справи / Case reference: "
    canvas.setFont(SANS, 11)
    canvas.drawString(text_x, footer_top - 15 * mm, label)
    canvas.setFont(SANS_BOLD, 11)
    canvas.drawString(
        text_x + pdfmetrics.stringWidth(label, SANS, 11), footer_top - 15 * mm, sheet.case.ref
    )
    serial_line = f"Номер акта / Sheet serial: {_serial(sheet)}"
    if sheet.copy_number and not sheet.draft:
        serial_line += f"   ·   {_copy_label(sheet.copy_number)}"
    canvas.setFont(SANS, 9)
    canvas.drawString(text_x, footer_top - 21 * mm, serial_line)
    canvas.setFont(SANS_BOLD, 8)
    canvas.drawString(text_x, footer_top - 28 * mm, CONFIDENTIAL)
    canvas.setFont(SANS, 6.5)
    canvas.setFillColor(MUTED)
    entries = f"{sheet.audit_size:,}" if sheet.audit_root else DRAFT_SERIAL
    at = sheet.audit_size if sheet.audit_root else "N"
    canvas.drawString(
        text_x,
        footer_top - 38 * mm,
        "Перевіряються / Checked with: haven-admin sheet verify (QR)"
        f"  ·  haven-admin audit verify --root-at {at}",
    )
    canvas.drawString(
        text_x,
        footer_top - 41.5 * mm,
        f"Корінь журналу аудиту (записів: {entries}) / Audit log root after {entries} entries:",
    )
    canvas.setFont(MONO, 6)
    canvas.drawString(text_x, footer_top - 44.5 * mm, sheet.audit_root or DRAFT_SERIAL)
    canvas.restoreState()


def _draw_qr_placeholder(canvas: Canvas, x: float, y: float, size: float) -> None:
    """Where a draft's QR code goes: a dashed square saying that printing gives it."""
    inset = 4 * mm  # the quiet zone of a real code
    canvas.saveState()
    canvas.setStrokeColor(MUTED)
    canvas.setFillColor(MUTED)
    canvas.setDash(2, 2)
    canvas.rect(x + inset, y + inset, size - 2 * inset, size - 2 * inset, stroke=1, fill=0)
    canvas.setFont(SANS, 6.5)
    middle = x + size / 2
    lines = ("QR-код і номер", "дає друк", "QR code and serial", "come with printing")
    for line, text in enumerate(lines):
        canvas.drawCentredString(middle, y + size / 2 + (6 - line * 4) * mm - 1 * mm, text)
    canvas.restoreState()


def _draw_page_number(canvas: Canvas, number: int, total: int) -> None:
    canvas.saveState()
    canvas.setFillColor(INK)
    canvas.setFont(SANS_BOLD, 11)
    canvas.drawString(
        MARGIN,
        BOTTOM_MARGIN - 12 * mm,
        f"Сторінка {number} з {total} / Page {number} of {total}",
    )
    canvas.restoreState()


def watermark_text(sheet: HandoffSheet) -> str:
    """What the diagonal watermark on every page says: who printed the sheet, and when; on a
    draft, that it is a preview."""
    if sheet.draft:
        return DRAFT_MARK
    return f"Надрукував / Printed by {sheet.printed_by[:40]} · {local_time_text(sheet.printed_at)}"


def _draw_watermark(canvas: Canvas, sheet: HandoffSheet) -> None:
    canvas.saveState()
    canvas.setFillGray(DRAFT_GREY if sheet.draft else WATERMARK_GREY)
    canvas.setFont(SANS_BOLD, 15)
    canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2 + 8 * mm)
    canvas.rotate(55)
    # Three parallel bands, so a cut-out part of the page still names the printer.
    text = watermark_text(sheet)
    for offset in (-70 * mm, 0, 70 * mm):
        canvas.drawCentredString(0, offset, text)
    canvas.restoreState()


def _stamp_width(label: str) -> float:
    return pdfmetrics.stringWidth(label, SANS_BOLD, 12) + 5 * mm


def _draw_stamp(canvas: Canvas, label: str, centre_x: float, baseline: float) -> None:
    width = _stamp_width(label)
    canvas.setLineWidth(1.5)
    canvas.rect(centre_x - width / 2, baseline - 1.6 * mm, width, 6.2 * mm, stroke=1, fill=0)
    canvas.setFont(SANS_BOLD, 12)
    canvas.drawCentredString(centre_x, baseline, label)


# --- text helpers --------------------------------------------------------------------


def _serial(sheet: HandoffSheet) -> str:
    return DRAFT_SERIAL if sheet.draft else sheet.serial


def _copy_label(copy_number: int) -> str:
    return f"КОПІЯ {copy_number} / COPY {copy_number}"


def _fit(text: str, font: str, size: float, width: float) -> str:
    """Cut ``text`` with an ellipsis so that it fits ``width`` points."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _plain(value: str | None) -> str:
    """A value as a _Lines cell prints it: each accented letter one character, a dash if
    missing."""
    return unicodedata.normalize("NFC", value) if value else "—"


def _text(value: object) -> str:
    """Escape a value for Paragraph markup; a missing value shows as a dash."""
    if value is None or value == "":
        return "—"
    return escape(unicodedata.normalize("NFC", str(value)))  # see case_json._optional_text


def _text_lines(value: str | None) -> str:
    """Escape text typed in a box of several lines for Paragraph markup, keeping its lines."""
    return _text(value).replace("\n", "<br/>")


def _bilingual(labels: tuple[str, str], style: ParagraphStyle, muted: ParagraphStyle) -> Flowable:
    ukrainian, english = labels
    return _Lines((ukrainian, style), (english, muted))


def _shorten(text: str, limit: int) -> str:
    """Collapse whitespace and cut at a word boundary near ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    if space > limit * 0.7:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + " …"


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _utc_text(moment: datetime | None) -> str | None:
    """UTC at millisecond precision, the form the vault stores."""
    if moment is None:
        return None
    _require_aware(moment, "sheet time")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _offset_text(moment: datetime) -> str:
    offset = moment.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}"


def local_time_text(moment: datetime | None) -> str:
    """Local wall-clock time with its UTC offset, e.g. 2026-03-14 18:00 (UTC+02:00)."""
    if moment is None:
        return "—"
    _require_aware(moment, "sheet time")
    local = moment.astimezone()
    return f"{local:%Y-%m-%d %H:%M} ({_offset_text(local)})"


def window_text(start: datetime | None, end: datetime | None) -> str:
    if start is None and end is None:
        return "—"
    if start is None or end is None:
        return f"{local_time_text(start)} – {local_time_text(end)}"
    _require_aware(start, "window_start")
    _require_aware(end, "window_end")
    first, last = start.astimezone(), end.astimezone()
    if first.date() == last.date() and first.utcoffset() == last.utcoffset():
        return f"{first:%Y-%m-%d %H:%M} – {last:%H:%M} ({_offset_text(first)})"
    return f"{local_time_text(start)} – {local_time_text(end)}"


def _person_content(person: Person) -> dict[str, str | None]:
    return {
        "full_name": person.full_name,
        "birth_date": person.birth_date,
        "rank": person.rank,
        "unit": person.unit,
        "mobilization": person.mobilization.value,
        "notes": person.notes,
    }
