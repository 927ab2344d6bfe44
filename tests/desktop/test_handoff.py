"""Handoff sheets, read back with tools nobody here wrote: poppler and zbar."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from db.names import transliterate_uk
from db.records import (
    Case,
    CaseKind,
    Channel,
    ContactEntry,
    ContactStage,
    Mobilization,
    Person,
    Status,
)
from desktop import handoff, text_rules
from desktop.handoff import (
    WATERMARK_GREY,
    HandoffSheet,
    handoff_sheet_token,
    render_handoff_sheet,
    sheet_content_digest,
    watermark_text,
)
from desktop.sheet_token import SheetTokenError, verify_sheet_token

SITE_ID = "9a1c0d6e5b4f4a3b8c7d6e5f4a3b2c1d"
BASE_14 = {
    "Courier",
    "Courier-Bold",
    "Courier-Oblique",
    "Courier-BoldOblique",
    "Helvetica",
    "Helvetica-Bold",
    "Helvetica-Oblique",
    "Helvetica-BoldOblique",
    "Times-Roman",
    "Times-Bold",
    "Times-Italic",
    "Times-BoldItalic",
    "Symbol",
    "ZapfDingbats",
}
NAMES = (
    "Петренко Олександр Іванович",
    "Коваленко Дмитро Сергійович",
    "Шевчук Андрій Миколайович",
    "Бондаренко Юрій Васильович",
    "Ткаченко Євген Олегович",
    "Кравченко Ігор Петрович",
    "Олійник Сергій Вікторович",
    "Мельник Тарас Богданович",
    "Іванов Иван Иванович",
    "Щербак Ярослав Анатолійович",
    "Лисенко Максим Юрійович",
    "Гнатюк Віталій Степанович",
)
LONG_NAME = " ".join(["Олександр-Максиміліан Костянтинович Верхньодніпровський"] * 4)[:200]
WHEN = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def needs(*tools: str) -> pytest.MarkDecorator:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    reason = f"needs {', '.join(missing)} (apt-get install poppler-utils zbar-tools)"
    return pytest.mark.skipif(bool(missing), reason=reason)


def make_case(names: Sequence[str], **changes: object) -> Case:
    persons = tuple(
        Person(
            full_name=name,
            birth_date=f"199{index % 10}-0{1 + index % 9}-1{index % 10}",
            phone="+380501234567",
            rank="молодший сержант" if index % 2 else "рядовий",
            unit=f"в/ч А{1000 + index}, 3-й механізований батальйон",
            mobilization=list(Mobilization)[index % len(Mobilization)],
            notes="шрам над лівою бровою" if index % 3 == 0 else None,
        )
        for index, name in enumerate(names)
    )
    case = Case(
        id="3f2b9c1e-8d4a-4f6b-9c2d-1a2b3c4d5e6f",
        ref="K7M-4PQ-X",
        kind=CaseKind.SURRENDER,
        channel=Channel.PHONE,
        status=Status.HANDOFF_ARRANGED,
        persons=persons,
        created_at=WHEN,
        updated_at=WHEN,
        created_by="oper.kovalenko",
        origin_site=SITE_ID,
        group_size=len(persons),
        condition="втомлені, один легко поранений",
        meeting_point="Зупинка «Лісова», 2 км на північ від с. Степове",
        receiving_unit="Група прийому №3",
        window_start=WHEN + timedelta(days=1),
        window_end=WHEN + timedelta(days=1, hours=2),
    )
    return dataclasses.replace(case, **changes)


def make_sheet(
    names: Sequence[str] = NAMES[:1],
    *,
    copy_number: int = 0,
    contacts: Sequence[ContactEntry] | None = None,
    **case_changes: object,
) -> HandoffSheet:
    case = make_case(names, **case_changes)
    if contacts is None:
        contacts = [
            ContactEntry(
                case.id,
                WHEN + timedelta(hours=hours),
                Channel.MESSENGER,
                "oper.kovalenko",
                stage,
                summary,
            )
            for hours, stage, summary in (
                (0, ContactStage.FIRST_CONTACT, "Хоче здатися разом із групою."),
                (20, ContactStage.CONFIRMATION, "Кодове слово підтверджено; група в лісосмузі."),
            )
        ]
    return HandoffSheet(
        site_id=SITE_ID,
        site_name="Пункт «Хочу жити» — Київ",
        serial="HS-000123",
        case=case,
        contacts=tuple(contacts),
        operator="oper.kovalenko",
        printed_by="mgr.shevchenko",
        printed_at=WHEN + timedelta(hours=22),
        copy_number=copy_number,
        audit_root="5d" * 32,
    )


@pytest.fixture(scope="module")
def site_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def write_pdf(pdf: bytes, folder: Path, name: str = "sheet.pdf") -> Path:
    path = folder / name
    path.write_bytes(pdf)
    return path


def pdf_text(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(
        ["pdftotext", *pages, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def flat(text: str) -> str:
    return " ".join(text.split())


def page_count(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    match = re.search(r"^Pages:\s+(\d+)", info.stdout, re.MULTILINE)
    assert match
    return int(match.group(1))


def pdf_fonts(path: Path) -> list[tuple[str, str]]:
    """(font name without subset tag, emb column) for every font in the PDF."""
    output = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    fonts = []
    for line in output.stdout.splitlines()[2:]:
        columns = line.split()
        name = columns[0].split("+", 1)[-1]
        embedded = columns[-5]  # emb sub uni object ID are the last five columns
        fonts.append((name, embedded))
    return fonts


def qr_codes_per_page(path: Path, dpi: int = 150) -> list[list[str]]:
    """Rasterise every page at ``dpi`` and decode its QR codes with zbarimg."""
    prefix = path.with_suffix("")
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(path), str(prefix)], check=True)
    decoded = []
    for image in sorted(path.parent.glob(f"{prefix.name}-*.png")):
        result = subprocess.run(
            ["zbarimg", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", str(image)],
            capture_output=True,
            text=True,
            check=False,
        )
        decoded.append(result.stdout.splitlines())
    return decoded


def test_digest_covers_what_the_sheet_vouches_for() -> None:
    sheet = make_sheet(NAMES[:3])
    digest = sheet_content_digest(sheet)
    assert len(digest) == 32
    assert digest == sheet_content_digest(make_sheet(NAMES[:3]))
    for changed in (
        make_sheet(NAMES[:3], meeting_point="інше місце"),
        make_sheet(NAMES[:3], receiving_unit="Група прийому №4"),
        make_sheet(NAMES[:3], window_end=WHEN + timedelta(days=1, hours=3)),
        make_sheet(NAMES[1:4]),
        dataclasses.replace(sheet, serial="HS-000124"),
    ):
        assert sheet_content_digest(changed) != digest


def test_a_reprint_carries_the_same_digest() -> None:
    sheet = make_sheet(NAMES[:3])
    reprint = dataclasses.replace(
        sheet, copy_number=2, printed_by="mgr.other", printed_at=WHEN + timedelta(days=3)
    )
    assert sheet_content_digest(reprint) == sheet_content_digest(sheet)


def test_render_returns_a_pdf_in_memory(site_key: Ed25519PrivateKey) -> None:
    pdf = render_handoff_sheet(make_sheet(), site_key)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")


def test_naive_print_time_is_refused(site_key: Ed25519PrivateKey) -> None:
    sheet = dataclasses.replace(make_sheet(), printed_at=datetime(2026, 3, 15, 7, 5))
    with pytest.raises(ValueError, match="timezone-aware"):
        render_handoff_sheet(sheet, site_key)


@needs("pdftotext")
@pytest.mark.parametrize(
    "names",
    [NAMES[:1], NAMES, (LONG_NAME, NAMES[1])],
    ids=["one person", "twelve persons", "200-character name"],
)
def test_text_holds_reference_names_and_transliterations(
    site_key: Ed25519PrivateKey, tmp_path: Path, names: Sequence[str]
) -> None:
    assert len(LONG_NAME) == 200
    path = write_pdf(render_handoff_sheet(make_sheet(names), site_key), tmp_path)
    text = flat(pdf_text(path))
    assert "K7M-4PQ-X" in text
    assert "HS-000123" in text
    for name in names:
        assert flat(name) in text
        assert flat(transliterate_uk(name)) in text


@needs("pdftotext")
def test_labels_are_bilingual_and_every_page_is_marked(
    site_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    path = write_pdf(render_handoff_sheet(make_sheet(NAMES, copy_number=3), site_key), tmp_path)
    whole = flat(pdf_text(path))
    for label in (
        "Пункт зустрічі / Meeting point",
        "Приймаючий підрозділ / Receiving unit",
        "Передав / Handed over by",
        "Прийняв / Received by",
        "Історія контактів",
        "Зареєстрував / Registered by",
        "Надрукував / Printed by",
        "Зупинка «Лісова»",
        "Група прийому №3",
    ):
        assert label in whole
    total = page_count(path)
    for page in range(1, total + 1):
        text = flat(pdf_text(path, page))
        assert f"Сторінка {page} з {total} / Page {page} of {total}" in text
        assert "КОНФІДЕНЦІЙНО / CONFIDENTIAL" in text
        assert "КОПІЯ 3 / COPY 3" in text
        assert "5d" * 32 in text  # the audit root


def test_watermark_names_the_printer_and_the_time() -> None:
    text = watermark_text(make_sheet())
    assert "mgr.shevchenko" in text
    assert make_sheet().printed_at.astimezone().strftime("%Y-%m-%d %H:%M") in text


@needs("pdftoppm")
def test_every_page_carries_the_light_watermark(
    site_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    # poppler cannot read diagonal text back in one piece, so look for the
    # watermark's flat grey in the rendered pages instead. Text alone leaves a
    # few hundred such pixels from anti-aliasing; the watermark, thousands.
    path = write_pdf(render_handoff_sheet(make_sheet(NAMES), site_key), tmp_path)
    subprocess.run(["pdftoppm", "-gray", "-r", "100", str(path), str(tmp_path / "p")], check=True)
    grey = round(WATERMARK_GREY * 255)
    pages = sorted(tmp_path.glob("p-*.pgm"))
    assert len(pages) == page_count(path)
    for image_path in pages:
        # Binary PGM: a three-line header ("P5", "width height", "255"), then one byte a pixel.
        pixels = image_path.read_bytes().split(b"\n", 3)[3]
        watermark_pixels = sum(pixels.count(bytes([value])) for value in (grey - 1, grey, grey + 1))
        assert watermark_pixels > 4000, image_path.name


@needs("pdftotext")
def test_an_original_is_not_marked_as_a_copy(site_key: Ed25519PrivateKey, tmp_path: Path) -> None:
    path = write_pdf(render_handoff_sheet(make_sheet(), site_key), tmp_path)
    assert "КОПІЯ" not in pdf_text(path)


@needs("pdffonts")
def test_every_font_is_embedded_and_none_is_base_14(
    site_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    path = write_pdf(render_handoff_sheet(make_sheet(NAMES), site_key), tmp_path)
    fonts = pdf_fonts(path)
    assert fonts
    assert all(embedded == "yes" for _, embedded in fonts), fonts
    assert not {name for name, _ in fonts} & BASE_14


@needs("pdfinfo")
def test_twelve_persons_flow_over_several_pages(
    site_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    path = write_pdf(render_handoff_sheet(make_sheet(NAMES), site_key), tmp_path)
    assert page_count(path) > 1


@needs("pdftoppm", "zbarimg")
@pytest.mark.parametrize("names", [NAMES[:1], NAMES], ids=["one person", "twelve persons"])
def test_qr_on_every_page_holds_a_token_that_verifies(
    site_key: Ed25519PrivateKey, tmp_path: Path, names: Sequence[str]
) -> None:
    sheet = make_sheet(names)
    path = write_pdf(render_handoff_sheet(sheet, site_key), tmp_path)
    expected = handoff_sheet_token(sheet, site_key)
    per_page = qr_codes_per_page(path)
    assert len(per_page) == page_count(path)
    for codes in per_page:
        assert codes == [expected]
    claims = verify_sheet_token(per_page[0][0], {SITE_ID: site_key.public_key()})
    assert (claims.case_id, claims.reference, claims.serial) == (
        sheet.case.id,
        "K7M-4PQ-X",
        "HS-000123",
    )
    assert claims.content_digest == sheet_content_digest(sheet)


@needs("pdftoppm", "zbarimg")
def test_the_qr_reads_from_a_coarse_print(tmp_path: Path) -> None:
    """A worn printer or a phone's camera at night sees far less than a crisp scan: each
    page's code must read at 72 dpi, whatever the token (each serial signs another)."""
    site_key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # the same codes each run
    for number in range(6):
        sheet = dataclasses.replace(make_sheet(NAMES), serial=f"HS-{number:06d}")
        path = write_pdf(render_handoff_sheet(sheet, site_key), tmp_path, f"s{number}.pdf")
        expected = handoff_sheet_token(sheet, site_key)
        assert qr_codes_per_page(path, dpi=72) == [[expected]] * page_count(path), number


