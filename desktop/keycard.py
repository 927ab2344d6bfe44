"""The site key card: a printable page for exchanging public keys between sites.

The IT officers of two sites swap cards (or read them over a phone line) and
confirm the fingerprint aloud before `haven-admin peer add` or the desk's Add peer….
Everything on the card is public; it holds no secret.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from desktop.errors import InputRejected
from desktop.handoff import (
    MONO,
    MUTED,
    RULE,
    SANS,
    SANS_BOLD,
    SHADE,
    draw_qr,
    register_bundled_fonts,
)

KEY_CARD_FORMAT = "haven-site-keys-v1"
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
QR_SIZE = 62 * mm
FRAME_PADDING = 6  # reportlab's default Frame padding, in points
KEY_FONT_SIZE = 10.5
FINGERPRINT_FONT_SIZE = 21
GROUP_SIZE = 4
GROUPS_PER_LINE = 6
# An algorithm prefix such as "SHA256:" is read once, not spelled out in groups.
_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9-]{2,15}:)(.+)$")


def key_card_payload(
    site_id: str, signing_key_openssh: str, age_recipient: str, fingerprint: str
) -> str:
    """The text of the key card's QR code: compact JSON of the site's public identity."""
    return json.dumps(
        {
            "format": KEY_CARD_FORMAT,
            "site_id": site_id,
            "signing_key": signing_key_openssh,
            "recipient": age_recipient,
            "fingerprint": fingerprint,
        },
        separators=(",", ":"),
    )


@dataclass(frozen=True, slots=True)
class CardKeys:
    """The keys a key card's QR code holds, as ``peer add`` takes them."""

    signing_key: str
    recipient: str
    site_id: str


def read_key_card(text: str) -> CardKeys:
    """The keys from the text of a key card's QR code (as a scanner types it).

    The card's fingerprint is left out on purpose: the one typed as read off the card or
    aloud is what confirms that the keys are the peer's.
    """
    try:
        card = json.loads(text)
    except ValueError:
        card = None
    fields = card if isinstance(card, dict) else {}
    wanted = [fields.get(name) for name in ("signing_key", "recipient", "site_id")]
    found = [value for value in wanted if isinstance(value, str)]
    if fields.get("format") != KEY_CARD_FORMAT or len(found) != len(wanted):
        raise InputRejected("this is not the text of a Haven key card's QR code")
    return CardKeys(signing_key=found[0], recipient=found[1], site_id=found[2])


def group_fingerprint(fingerprint: str) -> list[str]:
    """Split a fingerprint into lines of short groups that are easy to read aloud."""
    text = fingerprint.strip()
    prefix = ""
    match = _PREFIX.match(text)
    if match:
        prefix, text = match.group(1), match.group(2)
    if re.search(r"[\s:]", text):
        # Already grouped by whoever formatted it (spaces, or hex pairs with
        # colons): keep those groups.
        groups = [group for group in re.split(r"[\s:]+", text) if group]
    else:
        groups = [text[i : i + GROUP_SIZE] for i in range(0, len(text), GROUP_SIZE)]
    # As few lines as GROUPS_PER_LINE allows, evened out: 4 + 3 groups, not 6 + 1.
    count = -(-len(groups) // GROUPS_PER_LINE)
    per_line = -(-len(groups) // count) if count else GROUPS_PER_LINE
    lines = [" ".join(groups[i : i + per_line]) for i in range(0, len(groups), per_line)]
    return [prefix, *lines] if prefix else lines


def render_key_card(
    site_name: str,
    site_id: str,
    signing_key_openssh: str,
    age_recipient: str,
    fingerprint: str,
) -> bytes:
    """Render the site's key card as A4 PDF bytes, in memory."""
    register_bundled_fonts()
    payload = key_card_payload(site_id, signing_key_openssh, age_recipient, fingerprint)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=24 * mm,
        bottomMargin=18 * mm,
        title=f"Haven site key card {site_id}",
        author="Haven",
        creator="Haven",
        # Otherwise the canvas starts in Helvetica and the PDF lists that
        # unembedded base-14 font, which has no Cyrillic.
        initialFontName=SANS,
    )

    def decorate(canvas: Canvas, _doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        top = PAGE_HEIGHT - 13 * mm
        canvas.setFont(SANS, 8)
        canvas.drawString(MARGIN, top, "Haven")
        canvas.setFont(SANS_BOLD, 9)
        canvas.drawRightString(
            PAGE_WIDTH - MARGIN, top, "ВІДКРИТІ КЛЮЧІ — НЕ СЕКРЕТ / PUBLIC KEYS — NOT SECRET"
        )
        canvas.setStrokeColor(RULE)
        canvas.line(MARGIN, top - 3 * mm, PAGE_WIDTH - MARGIN, top - 3 * mm)
        canvas.restoreState()

    doc.build(
        _story(site_name, site_id, signing_key_openssh, age_recipient, fingerprint, payload),
        onFirstPage=decorate,
        onLaterPages=decorate,
    )
    return buffer.getvalue()


def _story(
    site_name: str,
    site_id: str,
    signing_key: str,
    recipient: str,
    fingerprint: str,
    payload: str,
) -> list[Flowable]:
    base = ParagraphStyle("base", fontName=SANS, fontSize=9.5, leading=12.5)
    label = ParagraphStyle(
        "label", base, fontName=SANS_BOLD, fontSize=8.5, leading=11, spaceBefore=7, spaceAfter=2
    )
    title = ParagraphStyle("title", base, fontName=SANS_BOLD, fontSize=16, leading=20)
    name = ParagraphStyle("name", base, fontName=SANS_BOLD, fontSize=20, leading=25, spaceBefore=4)
    mono = ParagraphStyle(
        "mono", base, fontName=MONO, fontSize=KEY_FONT_SIZE, leading=KEY_FONT_SIZE * 1.35
    )
    print_style = ParagraphStyle(
        "fingerprint",
        mono,
        fontSize=FINGERPRINT_FONT_SIZE,
        leading=FINGERPRINT_FONT_SIZE * 1.4,
        alignment=TA_CENTER,
    )
    note = ParagraphStyle("note", base, fontSize=8.5, leading=11, textColor=MUTED)

    fingerprint_box = Table(
        [
            [
                Paragraph(
                    "<br/>".join(escape(line) for line in group_fingerprint(fingerprint)),
                    print_style,
                )
            ]
        ],
        colWidths=[CONTENT_WIDTH],
    )
    fingerprint_box.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), SANS),
                ("BOX", (0, 0), (-1, -1), 1.2, "black"),
                ("BACKGROUND", (0, 0), (-1, -1), SHADE),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 9),
            ]
        )
    )
    return [
        Paragraph("КАРТКА КЛЮЧІВ ПУНКТУ / SITE KEY CARD", title),
        Paragraph(escape(site_name), name),
        Paragraph("Ідентифікатор пункту / Site id", label),
        Paragraph(_hard_wrapped(site_id, CONTENT_WIDTH), mono),
        Paragraph("Відбиток — звірте голосом / Fingerprint — compare it by voice", label),
        fingerprint_box,
        Paragraph("Ключ підпису (Ed25519, OpenSSH) / Signing key (Ed25519, OpenSSH)", label),
        Paragraph(_hard_wrapped(signing_key, CONTENT_WIDTH), mono),
        Paragraph("Ключ шифрування (age) / Encryption key (age recipient)", label),
        Paragraph(_hard_wrapped(recipient, CONTENT_WIDTH), mono),
        Spacer(1, 5 * mm),
        _qr_and_steps(site_name, payload, base, label, note),
        Spacer(1, 8 * mm),
        _confirmation_table(base),
    ]


