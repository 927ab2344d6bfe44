"""Printing handoff sheets: the print register, reprints as copies, and token checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from db import audit, audit_tree, peers, printing
from db.records import Case, Status
from db.vault import now_utc
from desktop.errors import InputRejected, NotFound
from desktop.files import parts_removed_on_failure, publish, stage_file
from desktop.handoff import (
    HandoffSheet,
    content_digest,
    content_digests,
    render_handoff_sheet,
    sheet_content_digest,
    sheet_warnings,
)
from desktop.permissions import Action, require
from desktop.session import Session
from desktop.sheet_token import SheetClaims, SheetTokenError, UnknownSigner, verify_sheet_token
from desktop.transfer.sshsig import parse_public_key

PRINTABLE = frozenset({Status.HANDOFF_ARRANGED, Status.HANDED_OFF})
# The field groups a sheet prints: while two sites disagree on one, the paper would take a
# side no manager chose (the newest edit), and the group could go to the wrong place.
ON_THE_SHEET = ("confirmation", "arrangement", "status")


@dataclass(frozen=True, slots=True)
class PrintedSheet:
    pdf: bytes
    serial: str
    copy_number: int  # 0 for the original, n for the nth reprint
    warnings: tuple[str, ...] = ()  # what the first page warns of, in English


def format_serial(prefix: str, number: int) -> str:
    return f"{prefix}-{number:06d}"


def _sheet_of(session: Session, case_id: str) -> HandoffSheet:
    """The sheet of a case whose handoff is arranged, printed by this user now, as a draft;
    printing gives it its serial, copy number and audit root (``dataclasses.replace``)."""
    require(session.role, Action.PRINT_HANDOFF)
    case = session.get_case(case_id, audit_view=False)
    if case.status not in PRINTABLE:
        raise InputRejected(
            f"case {case.ref} is '{case.status.value}': a handoff sheet is printed once the"
            " handoff is arranged"
        )
    disputed = [g for g in session.conflicted_groups(case_id) if g in ON_THE_SHEET]
    if disputed:
        raise InputRejected(
            f"case {case.ref} was changed at two sites without either seeing the other"
            f" ({', '.join(disputed)}): a manager keeps one version first (haven-admin"
            " conflict list), then the sheet is printed"
        )
    return HandoffSheet(
        site_id=session.site.site_id,
        site_name=session.site.name,
        serial="",
        case=case,
        contacts=tuple(session.contacts(case_id)),
        operator=case.created_by,
        printed_by=session.user.name,
        printed_at=now_utc(),
        copy_number=0,
        audit_root="",
        draft=True,
    )


def _among_earlier_sheets(conn: Any, session: Session, sheet: HandoffSheet) -> HandoffSheet:
    """The sheet with how it stands to the sheets of its case printed here before.

    Its copy number is 0 when it shows the case as no earlier sheet showed it (an original),
    else n for the nth copy of what it shows: a sheet printed before the case changed is no
    original of this one. A copy names the original it repeats; any sheet names the newest
    earlier one that shows other details, which it makes void.
    """
    site = session.site
    records = printing.prints_for(conn, sheet.case.id)
    serials = [format_serial(site.ref_prefix, record.serial_number) for record in records]
    digests = content_digests(site.site_id, serials, sheet.case)
    originals: list[str] = []
    others: list[str] = []
    for serial, record, digest in zip(serials, records, digests, strict=True):
        (originals if record.content_digest == digest else others).append(serial)
    return replace(sheet, copy_number=len(originals), copy_of=originals[0] if originals else "",
                   replaces=others[-1] if others else "")


def preview_handoff_sheet(session: Session, case_id: str) -> PrintedSheet:
    """The sheet as printing it now would make it, marked as a preview; nothing recorded.

    It has no serial and no QR code: those come with the register entry that printing or
    saving makes (``print_handoff_sheet``). Its copy number is the one that would be given.
    """
    draft = _sheet_of(session, case_id)
    with session.vault.reading() as conn:
        sheet = _among_earlier_sheets(conn, session, draft)
    return PrintedSheet(pdf=render_handoff_sheet(sheet, None), serial="",
                        copy_number=sheet.copy_number)


def print_handoff_sheet(
    session: Session, case_id: str, save: Callable[[PrintedSheet], object] | None = None
) -> PrintedSheet:
    """Render the sheet and enter it in the print register, in one transaction.

    ``save`` writes or prints the sheet before that transaction commits: a sheet it could
    not put out is not registered, so the next one is not taken for a copy of it.
    """
    draft = _sheet_of(session, case_id)
    signing_key = session.vault.site_signing_key()
    with session.vault.transaction() as conn:
        draft = _among_earlier_sheets(conn, session, draft)
        copy_number = draft.copy_number
        printed_at = now_utc()
        number = printing.register_print(
            conn, case_id, copy_number, printed_at, session.user.name, b""
        )
        tree = audit_tree.local_tree(conn, store=True)
        sheet = replace(
            draft,
            serial=format_serial(session.site.ref_prefix, number),
            printed_at=printed_at,
            audit_root=tree.root().hex(),
            audit_size=tree.size,
            draft=False,
        )
        printing.set_digest(conn, number, sheet_content_digest(sheet))
        printed = PrintedSheet(
            pdf=render_handoff_sheet(sheet, signing_key), serial=sheet.serial,
            copy_number=copy_number,
            warnings=tuple(f"{warning.title[1]}: {warning.english}"
                           for warning in sheet_warnings(sheet)),
        )
        action = "handoff_reprinted" if copy_number else "handoff_printed"
        audit.append(conn, session.user.name, action, case_id, sheet.serial)
        if save is not None:
            save(printed)
    return printed


# Enters a sheet in the print register and puts it out (prints or saves it) within that
# step, with what it is given; a failure to put it out leaves nothing registered.
Register = Callable[[Callable[[PrintedSheet], object]], PrintedSheet]


def write_registered(register: Register, target: Path) -> PrintedSheet:
    """Register a sheet (``register``, see print_handoff_sheet) and write it to ``target``.

    The file (mode 0600) is written hidden beside ``target`` while the register entry is
    made, and put in place once that entry is committed: a sheet that looks finished is
    always listed.
    """
    with parts_removed_on_failure() as staged:
        printed = register(
            lambda sheet: staged.append(stage_file(target, lambda out: out.write(sheet.pdf)))
        )
        publish(staged[0], target)
    return printed


def print_sheet_to_file(session: Session, case_id: str, target: Path) -> PrintedSheet:
    """Register the case's sheet and write it to ``target`` (see write_registered)."""
    return write_registered(lambda put_out: print_handoff_sheet(session, case_id, put_out), target)


