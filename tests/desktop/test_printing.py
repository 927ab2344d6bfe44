"""Printing handoff sheets through haven-admin: roles, readiness, register, copies, tokens."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from db.records import Role
from desktop.handoff import window_text
from desktop.session import Session
from desktop.sheet_token import make_sheet_token
from tests.conftest import FAST_KDF, PASSWORD, cli_runner

NEEDS_POPPLER = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)
NEEDS_ZBAR = pytest.mark.skipif(
    shutil.which("zbarimg") is None or shutil.which("pdftoppm") is None,
    reason="zbarimg (zbar-tools) or pdftoppm (poppler-utils) is not installed",
)

CASE = {
    "kind": "surrender",
    "channel": "messenger",
    "persons": [
        {"full_name": "Мельник Тарас Богданович", "birth_date": "1989-07-01"},
        {"full_name": "Волков Игорь"},
    ],
    "location": "Бєлгородська обл.",
}


@pytest.fixture(scope="module")
def arranged_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A site with a manager, an operator and one case whose handoff is arranged, made once
    for the module (through haven-admin, a dozen seconds); each test takes a copy."""
    folder = tmp_path_factory.mktemp("arranged")
    run_cli = cli_runner(folder)
    data = folder / "site"
    session, _ = Session.create_site(data, "Схід", "admin", PASSWORD, FAST_KDF)
    session.add_user("maria", Role.MANAGER, PASSWORD, FAST_KDF)
    session.add_user("oleh", Role.OPERATOR, PASSWORD, FAST_KDF)
    session.close()
    added = run_cli("case", "add", data=data, stdin=json.dumps(CASE))
    ref = added.stdout.strip()
    codeword = added.stderr.split("codeword:")[1].split("(")[0].strip()
    for to, fields in (
        ("confirmed", {"codeword": codeword, "location": "Суми", "group_size": 2}),
        (
            "handoff_arranged",
            {
                "meeting_point": "Пункт Б",
                "receiving_unit": "Група 2",
                "window_start": "2026-12-02T08:00+02:00",
                "window_end": "2026-12-02T10:00+02:00",
            },
        ),
    ):
        result = run_cli("case", "advance", ref, "--to", to, data=data, stdin=json.dumps(fields))
        assert result.returncode == 0, result.stderr
    return data, ref