def _confirmation_table(base: ParagraphStyle) -> Flowable:
    rows = [
        "Відбиток звірено з (пункт, ПІБ) / Fingerprint compared with (site, name)",
        "Дата і час / Date and time",
        "Підпис ІТ-фахівця / IT officer's signature",
    ]
    table = Table(
        [[Paragraph(text, base), ""] for text in rows],
        colWidths=[CONTENT_WIDTH * 0.45, CONTENT_WIDTH * 0.55],
        rowHeights=[12 * mm] * len(rows),
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, "black"),
                ("BACKGROUND", (0, 0), (0, -1), SHADE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("FONTNAME", (0, 0), (-1, -1), SANS),
            ]
        )
    )
    return table


def _qr_and_steps(
    site_name: str, payload: str, base: ParagraphStyle, label: ParagraphStyle,
    note: ParagraphStyle,
) -> Flowable:
    # The card is read at the other site: "here" or "your site" would name the wrong one.
    site = escape(site_name)
    steps = [
        Paragraph("Як обмінятися ключами / How to exchange keys", label),
        Paragraph(
            "1. Передайте картку ІТ-фахівцю іншого пункту.<br/>"
            "<font color='#555555'>Hand this card to the other site's IT officer.</font>",
            base,
        ),
        Spacer(1, 2 * mm),
        Paragraph(
            "2. Телефоном ІТ-фахівець іншого пункту зачитує цей відбиток групами; ІТ-фахівець"
            f" пункту «{site}» звіряє його з «haven-admin site show» на своєму пункті.<br/>"
            "<font color='#555555'>By phone, the other site's IT officer reads this"
            f" fingerprint aloud, group by group; the IT officer of {site} checks it against"
            f" “haven-admin site show” at {site}.</font>",
            base,
        ),
        Spacer(1, 2 * mm),
        Paragraph(
            "3. Лише після збігу: «haven-admin peer add» з ключами з картки або QR-коду.<br/>"
            "<font color='#555555'>Only once it matches: “haven-admin peer add” with the keys "
            "from this card or its QR code.</font>",
            base,
        ),
        Spacer(1, 4 * mm),
        Paragraph(
            "QR-код містить ідентифікатор, обидва ключі та відбиток (JSON).<br/>"
            "The QR code holds the site id, both keys and the fingerprint (JSON).",
            note,
        ),
    ]
    table = Table(
        [[_QrFlowable(payload, QR_SIZE), steps]],
        colWidths=[QR_SIZE + 6 * mm, CONTENT_WIDTH - QR_SIZE - 6 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("FONTNAME", (0, 0), (-1, -1), SANS),
            ]
        )
    )
    return table


class _QrFlowable(Flowable):
    def __init__(self, text: str, size: float) -> None:
        super().__init__()
        self.text = text
        self.size = size
        self.width = self.height = size

    def draw(self) -> None:
        draw_qr(self.canv, self.text, 0, 0, self.size)


def _hard_wrapped(text: str, width: float) -> str:
    """Break a long key into fixed-width lines of monospace text, as Paragraph markup.

    Keys have no spaces to wrap at; breaking at a fixed column keeps the lines
    the same length, which makes comparing two printouts by eye easier.
    """
    usable = width - 2 * FRAME_PADDING
    per_line = max(16, int(usable // pdfmetrics.stringWidth("M", MONO, KEY_FONT_SIZE)))
    lines = [text[i : i + per_line] for i in range(0, len(text), per_line)] or [""]
    return "<br/>".join(escape(line) for line in lines)