@dataclass(frozen=True, slots=True)
class SheetCheck:
    claims: SheetClaims
    site_name: str
    registered: printing.PrintRecord | None  # this site's register entry, when it is ours
    case: Case
    # Whether the sheet vouches for the case as it stands: then what the paper shows can be
    # compared with it line by line; else the case changed after the sheet was printed.
    current: bool
    latest_serial: str | None = None  # this site's newest sheet of the case, if any


def _signers(
    session: Session,
) -> tuple[dict[str, Ed25519PublicKey], dict[str, str], dict[str, str]]:
    """The keys a sheet may be signed with, by site id: this site's and its unrevoked
    peers' (a receiving unit may bring a sheet printed at another site); their names; and
    the names of revoked peers."""
    keys: dict[str, Ed25519PublicKey] = {
        session.site.site_id: session.vault.site_signing_key().public_key()
    }
    names = {session.site.site_id: session.site.name}
    revoked: dict[str, str] = {}
    with session.vault.reading() as conn:
        for peer in peers.list_peers(conn):
            if peer.revoked:
                revoked[peer.site_id] = peer.name
            else:
                keys[peer.site_id] = parse_public_key(peer.signing_key)
                names[peer.site_id] = peer.name
    return keys, names, revoked


def check_sheet_token(session: Session, token: str) -> SheetCheck:
    """Verify a scanned token against this site's key or an unrevoked peer's."""
    keys, names, revoked = _signers(session)
    try:
        claims = verify_sheet_token(token.strip(), keys)
    except UnknownSigner as exc:
        if exc.site_id in revoked:
            raise InputRejected(
                f"sheet token refused: it names site '{revoked[exc.site_id]}', whose keys were"
                " revoked here, so whoever holds them could have made it"
            ) from None
        raise InputRejected(f"sheet token refused: {exc}") from None
    except SheetTokenError as exc:
        raise InputRejected(f"sheet token refused: {exc}") from None
    ours = claims.site_id == session.site.site_id
    try:
        case = session.get_case(claims.case_id, audit_view=False)
    except NotFound:
        if ours:
            raise InputRejected(
                "the sheet token is genuine and was printed here, but its case is not in this"
                " vault (restored from a backup older than the sheet?)"
            ) from None
        raise InputRejected(
            f"the sheet token is genuine, signed by site '{names[claims.site_id]}', but its case"
            " is not held here (no transfer file brought it yet): check the sheet there"
        ) from None
    record = None
    printed: list[printing.PrintRecord] = []
    if ours:  # only this site's sheets are in its print register
        with session.vault.reading() as conn:
            record = printing.find_print(
                conn, claims.case_id, claims.serial, session.site.ref_prefix
            )
            printed = printing.prints_for(conn, claims.case_id)
    if record is not None and record.content_digest != claims.content_digest:
        raise InputRejected("sheet token refused: it does not match the sheet this site printed")
    current = content_digest(claims.site_id, claims.serial, case) == claims.content_digest
    with session.vault.transaction() as conn:
        audit.append(conn, session.user.name, "sheet_verified", claims.case_id, claims.serial)
    latest = (
        format_serial(session.site.ref_prefix, printed[-1].serial_number) if printed else None
    )
    return SheetCheck(claims=replace(claims), site_name=names[claims.site_id], registered=record,
                      case=case, current=current, latest_serial=latest)
