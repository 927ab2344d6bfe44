"""A captured peer (its signing key valid, still trusted) cannot take over what is held here.

Each test builds the file such a peer could write, signed with its real key, and checks
what the IT officer sees: the file refused with exit 4, one clear line, and the vault as
it was.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from db import cases, hlc
from db.records import Channel, ContactEntry, ContactStage
from db.vault import now_utc
from tests.desktop.transfer.sites import (
    HavenSite,
    forge,
    header_line,
    make_sites,
    new_case,
    plain_payload,
)
from tests.desktop.transfer.test_refusals import assert_refused, run_import


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, HavenSite]]:
    """Site A, and B: its peer, whose key the attacker holds."""
    a, b = make_sites(tmp_path, ["a", "b"])
    yield {"a": a, "b": b}
    a.close()
    b.close()


def carry(sender: HavenSite, recipient: HavenSite, folder: Path) -> Path:
    """A genuine file from ``sender``, imported by ``recipient``."""
    path = folder / f"{sender.name}-{recipient.name}-{len(list(folder.glob('*.haven')))}.haven"
    sender.service.export([recipient.name], path, full=False)
    recipient.service.import_file(path)
    return path


def case_record(path: Path, recipient: HavenSite, case_id: str) -> dict[str, Any]:
    """One case line of a transfer file, as JSON data."""
    for line in plain_payload(path, recipient).split(b"\n"):
        if line.startswith(b'{"case"'):
            record: dict[str, Any] = json.loads(line)
            if record["case"] == case_id:
                return record
    raise AssertionError(f"no line of case {case_id}")


def forged(sender: HavenSite, recipient: HavenSite, folder: Path, sequence: int,
           records: list[dict[str, Any]], audit: list[bytes] | None = None) -> Path:
    """File #``sequence`` from ``sender``, signed with its key, carrying these records."""
    changes = None if audit is None else {"format": "haven-payload-v2", "audit_held": {}}
    text = header_line(sender, [recipient], sequence, changes)
    text += b"".join(json.dumps(record).encode() + b"\n" for record in records)
    text += b"".join(audit or [])
    text += json.dumps({"cases": len(records), "type": "end"}).encode() + b"\n"
    path = folder / f"forged-{sender.name}-{sequence}.haven"
    forge(path, sender, [recipient], text, sequence=sequence)
    return path


def line_of_new_case(sender: HavenSite, recipient: HavenSite, folder: Path) -> dict[str, Any]:
    """A case the sender registers, as its genuine file to the recipient carries it."""
    case_id = new_case(sender, "Коваленко Андрій")
    path = folder / "genuine-new-case.haven"
    sender.service.export([recipient.name], path, full=False)
    return case_record(path, recipient, case_id)


def stamp(site: HavenSite, counter: int = 0, ms: int | None = None) -> str:
    """A clock stamp of now (or ``ms``) in ``site``'s name."""
    return f"{hlc.wall_ms() if ms is None else ms:013d}:{counter:04d}:{site.site_id}"


def intake_change(op_id: str, parent: str, location: str) -> dict[str, Any]:
    return {"op": op_id, "kind": "set", "at": "2026-01-02T10:00:00.000Z", "by": "admin",
            "group": "intake", "parents": [parent],
            "values": {"location": location, "callback": None, "notes": None}}


def hijacking_create(create: dict[str, Any], op_id: str) -> dict[str, Any]:
    """A create op with the attacker's own persons, reference code and codeword digest."""
    op = copy.deepcopy(create)
    op["op"] = op_id
    op["values"]["ref"] = "HIJACK-7"
    op["values"]["persons"] = [{"full_name": "Підмінений Чоловік", "mobilization": "unknown"}]
    op["values"]["codeword_digest"] = "ab" * 32
    return op


@pytest.mark.parametrize(("line", "said"), [
    ("the case's own creation left out", "differs from the one held here in kind or field"
     " group (case {ref})"),
    ("the whole case", "the file creates a case twice"),
])
def test_a_correction_may_not_turn_a_contact_into_the_cases_creation(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    line: str, said: str,
) -> None:
    a, b = world["a"], world["b"]
    case_id = new_case(a, "Коваленко Андрій")
    carry(a, b, tmp_path)
    with b.session.vault.transaction() as conn:
        cases.add_contact(conn, ContactEntry(case_id, now_utc(), Channel.PHONE, "admin",
                                             ContactStage.CONFIRMATION, "called back"))
    genuine = carry(b, a, tmp_path)  # A takes B's contact
    record = case_record(genuine, a, case_id)
    create = next(op for op in record["ops"] if op["kind"] == "create")
    contact = next(op for op in record["ops"] if op["kind"] == "contact")
    record["ops"] = [hijacking_create(create, contact["op"]) if op is contact else op
                     for op in record["ops"] if op is not create or line == "the whole case"]
    ref = a.session.get_case(case_id, audit_view=False).ref

    path = forged(b, a, tmp_path, 5, [record])
    assert_refused(a, path, capsys, said.format(ref=ref))
    shown = a.session.get_case(case_id, audit_view=False)
    assert (shown.ref, [p.full_name for p in shown.persons]) == (ref, ["Коваленко Андрій"])


def test_a_correction_may_not_move_a_change_to_another_field_group(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = world["a"], world["b"]
    record = line_of_new_case(b, a, tmp_path)
    change = intake_change(stamp(b), record["ops"][0]["op"], "Одеса")
    record["ops"].append(change)
    assert run_import(a, forged(b, a, tmp_path, 5, [record]), capsys)[0] == 0
    change["group"], change["values"] = "outcome", {"outcome": None, "outcome_notes": "x"}
    ref = record["ops"][0]["values"]["ref"]
    assert_refused(a, forged(b, a, tmp_path, 6, [record]), capsys,
                   f"differs from the one held here in kind or field group (case {ref})")


def test_a_case_is_never_created_twice(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = world["a"], world["b"]
    record = line_of_new_case(b, a, tmp_path)
    record["ops"].append(hijacking_create(record["ops"][0], stamp(b)))
    assert_refused(a, forged(b, a, tmp_path, 5, [record]), capsys, "creates a case twice")
