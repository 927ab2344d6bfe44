"""Real sites for transfer tests: vaults in temp folders, paired as peers, and digests of them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from db import audit, cases, oplog
from db.records import CaseKind, Channel, Mobilization, NewCase, Person, Status
from db.vault import now_utc
from desktop import cli
from desktop.session import PreparedCodeword, Session
from desktop.transfer.service import TransferService
from tests.conftest import FAST_KDF, PASSWORD

# scrypt per codeword would dominate the tests; one prepared codeword serves every case.
_CODEWORD: list[PreparedCodeword] = []


def codeword() -> PreparedCodeword:
    if not _CODEWORD:
        _CODEWORD.append(Session.prepare_codeword())
    return _CODEWORD[0]


@dataclass
class HavenSite:
    name: str
    data: Path
    session: Session
    service: TransferService = field(init=False)

    def __post_init__(self) -> None:
        self.service = TransferService(self.session)

    @property
    def site_id(self) -> str:
        return self.session.site.site_id

    def close(self) -> None:
        self.session.close()


def make_site(folder: Path, name: str) -> HavenSite:
    session, _ = Session.create_site(folder / name, f"Site {name}", "admin", PASSWORD, FAST_KDF)
    return HavenSite(name, folder / name, session)


def pair(first: HavenSite, second: HavenSite) -> None:
    """Make each site a peer of the other, fingerprints confirmed."""
    for one, other in ((first, second), (second, first)):
        keys = other.service.site_identity()
        one.service.add_peer(other.name, keys.signing_key, keys.age_recipient, keys.fingerprint)


def make_sites(folder: Path, names: str) -> list[HavenSite]:
    sites = [make_site(folder, name) for name in names]
    for index, first in enumerate(sites):
        for second in sites[index + 1 :]:
            pair(first, second)
    return sites


def new_case(site: HavenSite, name: str = "Іваненко Петро", phone: str | None = None) -> str:
    """Register a case at a site; returns its id."""
    result = site.session.register_case(
        NewCase(
            kind=CaseKind.SURRENDER,
            channel=Channel.PHONE,
            persons=(Person(full_name=name, birth_date="1990-01-02", phone=phone,
                            mobilization=Mobilization.MOBILIZED),),
            location="Херсонська обл.",
        ),
        codeword(),
    )
    return result.case_id


def edited_everywhere(sites: list[HavenSite], places: list[str], folder: Path) -> str:
    """A case registered at the first site and copied to the others; then each site moves it
    to its own place without seeing the others, and the first site imports every other's
    edit: one conflict there with a version per site. Returns the case id."""
    first, others = sites[0], sites[1:]
    case_id = new_case(first, "Спірний Випадок")
    numbers = count()

    def carry(sender: HavenSite, recipient: HavenSite) -> None:
        path = folder / f"{sender.name}-{recipient.name}-{next(numbers)}.haven"
        sender.service.export([recipient.name], path, full=False)
        recipient.service.import_file(path)

    for other in others:
        carry(first, other)
    later = now_utc() + timedelta(seconds=1)
    for site, place in zip(sites, places, strict=True):
        with site.session.vault.transaction() as conn:
            cases.update_fields(conn, case_id, {"location": place}, later, by="operator")
    for other in others:
        carry(other, first)
    return case_id


def _arrangement(place: str, unit: str) -> dict[str, object]:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    return {"meeting_point": place, "receiving_unit": unit,
            "window_start": start, "window_end": start + timedelta(hours=1)}


def carry_file(sender: HavenSite, recipient: HavenSite, path: Path) -> None:
    sender.service.export([recipient.name], path, full=False)
    recipient.service.import_file(path)


def rearranged_at_both(north: HavenSite, south: HavenSite, folder: Path) -> str:
    """A case arranged at North and carried to South; then each site moves the meeting
    without seeing the other's move, and North imports South's. Returns the case id."""
    session = north.session
    result = session.register_case(NewCase(CaseKind.SURRENDER, Channel.PHONE,
                                           (Person(full_name="Кравченко Ігор"),)))
    session.advance(result.case_id, Status.CONFIRMED,
                    {"codeword": result.codeword, "location": "Суми", "group_size": 1})
    session.advance(result.case_id, Status.HANDOFF_ARRANGED,
                    _arrangement("Checkpoint 7", "Border guards 12"))
    carry_file(north, south, folder / "north-1.haven")
    session.advance(result.case_id, Status.HANDOFF_ARRANGED,
                    _arrangement("Old bus station", "Border guards 12"))
    south.session.advance(result.case_id, Status.HANDOFF_ARRANGED,
                          _arrangement("Railway bridge", "South brigade"))
    carry_file(south, north, folder / "south-1.haven")
    return result.case_id


def rewrite_audit_entry(site: HavenSite, seq: int = 2) -> None:
    """Change the detail of an old entry of the site's own audit log, recomputing its hash so
    its own chain looks fine: its history rewritten, which its checkpoints then show."""
    with site.session.vault.transaction() as conn:
        at, actor, action, case_id = conn.execute(
            "SELECT at, actor, action, case_id FROM audit_log WHERE seq = ?", (seq,)
        ).fetchone()
        leaf = audit.leaf_hash(audit.canonical_entry(seq, at, actor, action, case_id, "edited"))
        conn.execute("UPDATE audit_log SET detail = 'edited', leaf_hash = ? WHERE seq = ?",
                     (leaf, seq))


def vault_digest(site: HavenSite) -> str:
    """SHA-256 over every row of every table but the audit log (which records logins)."""
    digest = hashlib.sha256()
    with site.session.vault.reading() as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' AND name != 'audit_log'"
                " AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"
            )
        ]
        for table in tables:
            digest.update(table.encode())
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1'):  # noqa: S608
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def run_import(
    site: HavenSite, path: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str]:
    """``haven-admin import`` of ``path`` at ``site``, as the IT officer runs it: (exit, stderr)."""
    password_file = site.data.parent / "password.txt"
    password_file.write_text(PASSWORD + "\n")
    capsys.readouterr()
    code = cli.main(["--data", str(site.data), "--user", "admin", "--password-file",
                     str(password_file), "import", str(path), *extra])
    return code, capsys.readouterr().err


def assert_refused(
    site: HavenSite, path: Path, capsys: pytest.CaptureFixture[str], message: str
) -> str:
    """The import is refused (exit 4, one line saying ``message``) and changes nothing; the line."""
    before = vault_digest(site)
    code, err = run_import(site, path, capsys)
    assert code == 4, err
    assert message in err, err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert vault_digest(site) == before
    return err


def canonical_dump(site: HavenSite) -> dict[str, Any]:
    """Everything a site holds about cases, independent of local row ids and arrival order."""
    with site.session.vault.reading() as conn:
        def rows(sql: str) -> list[tuple[Any, ...]]:
            return sorted(tuple(row) for row in conn.execute(sql))

        return {
            "cases": rows(
                "SELECT id, ref, kind, channel, status, queue_rank, display_names, location,"
                " callback, notes, hex(codeword_salt), hex(codeword_digest), group_size,"
                " condition, meeting_point, receiving_unit, window_start, window_end, outcome,"
                " outcome_notes, duplicate_of, reason, flagged, failed_codeword_attempts,"
                " created_at, created_by, updated_at, status_changed_at, last_contact_at,"
                " origin_site, hlc FROM cases"
            ),
            "persons": rows(
                "SELECT c.id, p.position, p.full_name, p.birth_date, p.phone, p.rank, p.unit,"
                " p.mobilization, p.notes FROM persons p JOIN cases c ON c.rowid = p.case_rowid"
            ),
            "conflicts": rows("SELECT id, case_id, grp, heads FROM conflicts"),
            "ops": sorted(
                (
                    case_id,
                    newest,
                    json.dumps(json.loads(versions), sort_keys=True),
                    oplog.canonical_json(json.loads(oplog.unpack_ops(ops))),
                )
                for case_id, newest, versions, ops in conn.execute(
                    "SELECT case_id, newest, versions, ops FROM case_ops"
                )
            ),
        }


# --- forging files: everything a real sender would do, with one thing changed ----------


def plain_payload(path: Path, recipient: HavenSite) -> bytes:
    """The decrypted payload of a transfer file, in memory."""
    from desktop.transfer import age
    from desktop.transfer.transfer_file import read_layout

    with path.open("rb") as handle:
        layout = read_layout(handle)
        handle.seek(layout.payload_offset)
        ciphertext = handle.read(layout.payload_size)
    identity = age.X25519Identity(recipient.session.vault.site_encryption_key())
    return age.decrypt(ciphertext, [identity])


def forge(
    path: Path,
    sender: HavenSite,
    recipients: list[HavenSite],
    plaintext: bytes,
    *,
    sequence: int,
    manifest_changes: dict[str, Any] | None = None,
    signer: HavenSite | None = None,
    encrypted: bytes | None = None,
) -> None:
    """Write a transfer file with this payload, signed like ``sender`` would (or ``signer``)."""
    import io

    from db import audit, merkle, peers
    from desktop.transfer import age, sshsig
    from desktop.transfer.transfer_file import (
        Checkpoint,
        Manifest,
        Recipient,
        write_transfer_file,
    )

    ciphertext = encrypted if encrypted is not None else age.encrypt(
        plaintext, [r.service.site_identity().age_recipient for r in recipients]
    )
    with sender.session.vault.reading() as conn:
        leaves = audit.leaf_hashes(conn)
        epoch = peers.current_epoch(conn)
    fields: dict[str, Any] = {
        "sender": sender.site_id,
        "epoch": epoch,
        "recipients": tuple(Recipient(r.site_id, sequence) for r in recipients),
        "created_at": "2026-01-01T00:00:00.000Z",
        "payload_sha256": hashlib.sha256(ciphertext).hexdigest(),
        "payload_size": len(ciphertext),
        "checkpoint": Checkpoint(len(leaves), merkle.root(leaves).hex(), ()),
    }
    fields.update(manifest_changes or {})
    manifest = Manifest(**fields).to_bytes()
    key = (signer or sender).session.vault.site_signing_key()
    signature = sshsig.sign(manifest, key, sshsig.TRANSFER_NAMESPACE).encode()
    write_transfer_file(path, manifest, signature, io.BytesIO(ciphertext), len(ciphertext))


def header_line(
    sender: HavenSite, recipients: list[HavenSite], sequence: int,
    changes: dict[str, Any] | None = None,
) -> bytes:
    """A payload header as a real sender writes it (created_at matches forge's manifest)."""
    from db import peers

    with sender.session.vault.reading() as conn:
        epoch = peers.current_epoch(conn)
    header = {
        "type": "header",
        "format": "haven-payload-v1",
        "sender": sender.site_id,
        "epoch": epoch,
        "recipients": [{"site_id": r.site_id, "sequence": sequence} for r in recipients],
        "created_at": "2026-01-01T00:00:00.000Z",
        "upto_lseq": 0,
        "base_lseq": {r.site_id: 0 for r in recipients},
        "acks": {},
    }
    header.update(changes or {})
    return (json.dumps(header) + "\n").encode()