@needs("pdftoppm", "zbarimg")
def test_scanned_token_altered_or_from_another_key_is_refused(
    site_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    path = write_pdf(render_handoff_sheet(make_sheet(), site_key), tmp_path)
    token = qr_codes_per_page(path)[0][0]
    trusted = {SITE_ID: site_key.public_key()}
    middle = len(token) // 2
    altered = token[:middle] + ("B" if token[middle] != "B" else "C") + token[middle + 1 :]
    with pytest.raises(SheetTokenError):
        verify_sheet_token(altered, trusted)
    with pytest.raises(SheetTokenError, match="unknown site"):
        verify_sheet_token(token, {"another-site": site_key.public_key()})
    other = Ed25519PrivateKey.generate()
    with pytest.raises(SheetTokenError, match="does not match"):
        verify_sheet_token(token, {SITE_ID: other.public_key()})


@needs("pdftotext")
def test_long_summaries_are_shortened_and_markup_is_printed_literally(
    site_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    summary = "Дуже довгий опис розмови. " * 80
    contacts = [
        ContactEntry("c", WHEN, Channel.PHONE, "oper", ContactStage.FIRST_CONTACT, summary),
        ContactEntry("c", WHEN, Channel.OTHER, "oper", ContactStage.FOLLOW_UP, "<b>A & B</b>"),
    ]
    path = write_pdf(render_handoff_sheet(make_sheet(contacts=contacts), site_key), tmp_path)
    text = flat(pdf_text(path))
    assert "<b>A & B</b>" in text
    assert text.count("Дуже довгий опис розмови.") < 10
    assert "…" in text


@needs("pdfinfo")
def test_huge_free_text_still_lays_out(site_key: Ed25519PrivateKey, tmp_path: Path) -> None:
    case = make_case(NAMES)
    unit = " ".join(f"підрозділ{number}" for number in range(180))[:2000]  # the most typed
    giant = dataclasses.replace(
        case.persons[0], notes="особлива прикмета " * 400, full_name="Я" * 200, unit=unit,
        rank=unit.replace("підрозділ", "звання"),
    )
    sheet = make_sheet(
        NAMES, persons=(giant, *case.persons[1:]), meeting_point="дуже довгий опис місця " * 60
    )
    path = write_pdf(render_handoff_sheet(sheet, site_key), tmp_path)
    assert page_count(path) >= 3
    words = set(pdf_text(path).split())
    assert set(unit.split()) <= words  # a unit taller than a page runs on, every word of it
    assert set(unit.replace("підрозділ", "звання").split()) <= words


@needs("pdftotext")
def test_a_case_without_contacts_says_so(site_key: Ed25519PrivateKey, tmp_path: Path) -> None:
    path = write_pdf(render_handoff_sheet(make_sheet(contacts=[]), site_key), tmp_path)
    assert "Записів немає / No entries" in pdf_text(path)


@needs("pdftotext")
@pytest.mark.parametrize("copy_number", [1, 10])
def test_the_copy_stamp_leaves_the_site_name_and_the_marking_readable(
    site_key: Ed25519PrivateKey, tmp_path: Path, copy_number: int
) -> None:
    from xml.etree import ElementTree

    sheet = dataclasses.replace(
        make_sheet(copy_number=copy_number),
        site_name="Пункт прийому звернень «Хочу жити» — Харківська обл., резервний",
    )
    path = write_pdf(render_handoff_sheet(sheet, site_key), tmp_path)
    layout = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"],
                            capture_output=True, text=True, check=True).stdout
    # The words of the header line: level, 8 to 12 points high (the watermark's are slanted).
    header = sorted(
        (float(word.get("xMin", 0)), float(word.get("xMax", 0)), word.text or "")
        # pdftotext's own output about a PDF this test made
        for word in ElementTree.fromstring(layout).iter(  # noqa: S314
            "{http://www.w3.org/1999/xhtml}word"
        )
        if float(word.get("yMin", 0)) < 30
        and 7.5 < float(word.get("yMax", 0)) - float(word.get("yMin", 0)) < 12.5
    )
    texts = [text for _x0, _x1, text in header]
    stamp = texts.index("КОПІЯ")
    assert texts[stamp:stamp + 5] == ["КОПІЯ", str(copy_number), "/", "COPY", str(copy_number)]
    assert texts[-3:] == ["КОНФІДЕНЦІЙНО", "/", "CONFIDENTIAL"]
    assert texts[0] == "Haven"
    assert texts[stamp - 1].endswith("…")  # the site's name gave way
    # Three separate runs of text, each clear of the next by the stamp's frame and more.
    clearance = 3 / 25.4 * 72
    assert header[stamp][0] - header[stamp - 1][1] > clearance
    assert header[-3][0] - header[stamp + 4][1] > clearance


@needs("pdftotext", "pdfinfo")
def test_long_features_break_between_rows_and_leave_no_page_half_empty(
    site_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    names = [f"Коваленко Андрій Миколайович {number}" for number in range(12)]
    features = ("Шрам над лівою бровою, татуювання на правому передпліччі. " * 40)[:2000]
    persons = tuple(
        dataclasses.replace(person, notes=features if index in (2, 6, 11) else person.notes,
                            rank="молодший сержант", unit="в/ч 12345, 3-й батальйон")
        for index, person in enumerate(make_case(names).persons)
    )
    sheet = dataclasses.replace(make_sheet(names, persons=persons),
                                site_name="Пункт прийому звернень «Хочу жити» — Харківська обл.")
    path = write_pdf(render_handoff_sheet(sheet, site_key), tmp_path)
    # Three pages hold it all; split rows made reportlab leave most of two pages blank.
    assert page_count(path) == 3
    for page in range(1, 4):
        text = flat(pdf_text(path, page))
        # The persons' header once at most: a second one mid-page read as a new table.
        assert text.count("Латиницею / Latin transliteration") <= 1


@needs("pdftotext", "pdfinfo")
def test_a_heading_stays_with_its_table_and_features_keep_their_lines(
    site_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    case = make_case(NAMES[:3])
    first = dataclasses.replace(case.persons[0], notes="Шрам на лівій руці\nКульгає")
    sheet = make_sheet(NAMES[:3], persons=(first, *case.persons[1:]))
    path = write_pdf(render_handoff_sheet(sheet, site_key), tmp_path)
    pages = [pdf_text(path, page) for page in range(1, page_count(path) + 1)]
    heading = [number for number, text in enumerate(pages) if "Contact history" in text]
    entry = [number for number, text in enumerate(pages) if "Хоче здатися" in text]
    assert heading == entry  # never a heading at the foot of a page, its rows on the next
    lines = [line.strip() for line in pages[0].splitlines()]
    assert "Кульгає" in lines  # the second line of the features, on a line of its own


@needs("pdftotext", "pdfinfo")
def test_a_person_and_his_features_share_a_page_when_they_fit_on_one(
    site_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    names = [f"Особа Номер {number}" for number in range(1, 36)]
    lines = "\n".join(f"Прикмета {line} особи" for line in range(90))  # more than a page
    persons = tuple(
        dataclasses.replace(
            person,
            notes=lines if index == 20
            else f"ознаки {index + 1} " + "шрам, татуювання " * (10 + 17 * (index % 6)),
        )
        for index, person in enumerate(make_case(names).persons)
    )
    path = write_pdf(render_handoff_sheet(make_sheet(names, persons=persons), site_key),
                     tmp_path)
    pages = [flat(pdf_text(path, page)) for page in range(1, page_count(path) + 1)]
    for number in range(1, 36):
        if number == 21:
            continue
        [features_page] = [i for i, text in enumerate(pages) if f"ознаки {number} " in text]
        assert f"Особа Номер {number} " in pages[features_page] + " ", number
    # Person 21's features are longer than a page: kept together they would fit nowhere,
    # so they run on over pages, every line of them.
    runs = [i for i, text in enumerate(pages) if "Прикмета" in text]
    assert len(runs) >= 2
    assert all(f"Прикмета {line} особи" in " ".join(pages) for line in range(90))


def test_the_digests_of_many_serials_are_those_of_each_sheet() -> None:
    import hashlib

    from desktop.handoff import _canonical_content, content_digests

    case = make_case(NAMES[:3])
    serials = ["K7-000001", "K7-000002", "K7-123456"]
    written = [hashlib.sha256(_canonical_content("site-1", serial, case).encode()).digest()
               for serial in serials]
    assert content_digests("site-1", serials, case) == written
    assert len(set(written)) == 3  # the serial is part of what a sheet vouches for


def test_the_coverage_file_is_what_the_fonts_print() -> None:
    """text_rules.printable reads the listing; it must be the fonts' own (regenerate it with
    desktop.handoff.sheet_coverage when the fonts change)."""
    listing = resources.files("resources").joinpath("fonts", "sheet-coverage.txt").read_text()
    assert listing == handoff.sheet_coverage()
    assert text_rules.printable("Петренко Ґанна Її, Ü ß «Б»\nрядовий\t№ 5")
    assert not text_rules.printable("Петренко 🏕")
    assert not text_rules.printable("\x1b")


@needs("pdftotext")
@pytest.mark.parametrize(
    ("changes", "warning"),
    [
        ({"flagged": True}, "POSSIBLE IMPOSTOR"),
        ({"window_start": WHEN - timedelta(hours=4), "window_end": WHEN - timedelta(hours=2)},
         "MEETING WINDOW HAS PASSED"),
        ({"status": Status.HANDED_OFF, "status_changed_at": WHEN + timedelta(hours=21)},
         "ALREADY HANDED OFF"),
    ],
    ids=["flagged", "window passed", "handed off"],
)
def test_what_makes_a_sheet_doubtful_is_said_on_its_first_page(
    site_key: Ed25519PrivateKey, tmp_path: Path, changes: dict[str, object], warning: str
) -> None:
    """A unit without Haven has only the paper: a case flagged for failed codeword checks, a
    window over before the sheet was printed, a group handed off already."""
    path = write_pdf(render_handoff_sheet(make_sheet(NAMES[:3], **changes), site_key), tmp_path)
    first = flat(pdf_text(path, 1))
    assert warning in first
    plain = write_pdf(render_handoff_sheet(make_sheet(NAMES[:3]), site_key), tmp_path, "p.pdf")
    assert warning not in flat(pdf_text(plain))


@needs("pdftotext")
@pytest.mark.parametrize(
    ("group_size", "listed", "expected"),
    [
        (3, 3, "3"),
        (None, 2, "2"),
        (5, 1, "5 — поіменно нижче 1, ще 4 без імені / 5 — 1 named below, 4 more not named"),
        (2, 3, "2 — але нижче названо 3: з'ясуйте з пунктом, кого чекати / 2 — but 3 are named"
               " below: ask the site whom to expect"),
    ],
)
def test_the_sheet_says_how_many_to_expect(
    site_key: Ed25519PrivateKey, tmp_path: Path, group_size: int | None, listed: int,
    expected: str,
) -> None:
    sheet = make_sheet(NAMES[:listed], group_size=group_size)
    path = write_pdf(render_handoff_sheet(sheet, site_key), tmp_path)
    layout = subprocess.run(["pdftotext", "-layout", "-nodiag", "-l", "1", str(path), "-"],
                            capture_output=True, text=True, check=True).stdout
    # The value's lines are those after the label, up to the next row's label.
    rows = layout.split("Кількість осіб у групі / Group size", 1)[1].split("Стан / Condition")[0]
    assert flat(rows) == expected


@needs("pdftotext")
def test_the_condition_keeps_its_lines(site_key: Ed25519PrivateKey, tmp_path: Path) -> None:
    condition = "Утомлені, голодні.\nОдин поранений у праву руку.\nДвоє без документів."
    path = write_pdf(render_handoff_sheet(make_sheet(condition=condition), site_key), tmp_path)
    layout = subprocess.run(["pdftotext", "-layout", "-nodiag", "-l", "1", str(path), "-"],
                            capture_output=True, text=True, check=True).stdout
    rows = layout.split("Стан / Condition", 1)[1].split("Пункт зустрічі / Meeting point")[0]
    assert [line.strip() for line in rows.strip().splitlines()] == condition.splitlines()


@needs("pdftotext")
def test_long_names_ranks_and_units_break_between_their_parts(
    site_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    """A double surname split inside a part ('Коцюбин' / 'ська') reads as two names."""
    name = ("Верхньодніпровська-Коцюбинська Олександра-Маргарита Святославівна-Володимирівна"
            " д'Артаньян-Пʼятигорська")
    rank = "старший солдат, командир відділення, навідник-оператор бойової машини піхоти"
    unit = "в/ч А4567, 2-га окрема штурмова рота 47-ї окремої механізованої бригади «Маґура»"
    person = dataclasses.replace(make_case(NAMES[:1]).persons[0], full_name=name, rank=rank,
                                 unit=unit)
    sheet = make_sheet(NAMES[:1], persons=(person,))
    path = write_pdf(render_handoff_sheet(sheet, site_key), tmp_path)
    # -raw: the layout modes join a line ending in a hyphen to the next, hyphen dropped.
    raw = subprocess.run(["pdftotext", "-raw", "-l", "1", str(path), "-"],
                         capture_output=True, text=True, check=True).stdout
    pieces = set(re.split(r"[\s-]+", raw))
    for text in (name, transliterate_uk(name), rank, unit):
        for part in re.split(r"[\s-]+", text):
            assert part in pieces, part


@needs("pdftotext")
def test_where_when_and_how_many_stand_out_from_the_rest(
    site_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    """By torchlight the unit looks for how many, where, when and who receives them first."""
    from xml.etree import ElementTree

    sheet = make_sheet(NAMES[:2], group_size=7, condition="втомлені")
    path = write_pdf(render_handoff_sheet(sheet, site_key), tmp_path)
    layout = subprocess.run(["pdftotext", "-bbox", "-nodiag", "-l", "1", str(path), "-"],
                            capture_output=True, text=True, check=True).stdout
    heights = {
        word.text: float(word.get("yMax", 0)) - float(word.get("yMin", 0))
        # pdftotext's own output about a PDF this test made
        for word in ElementTree.fromstring(layout).iter(  # noqa: S314
            "{http://www.w3.org/1999/xhtml}word"
        )
    }
    plain = heights["втомлені"]  # the condition, in the body's type
    for word in ("7", "«Лісова»,", "11:30", "№3"):  # the window ends at 11:30
        assert heights[word] > 1.15 * plain, word
