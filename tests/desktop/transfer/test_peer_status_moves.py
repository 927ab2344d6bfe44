"""A peer's status changes are moves the workflow allows, with their fields: a captured site
that writes a jump into its own vault (registered → handed off, no meeting arranged) has
it refused at the import, naming the field, and the vault stays as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from db import cases
from db.records import Status, StatusChange
from db.vault import now_utc
from desktop.transfer import export
from tests.desktop.transfer.sites import (
    HavenSite,
    assert_refused,
    codeword,
    new_case,
    run_import,
)
from tests.desktop.transfer.test_sync import send

Sites = tuple[HavenSite, HavenSite]
ARRANGEMENT = {
    "meeting_point": "Пункт А",
    "receiving_unit": "Група приймання 1",
    "window_start": "2026-12-01 12:00:00+00:00",
    "window_end": "2026-12-01 14:00:00+00:00",
}


def held_registered(north: HavenSite, south: HavenSite, folder: Path,
                    capsys: pytest.CaptureFixture[str]) -> str:
    """A case registered at North that South holds too; its id."""
    case_id = new_case(north)
    assert run_import(south, send(north, south, folder), capsys)[0] == 0
    return case_id


def status_op(site: HavenSite, case_id: str, before: Status, after: Status,
              fields: dict[str, Any]) -> None:
    """A status op as the site's vault takes it, with no workflow asked."""
    with site.session.vault.transaction() as conn:
        cases.set_status(conn, case_id, StatusChange(
            case_id, before, after, now_utc() + timedelta(seconds=1), "operator", fields))


# Ops of a registered case: 0 create, 1 its first contact; the status op is 2.
JUMPS: list[tuple[str, Status, Status, dict[str, Any], str]] = [
    ("handed off, claiming an arrangement there was not", Status.HANDOFF_ARRANGED,
     Status.HANDED_OFF, {}, "at ops[2].values.from: not the status it replaces"),
    ("handed off, claiming it with its fields", Status.HANDOFF_ARRANGED, Status.HANDED_OFF,
     {"received_by": "Група приймання 1"}, "at ops[2].values.from: not the status it replaces"),
    ("arranged without the codeword confirmation", Status.REGISTERED,
     Status.HANDOFF_ARRANGED, ARRANGEMENT,
     "at ops[2].values: a status change the workflow does not allow"),
    ("arranged, claiming a confirmation there was not", Status.CONFIRMED,
     Status.HANDOFF_ARRANGED, ARRANGEMENT,
     "at ops[2].values.from: not the status it replaces"),
    ("confirmed without its fields", Status.REGISTERED, Status.CONFIRMED, {},
     "at ops[2].values.fields: not the fields of its status change"),
    ("confirmed with a field no confirmation has", Status.REGISTERED, Status.CONFIRMED,
     {"location": "Херсон", "group_size": "1", "Петренко": "x"},
     "at ops[2].values.fields: not the fields of its status change"),
    ("confirmed with an empty required field", Status.REGISTERED, Status.CONFIRMED,
     {"location": " ", "group_size": "1"},
     "at ops[2].values.fields: not the fields of its status change"),
    ("a surrender closed as a consultation", Status.REGISTERED, Status.CLOSED,
     {"outcome_notes": "консультація"},
     "at ops[2].values: a status change the workflow does not allow"),
    ("a resolved conflict that was none", Status.REGISTERED, Status.HANDED_OFF,
     {"resolved": "0123456789abcdef"}, "at ops[2].values: not a resolved conflict"),
]


@pytest.mark.parametrize(("before", "after", "fields", "message"),
                         [jump[1:] for jump in JUMPS], ids=[jump[0] for jump in JUMPS])
def test_a_status_jump_is_refused_naming_the_field(
    north_and_south: Sites, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    before: Status, after: Status, fields: dict[str, Any], message: str,
) -> None:
    north, south = north_and_south
    case_id = held_registered(north, south, tmp_path, capsys)
    status_op(north, case_id, before, after, fields)
    err = assert_refused(south, send(north, south, tmp_path), capsys, message)
    assert "Петренко" not in err
    case = south.session.get_case(case_id, audit_view=False)
    assert (case.status, case.meeting_point) == (Status.REGISTERED, None)


def test_every_move_of_the_workflow_at_the_desk_imports(
    north_and_south: Sites, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north, south = north_and_south
    session = north.session
    session.set_site_places("meeting_point", [ARRANGEMENT["meeting_point"]])
    session.set_site_places("receiving_unit", [ARRANGEMENT["receiving_unit"]])
    case_id = new_case(north)
    moves: list[tuple[Status, dict[str, Any]]] = [
        (Status.CONFIRMED, {"codeword": codeword().codeword,
                            "location": "Херсон", "group_size": 2, "notes": "двоє"}),
        (Status.HANDOFF_ARRANGED, {**ARRANGEMENT, "window_start": "2026-12-01T12:00+00:00",
                                   "window_end": "2026-12-01T14:00+00:00"}),
        (Status.HANDOFF_ARRANGED, {**ARRANGEMENT, "window_start": "2026-12-02T12:00+00:00",
                                   "window_end": "2026-12-02T14:00+00:00"}),
        (Status.HANDED_OFF, {"received_by": "Петренко", "notes": "підписав"}),
        (Status.CLOSED, {"outcome": "detention", "outcome_notes": "без зауважень"}),
    ]
    for target, fields in moves:
        session.advance(case_id, target, fields)
    code, err = run_import(south, send(north, south, tmp_path), capsys)
    assert code == 0, err
    assert south.session.get_case(case_id, audit_view=False).status == Status.CLOSED


def test_concurrent_status_changes_and_their_resolution_import(
    north_and_south: Sites, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north, south = north_and_south
    case_id = held_registered(north, south, tmp_path, capsys)
    status_op(north, case_id, Status.REGISTERED, Status.WITHDRAWN, {"reason": "відмовився"})
    status_op(south, case_id, Status.REGISTERED, Status.CONFIRMED,
              {"location": "Херсон", "group_size": "1"})
    assert run_import(south, send(north, south, tmp_path), capsys)[0] == 0
    [conflict] = south.service.list_conflicts()
    south.service.resolve_conflict(conflict.id, "incoming")
    code, err = run_import(north, send(south, north, tmp_path), capsys)
    assert code == 0, err
    assert north.session.get_case(case_id, audit_view=False).status == Status.WITHDRAWN


def test_a_case_line_without_its_creation_is_refused(
    north_and_south: Sites, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the status change, for a case South holds: no version it replaces in the line
    to check its 'from' against, so the whole case must come, as every site sends it."""
    north, south = north_and_south
    case_id = held_registered(north, south, tmp_path, capsys)
    status_op(north, case_id, Status.HANDOFF_ARRANGED, Status.HANDED_OFF,
              {"received_by": "Група приймання 1"})
    whole = export._payload_chunks

    def without_creation(*args: Any, **kwargs: Any) -> Iterator[bytes]:
        for chunk in whole(*args, **kwargs):
            lines = []
            for raw in chunk.splitlines(keepends=True):
                if raw.startswith(b'{"case"'):
                    line = json.loads(raw)
                    line["ops"] = [op for op in line["ops"] if op["kind"] != "create"]
                    raw = json.dumps(line, ensure_ascii=False).encode() + b"\n"
                lines.append(raw)
            yield b"".join(lines)

    monkeypatch.setattr(export, "_payload_chunks", without_creation)  # a captured site's code
    assert_refused(south, send(north, south, tmp_path), capsys, "the case's creation is missing")
    case = south.session.get_case(case_id, audit_view=False)
    assert case.status == Status.REGISTERED