@pytest.fixture
def arranged(arranged_once: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    """A copy of the arranged site of the module, for one test to change."""
    made, ref = arranged_once
    data = tmp_path / "site"
    shutil.copytree(made, data)
    return data, ref


def _text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


@NEEDS_POPPLER
def test_manager_prints_and_reprint_is_marked_copy(arranged, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, ref = arranged
    first = run_cli("handoff", ref, "-o", str(tmp_path / "a.pdf"), data=data, user="maria")
    assert first.returncode == 0, first.stderr
    assert "not encrypted" in first.stderr
    assert (tmp_path / "a.pdf").stat().st_mode & 0o077 == 0
    text = _text(tmp_path / "a.pdf")
    assert ref in text
    assert "Мельник Тарас Богданович" in text
    assert "Волков Игорь" in text
    assert "КОПІЯ" not in text
    second = run_cli("handoff", ref, "-o", str(tmp_path / "b.pdf"), data=data, user="maria")
    assert second.returncode == 0
    assert "copy 1" in second.stdout
    assert "КОПІЯ 1" in _text(tmp_path / "b.pdf")
    # Once the case changed, a sheet of it is no copy of those before: a new original.
    moved = run_cli("case", "advance", ref, "--to", "handoff_arranged", data=data, user="maria",
                    stdin=json.dumps({"meeting_point": "Пункт В", "receiving_unit": "Група 2",
                                      "window_start": "2026-12-03T08:00+02:00",
                                      "window_end": "2026-12-03T10:00+02:00"}))
    assert moved.returncode == 0, moved.stderr
    third = run_cli("handoff", ref, "-o", str(tmp_path / "c.pdf"), data=data, user="maria")
    assert third.returncode == 0, third.stderr
    assert "copy" not in third.stdout
    assert "КОПІЯ" not in _text(tmp_path / "c.pdf")
    fourth = run_cli("handoff", ref, "-o", str(tmp_path / "d.pdf"), data=data, user="maria")
    assert "copy 1" in fourth.stdout  # of the third, the one that shows the case as it is
    session = Session.open(data, "admin", PASSWORD)
    try:
        actions = [
            row[0]
            for row in session.vault.conn.execute(
                "SELECT action FROM audit_log WHERE action LIKE 'handoff_%' ORDER BY seq"
            )
        ]
        assert actions == ["handoff_printed", "handoff_reprinted", "handoff_printed",
                           "handoff_reprinted"]
    finally:
        session.close()


def test_operator_may_not_print(arranged, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, ref = arranged
    result = run_cli("handoff", ref, "-o", str(tmp_path / "x.pdf"), data=data, user="oleh")
    assert result.returncode == 3
    assert not (tmp_path / "x.pdf").exists()


def test_a_case_not_ready_gets_exit_4_and_no_file(arranged, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, _ = arranged
    ref = run_cli("case", "add", data=data, stdin=json.dumps(CASE)).stdout.strip()
    result = run_cli("handoff", ref, "-o", str(tmp_path / "x.pdf"), data=data, user="maria")
    assert result.returncode == 4
    assert "registered" in result.stderr
    assert not list(tmp_path.glob("*.pdf"))
    assert not list(tmp_path.glob(".*.tmp"))


@NEEDS_ZBAR
def test_the_printed_qr_verifies_and_an_altered_token_does_not(  # type: ignore[no-untyped-def]
    arranged, run_cli, tmp_path: Path
) -> None:
    data, ref = arranged
    pdf = tmp_path / "sheet.pdf"
    assert run_cli("handoff", ref, "-o", str(pdf), data=data, user="maria").returncode == 0
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    page = next(tmp_path.glob("page*.png"))
    token = subprocess.run(
        ["zbarimg", "--raw", "-q", str(page)], capture_output=True, text=True, check=True
    ).stdout.strip()
    good = run_cli("sheet", "verify", token, data=data, user="oleh")
    assert good.returncode == 0, good.stderr
    assert ref in good.stdout
    # When it was printed, as the paper says it (this workstation's time), to compare.
    layout = subprocess.run(["pdftotext", "-layout", "-nodiag", str(pdf), "-"],
                            capture_output=True, text=True, check=True).stdout
    printed = next(line for line in layout.splitlines() if "Printed by" in line)
    assert f"  printed {printed.split(' · ', 1)[1].strip()} by maria (original)\n" in good.stdout
    # What the paper must show, to compare it with: the sheet vouches for the case as it is.
    assert "the sheet vouches for the case as it stands; the paper must show:" in good.stdout
    assert "1. Мельник Тарас Богданович, 1989-07-01" in good.stdout
    assert "meeting point: Пункт Б" in good.stdout
    assert "receiving unit: Група 2" in good.stdout
    # The window as the paper prints it, in this workstation's time: not in UTC.
    start, end = (datetime.fromisoformat(f"2026-12-02T{at}+02:00") for at in ("08:00", "10:00"))
    assert f"window: {window_text(start, end)}" in good.stdout
    assert window_text(start, end) in _text(pdf).replace("\n", " ")
    moved = run_cli("case", "advance", ref, "--to", "handoff_arranged", data=data, user="maria",
                    stdin=json.dumps({"meeting_point": "Пункт В", "receiving_unit": "Група 2",
                                      "window_start": "2026-12-03T08:00+02:00",
                                      "window_end": "2026-12-03T10:00+02:00"}))
    assert moved.returncode == 0, moved.stderr
    later = run_cli("sheet", "verify", token, data=data, user="oleh")
    assert later.returncode == 4, later.stderr
    serial = good.stdout.splitlines()[1].rsplit(" ", 1)[1]
    verdict = (f"OUT OF DATE: sheet {serial} of site 'Схід' is genuine, but the case changed"
               " after it was printed: do not hand over by it; ")
    assert later.stderr == "haven-admin: " + verdict + "print a new one\n"  # one line
    assert "Пункт" not in later.stdout
    newer = run_cli("handoff", ref, "-o", str(tmp_path / "new.pdf"), data=data, user="maria")
    assert newer.returncode == 0, newer.stderr
    new_serial = newer.stdout.split()[2]
    again = run_cli("sheet", "verify", token, data=data, user="oleh")
    assert again.returncode == 4
    assert again.stderr == "haven-admin: " + verdict + f"the case's latest sheet is {new_serial}\n"
    position = len(token) // 2
    altered = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
    bad = run_cli("sheet", "verify", altered, data=data, user="oleh")
    assert bad.returncode == 4
    assert "refused" in bad.stderr


def _printed_token(data: Path, ref: str) -> str:
    """The token of a sheet printed now for the case, as its QR code holds it."""
    from desktop.handoff import content_digest
    from desktop.printing import print_handoff_sheet

    session = Session.open(data, "admin", PASSWORD)
    try:
        case_id = session.resolve(ref)
        serial = print_handoff_sheet(session, case_id).serial
        return make_sheet_token(
            site_id=session.site.site_id, case_id=case_id, reference=ref, serial=serial,
            content_digest=content_digest(session.site.site_id, serial,
                                          session.get_case(case_id, audit_view=False)),
            signing_key=session.vault.site_signing_key(),
        )
    finally:
        session.close()


@pytest.mark.parametrize(
    ("moves", "verdict"),
    [
        ([("withdrawn", {"reason": "підозра на провокацію"})],
         "WITHDRAWN: sheet {serial} of site 'Схід' is genuine, but the case was withdrawn on"
         " {when} (підозра на провокацію): do not hand over by it"),
        ([("duplicate", {"duplicate_of": "{other}"})],
         "DUPLICATE: sheet {serial} of site 'Схід' is genuine, but the case was marked on {when}"
         " a duplicate of {other}: do not hand over by it"),
        ([("handed_off", {"received_by": "капітан Петренко"})],
         "ALREADY HANDED OFF: sheet {serial} of site 'Схід' is genuine, but the group was"
         " handed off on {when}: the paper is spent: do not hand over by it"),
        ([("handed_off", {"received_by": "капітан Петренко"}),
          ("closed", {"outcome": "prisoner_exchange"})],
         "CLOSED: sheet {serial} of site 'Схід' is genuine, but the case was closed on {when}:"
         " do not hand over by it"),
    ],
    ids=["withdrawn", "duplicate", "handed off", "closed"],
)
def test_a_sheet_of_a_case_that_moved_on_is_not_to_hand_over_by(  # type: ignore[no-untyped-def]
    arranged, run_cli, moves: list[tuple[str, dict[str, str]]], verdict: str
) -> None:
    data, ref = arranged
    token = _printed_token(data, ref)
    other = run_cli("case", "add", data=data, stdin=json.dumps(CASE)).stdout.strip()
    for to, fields in moves:
        given = {name: value.format(other=other) for name, value in fields.items()}
        moved = run_cli("case", "advance", ref, "--to", to, data=data, stdin=json.dumps(given))
        assert moved.returncode == 0, moved.stderr
    session = Session.open(data, "admin", PASSWORD)
    try:
        changed = session.get_case(session.resolve(ref), audit_view=False).status_changed_at
    finally:
        session.close()
    assert changed is not None
    result = run_cli("sheet", "verify", token, data=data, user="oleh")
    assert result.returncode == 4
    serial = result.stdout.splitlines()[0].rsplit(" ", 1)[1]
    when = f"{changed.astimezone():%Y-%m-%d %H:%M}"
    expected = verdict.format(serial=serial, when=when, other=other)
    assert result.stderr == "haven-admin: " + expected + "\n"
    assert "Мельник" not in result.stdout  # nothing to compare a spent paper with


def test_a_token_from_another_site_is_foreign(arranged, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, ref = arranged
    other = tmp_path / "other"
    Session.create_site(other, "Інший", "admin", PASSWORD, FAST_KDF)[0].close()
    session = Session.open(data, "admin", PASSWORD)
    try:
        case = session.get_case(session.resolve(ref), audit_view=False)
        token = make_sheet_token(
            site_id=session.site.site_id,
            case_id=case.id,
            reference=case.ref,
            serial="XX-000001",
            content_digest=b"\0" * 32,
            signing_key=session.vault.site_signing_key(),
        )
    finally:
        session.close()
    result = run_cli("sheet", "verify", token, data=other)
    assert result.returncode == 4
    assert "refused" in result.stderr



def test_a_sheet_of_this_site_whose_case_is_not_in_the_vault_says_so(  # type: ignore[no-untyped-def]
    arranged, run_cli
) -> None:
    data, _ = arranged
    session = Session.open(data, "admin", PASSWORD)
    try:  # as after a restore from a backup older than the sheet
        token = make_sheet_token(
            site_id=session.site.site_id, case_id="0" * 32, reference="XX-000-000-0",
            serial="XX-000009", content_digest=b"\0" * 32,
            signing_key=session.vault.site_signing_key(),
        )
    finally:
        session.close()
    result = run_cli("sheet", "verify", token, data=data)
    assert (result.returncode, result.stderr) == (4, (
        "haven-admin: the sheet token is genuine and was printed here, but its case is not in"
        " this vault (restored from a backup older than the sheet?)\n"))


def test_a_sheet_printed_at_a_peer_is_checked_here_until_the_peer_is_revoked(  # type: ignore[no-untyped-def]
    arranged, run_cli, tmp_path: Path
) -> None:
    from desktop.handoff import content_digest
    from desktop.printing import print_handoff_sheet
    from desktop.transfer.service import TransferService

    data, ref = arranged
    east = Session.open(data, "admin", PASSWORD)
    west, _ = Session.create_site(tmp_path / "west", "Захід", "admin", PASSWORD, FAST_KDF)
    try:
        east_service, west_service = TransferService(east), TransferService(west)
        mine, theirs = east_service.site_identity(), west_service.site_identity()
        east_service.add_peer("west", theirs.signing_key, theirs.age_recipient, theirs.fingerprint)
        west_service.add_peer("Схід-пункт", mine.signing_key, mine.age_recipient,
                              mine.fingerprint)
        case_id = east.resolve(ref)
        serial = print_handoff_sheet(east, case_id).serial
        token = make_sheet_token(
            site_id=east.site.site_id, case_id=case_id, reference=ref, serial=serial,
            content_digest=content_digest(east.site.site_id, serial, east.get_case(case_id)),
            signing_key=east.vault.site_signing_key(),
        )
        before_transfer = run_cli("sheet", "verify", token, data=tmp_path / "west")
        assert before_transfer.returncode == 4
        assert before_transfer.stderr == (
            "haven-admin: the sheet token is genuine, signed by site 'Схід-пункт', but its case"
            " is not held here (no transfer file brought it yet): check the sheet there\n"
        )
        carried = tmp_path / "east-west.haven"
        east_service.export(["west"], carried, full=True)
        west_service.import_file(carried)
        checked = run_cli("sheet", "verify", token, data=tmp_path / "west")
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.startswith(
            f"valid handoff sheet token signed by site 'Схід-пункт' ({east.site.site_id})"
        )
        assert "the sheet vouches for the case as it stands" in checked.stdout
        assert "printed" not in checked.stdout  # the print register is the peer's
        west_service.revoke_peer("Схід-пункт")
        revoked = run_cli("sheet", "verify", token, data=tmp_path / "west")
        assert (revoked.returncode, revoked.stderr) == (4, (
            "haven-admin: sheet token refused: it names site 'Схід-пункт', whose keys were"
            " revoked here, so whoever holds them could have made it\n"))
    finally:
        east.close()
        west.close()


@NEEDS_POPPLER
def test_the_sheet_prints_the_root_of_the_whole_audit_log(arranged, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from db import audit, merkle
    from desktop.printing import print_handoff_sheet

    data, ref = arranged
    session = Session.open(data, "maria", PASSWORD)
    try:
        with session.vault.transaction() as conn:
            for number in range(600):  # a log longer than two stored blocks
                audit.append(conn, "maria", "case_viewed", detail=f"view {number}")
            expected = merkle.root(audit.leaf_hashes(conn)).hex()
        case_id = session.search(ref)[0].id
        printed = [print_handoff_sheet(session, case_id) for _ in range(2)]
        with session.vault.reading() as conn:
            # The second sheet's root covers the first print's entry as well.
            second = merkle.root(audit.leaf_hashes(conn)[:-1]).hex()
    finally:
        session.close()
    texts = []
    for number, sheet in enumerate(printed):
        pdf = tmp_path / f"{number}.pdf"
        pdf.write_bytes(sheet.pdf)
        texts.append(_text(pdf))
    assert expected in texts[0]
    assert second != expected
    assert second in texts[1]


def test_a_sheet_is_not_written_over_a_file_and_is_not_registered(  # type: ignore[no-untyped-def]
    arranged, run_cli, tmp_path: Path
) -> None:
    data, ref = arranged
    target = data / "haven.db"
    result = run_cli("handoff", ref, "-o", str(target), data=data, user="maria")
    assert result.returncode == 4
    assert result.stderr == f"haven-admin: {target} exists; choose a new file name\n"
    session = Session.open(data, "admin", PASSWORD)  # the vault is whole
    try:
        conn = session.vault.conn
        assert conn.execute("SELECT count(*) FROM print_register").fetchone()[0] == 0
        assert conn.execute(
            "SELECT count(*) FROM audit_log WHERE action LIKE 'handoff_%'"
        ).fetchone()[0] == 0
    finally:
        session.close()


def test_a_sheet_that_could_not_be_written_is_not_registered(  # type: ignore[no-untyped-def]
    arranged, run_cli, tmp_path: Path
) -> None:
    data, ref = arranged
    folder = tmp_path / "a folder"
    folder.mkdir()
    missing = tmp_path / "missing" / "sheet.pdf"
    for target, message in (
        (missing, f"the folder {missing.parent} does not exist"),
        (folder, f"{folder} exists; choose a new file name"),
    ):
        failed = run_cli("handoff", ref, "-o", str(target), data=data, user="maria")
        assert failed.returncode == 4
        assert failed.stderr == f"haven-admin: {message}\n"
    _assert_one_original(run_cli, data, ref, tmp_path / "sheet.pdf")


def test_a_sheet_that_did_not_fit_on_its_medium_is_not_registered(  # type: ignore[no-untyped-def]
    arranged, run_cli, tmp_path: Path, small_disk
) -> None:
    data, ref = arranged
    filler = small_disk.fill()
    target = small_disk.path / "sheet.pdf"
    failed = run_cli("handoff", ref, "-o", str(target), data=data, user="maria")
    assert failed.returncode == 1
    assert failed.stderr == (
        f"haven-admin: cannot write {target}: No space left on device; nothing was written\n"
    )
    assert not target.exists()
    filler.unlink()
    _assert_one_original(run_cli, data, ref, target)


def _assert_one_original(run_cli, data: Path, ref: str, target: Path) -> None:  # type: ignore[no-untyped-def]
    """A good print now is the sheet's original, and the only one registered."""
    good = run_cli("handoff", ref, "-o", str(target), data=data, user="maria")
    assert good.returncode == 0, good.stderr
    assert "copy" not in good.stdout
    session = Session.open(data, "admin", PASSWORD)
    try:
        conn = session.vault.conn
        assert conn.execute("SELECT copy_number FROM print_register").fetchall() == [(0,)]
        actions = conn.execute(
            "SELECT action FROM audit_log WHERE action LIKE 'handoff_%'"
        ).fetchall()
        assert actions == [("handoff_printed",)]
    finally:
        session.close()


@NEEDS_POPPLER
@NEEDS_ZBAR
def test_a_preview_is_marked_unsigned_and_registers_nothing(arranged, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from desktop.printing import preview_handoff_sheet, print_handoff_sheet

    data, ref = arranged
    session = Session.open(data, "maria", PASSWORD)
    try:
        case_id = session.search(ref)[0].id
        with session.vault.reading() as conn:
            log_before = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        draft = preview_handoff_sheet(session, case_id)
        with session.vault.reading() as conn:
            assert conn.execute("SELECT count(*) FROM print_register").fetchone()[0] == 0
            assert conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] == log_before
        printed = print_handoff_sheet(session, case_id)
        again = preview_handoff_sheet(session, case_id)
    finally:
        session.close()
    assert (draft.serial, draft.copy_number) == ("", 0)
    assert printed.copy_number == 0
    assert printed.serial
    assert (again.serial, again.copy_number) == ("", 1)  # what printing would give now
    for name, sheet in (("draft", draft), ("printed", printed), ("again", again)):
        (tmp_path / f"{name}.pdf").write_bytes(sheet.pdf)
    text = _text(tmp_path / "draft.pdf")
    assert "Мельник Тарас Богданович" in text
    assert "ПЕРЕГЛЯД / PREVIEW" in text  # the stamp at the head of every page
    assert "QR code and serial" in text
    assert "COPY 1" in _text(tmp_path / "again.pdf")
    assert "PREVIEW" not in _text(tmp_path / "printed.pdf")
    # A preview carries no code that `sheet verify` would take; the printed sheet does.
    codes = {}
    for name in ("draft", "printed"):
        subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1",
                        str(tmp_path / f"{name}.pdf"), str(tmp_path / name)], check=True)
        pages = map(str, tmp_path.glob(f"{name}-*.png"))
        scan = subprocess.run(["zbarimg", "--quiet", "--raw", *pages],
                              capture_output=True, text=True)
        codes[name] = scan.stdout.strip()
    assert codes["draft"] == ""
    assert codes["printed"]


def _register_and_log(data: Path) -> tuple[list[int], list[str]]:
    session = Session.open(data, "admin", PASSWORD)
    try:
        conn = session.vault.conn
        copies = [row[0] for row in conn.execute("SELECT copy_number FROM print_register")]
        actions = [row[0] for row in conn.execute(
            "SELECT action FROM audit_log WHERE action LIKE 'handoff_%' ORDER BY seq"
        )]
    finally:
        session.close()
    return copies, actions


@pytest.mark.parametrize(
    ("attribute", "when", "registered"),
    [("stage_file", "after", []), ("publish", "before", [0])],
    ids=["before its commit", "after its commit"],
)
def test_a_killed_print_leaves_no_sheet_the_register_lacks(  # type: ignore[no-untyped-def]
    arranged, run_cli, tmp_path: Path, attribute: str, when: str, registered: list[int]
) -> None:
    from tests.killed import kill_at

    data, ref = arranged
    stick = tmp_path / "stick"
    stick.mkdir()
    kill_at("desktop.printing", attribute, when, data, "handoff", ref, "-o",
            str(stick / "sheet.pdf"), user="maria")
    # The sheet was written whole, but hidden: nothing that looks like a finished sheet.
    assert [path.name.startswith(".sheet.pdf.") for path in stick.iterdir()] == [True]
    assert _register_and_log(data)[0] == registered
    printed = run_cli("handoff", ref, "-o", str(stick / "next.pdf"), data=data, user="maria")
    assert printed.returncode == 0, printed.stderr
    assert ("(copy 1)" in printed.stdout) == bool(registered)
    # The next sheet written into that folder took away the hidden one, with its plaintext.
    assert [path.name for path in stick.iterdir()] == ["next.pdf"]
    copies, actions = _register_and_log(data)
    assert copies == [*registered, len(registered)]
    assert len(actions) == len(copies)


@NEEDS_POPPLER
def test_the_audit_root_on_a_sheet_is_checked_against_the_log(  # type: ignore[no-untyped-def]
    arranged, run_cli, tmp_path: Path
) -> None:
    import re

    data, ref = arranged
    sheet = tmp_path / "a.pdf"
    assert run_cli("handoff", ref, "-o", str(sheet), data=data, user="maria").returncode == 0
    text = " ".join(_text(sheet).split())
    found = re.search(r"Audit log root after ([\d,]+) entries: ([0-9a-f]{64})", text)
    assert found, text[-400:]
    size, printed_root = found.group(1).replace(",", ""), found.group(2)
    assert f"haven-admin audit verify --root-at {size}" in text
    # Later, with more entries in the log, its first entries still give that root.
    run_cli("case", "list", data=data)
    check = run_cli("audit", "verify", "--root-at", size, data=data)
    assert check.returncode == 0, check.stderr
    assert f"root after {size} entries: {printed_root}" in check.stdout
    other = run_cli("audit", "verify", "--root-at", str(int(size) - 1), data=data)
    assert printed_root not in other.stdout
    beyond = run_cli("audit", "verify", "--root-at", "100000", data=data)
    assert beyond.returncode == 4
    assert "holds" in beyond.stderr
    for wrong in ("0", "-5", "1_0", "٣"):
        assert run_cli("audit", "verify", "--root-at", wrong, data=data).returncode == 2


def test_a_sheet_of_a_flagged_case_verifies_with_a_warning(arranged, run_cli) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC

    from db import cases
    from db.records import CodewordAttempt

    data, ref = arranged
    token = _printed_token(data, ref)
    session = Session.open(data, "admin", PASSWORD)
    try:
        case_id = session.resolve(ref)
        with session.vault.transaction() as conn:
            for _ in range(3):  # someone calling in the caller's name failed the check
                cases.record_codeword_attempt(
                    conn, CodewordAttempt(case_id, datetime.now(UTC), "oleh", False), 3)
        assert session.get_case(case_id, audit_view=False).flagged
    finally:
        session.close()
    result = run_cli("sheet", "verify", token, data=data, user="oleh")
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "haven-admin: this case is flagged: someone failed its codeword check in the caller's"
        " name; make sure of who hands over\n")
    assert "the sheet vouches for the case as it stands" in result.stdout


@NEEDS_POPPLER
def test_a_flagged_case_is_flagged_on_its_sheet(arranged, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, ref = arranged
    session = Session.open(data, "admin", PASSWORD)
    try:
        case_id = session.resolve(ref)
        for _ in range(3):  # someone calling in the caller's name fails the check
            assert not session.verify_codeword(case_id, "not the codeword").matched
    finally:
        session.close()
    result = run_cli("handoff", ref, "-o", str(tmp_path / "s.pdf"), data=data, user="maria")
    assert result.returncode == 0, result.stderr
    assert "warning: POSSIBLE IMPOSTOR: Someone failed this case's codeword check" in result.stderr
    first_page = subprocess.run(["pdftotext", "-l", "1", str(tmp_path / "s.pdf"), "-"],
                                capture_output=True, text=True, check=True).stdout
    assert "МОЖЛИВИЙ САМОЗВАНЕЦЬ / POSSIBLE IMPOSTOR" in first_page


@NEEDS_POPPLER
def test_a_copy_names_its_original_and_a_new_original_the_sheets_it_voids(  # type: ignore[no-untyped-def]
    arranged, run_cli, tmp_path: Path
) -> None:
    """A unit holding two sheets of one case tells from the paper alone which to go by."""
    data, ref = arranged

    def printed(name: str) -> tuple[str, str]:
        result = run_cli("handoff", ref, "-o", str(tmp_path / name), data=data, user="maria")
        assert result.returncode == 0, result.stderr
        return result.stdout.split()[2], " ".join(_text(tmp_path / name).split())

    first, first_text = printed("a.pdf")
    second, copy_text = printed("b.pdf")
    assert "Копія акта / Copy of sheet" not in first_text
    assert f"Копія акта / Copy of sheet {first}" in copy_text
    assert "Замінює / Replaces" not in first_text + copy_text
    moved = run_cli("case", "advance", ref, "--to", "handoff_arranged", data=data, user="maria",
                    stdin=json.dumps({"meeting_point": "Пункт В", "receiving_unit": "Група 2",
                                      "window_start": "2026-12-03T08:00+02:00",
                                      "window_end": "2026-12-03T10:00+02:00"}))
    assert moved.returncode == 0, moved.stderr
    third, third_text = printed("c.pdf")
    assert "Копія акта / Copy of sheet" not in third_text
    voided = "Замінює / Replaces: {} і всі попередні з іншими даними, вони недійсні / and every" \
             " earlier sheet with other details, which are void"
    _, fourth_text = printed("d.pdf")
    assert voided.format(second) in third_text
    assert f"Копія акта / Copy of sheet {third}" in fourth_text
    assert voided.format(second) in fourth_text
