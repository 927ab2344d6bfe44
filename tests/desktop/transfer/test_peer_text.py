"""Text from a peer keeps the rules of text typed here: what a captured site writes into its
own vault (no form checks it there) is refused at the import, naming the field, never the
value, and the vault stays as it was."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from db import audit, cases
from db.records import CaseKind, Channel, ContactEntry, ContactStage, NewCase, Person
from db.vault import now_utc
from desktop.text_rules import HIDDEN_CHARACTERS, UNPRINTABLE
from tests.desktop.transfer.sites import (
    HavenSite,
    assert_refused,
    codeword,
    new_case,
    run_import,
)
from tests.desktop.transfer.test_sync import send

Sites = tuple[HavenSite, HavenSite]


def register(site: HavenSite, person: Person, **case: Any) -> str:
    """A case registered as the session does it, which leaves text checks to the forms."""
    new = NewCase(kind=CaseKind.SURRENDER, channel=Channel.PHONE, persons=(person,), **case)
    return site.session.register_case(new, codeword()).case_id


def person(**fields: Any) -> Person:
    return Person(**{"full_name": "Петренко Петро", "birth_date": "1990-01-02", **fields})


def later() -> Any:
    return now_utc() + timedelta(seconds=1)


# Ops of a registered case: 0 create, 1 its first contact; the next op is 2.
CREATE_CASES: list[tuple[str, dict[str, Any], dict[str, Any], str, str]] = [
    ("zero-width, bidi and emoji in a name",
     {"full_name": "Пет\u200bренко \u202eнавІ\u202c 🏕"}, {},
     "ops[0].values.persons[0].full_name", HIDDEN_CHARACTERS),
    ("an emoji the sheet cannot print in a name", {"full_name": "Петренко 🏕"}, {},
     "ops[0].values.persons[0].full_name", UNPRINTABLE),
    ("terminal escapes in a rank", {"rank": "\x1b[2J\x1b[31mсолдат"}, {},
     "ops[0].values.persons[0].rank", HIDDEN_CHARACTERS),
    ("a line break in a unit (one line at the desk)", {"unit": "в/ч\n1234"}, {},
     "ops[0].values.persons[0].unit", HIDDEN_CHARACTERS),
    ("a direction override in a person's notes", {"notes": "шрам \u202eна руці"}, {},
     "ops[0].values.persons[0].notes", HIDDEN_CHARACTERS),
    ("a zero-width space in a phone", {"phone": "+38067\u200b1112233"}, {},
     "ops[0].values.persons[0].phone", HIDDEN_CHARACTERS),
    ("a direction override in the location", {}, {"location": "\u202eПункт А"},
     "ops[0].values.location", HIDDEN_CHARACTERS),
    ("a control character in the case notes", {}, {"notes": "дзвонив\x07"},
     "ops[0].values.notes", HIDDEN_CHARACTERS),
]


@pytest.mark.parametrize(("person_fields", "case_fields", "place", "rule"),
                         [case[1:] for case in CREATE_CASES],
                         ids=[case[0] for case in CREATE_CASES])
def test_a_case_with_hidden_or_unprintable_text_is_refused_naming_the_field(
    north_and_south: Sites, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    person_fields: dict[str, Any], case_fields: dict[str, Any], place: str, rule: str,
) -> None:
    north, south = north_and_south
    register(north, person(**person_fields), **case_fields)
    err = assert_refused(south, send(north, south, tmp_path), capsys, f"at {place}: {rule}")
    for value in (*person_fields.values(), *case_fields.values()):
        assert value not in err


def _arranged(conn: Any, case_id: str, by: str, meeting_point: str) -> None:
    cases.update_fields(conn, case_id, {"meeting_point": meeting_point}, later(), by=by)


def _withdrawn(conn: Any, case_id: str, by: str, reason: str) -> None:
    cases.update_fields(conn, case_id, {"reason": reason}, later(), by=by)


def _contact(conn: Any, case_id: str, by: str, summary: str) -> None:
    cases.add_contact(conn, ContactEntry(case_id, later(), Channel.PHONE, by,
                                         ContactStage.FOLLOW_UP, summary))


CHANGE_CASES: list[tuple[str, Callable[[Any, str, str, str], None], str, str, str, str]] = [
    ("a direction override in a meeting point", _arranged, "operator", "\u202eПункт А",
     "ops[2].values.meeting_point", HIDDEN_CHARACTERS),
    ("an emoji the sheet cannot print in a meeting point", _arranged, "operator", "Пункт 🏕",
     "ops[2].values.meeting_point", UNPRINTABLE),
    ("terminal escapes in who made a change", _arranged, "admin\x1b]0;pwned\x07", "Пункт А",
     "ops[2].by", HIDDEN_CHARACTERS),
    ("a zero-width space in a reason", _withdrawn, "operator", "пере\u200bдумав",
     "ops[2].values.reason", HIDDEN_CHARACTERS),
    ("an escape in a contact summary", _contact, "operator", "дзвінок\x1b[2J",
     "ops[2].values.summary", HIDDEN_CHARACTERS),
]


@pytest.mark.parametrize(("change", "by", "text", "place", "rule"),
                         [case[1:] for case in CHANGE_CASES],
                         ids=[case[0] for case in CHANGE_CASES])
def test_a_change_with_hidden_or_unprintable_text_is_refused_naming_the_field(
    north_and_south: Sites, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    change: Callable[[Any, str, str, str], None], by: str, text: str, place: str, rule: str,
) -> None:
    north, south = north_and_south
    case_id = new_case(north, "Іваненко Петро")
    assert run_import(south, send(north, south, tmp_path), capsys)[0] == 0
    with north.session.vault.transaction() as conn:
        change(conn, case_id, by, text)
    err = assert_refused(south, send(north, south, tmp_path), capsys, f"at {place}: {rule}")
    assert text not in err
    assert by not in err


def test_line_breaks_and_tabs_pass_where_the_desk_takes_them(
    north_and_south: Sites, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north, south = north_and_south
    case_id = register(north, person(notes="шрам на лівій руці\nокуляри"),
                       notes="перший дзвінок\n\tдругий", location="Пункт «Б», Ü ß")
    with north.session.vault.transaction() as conn:
        cases.update_fields(conn, case_id, {"condition": "поранений,\nможе йти",
                                            "reason": "так\tсказав"}, later(), by="operator")
        _contact(conn, case_id, "operator", "дзвінок\nперезвонить")
    code, err = run_import(south, send(north, south, tmp_path), capsys)
    assert code == 0, err
    assert south.session.get_case(case_id, audit_view=False).condition == "поранений,\nможе йти"


def test_an_audit_entry_with_a_control_character_is_taken_as_written(
    north_and_south: Sites, tmp_path: Path
) -> None:
    """An older desk wrote a file name with a tab as it was, and a log cannot be mended:
    refusing such an entry would refuse that site's files for good. It is taken, its
    chain intact, and shown with the character made visible (tests/ui/test_audit_dialog)."""
    north, south = north_and_south
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit, "_CONTROL", re.compile("(?!)"))  # as the older desk wrote it
        with north.session.vault.transaction() as conn:
            audit.append(conn, "admin", "transfer_refused", None, "in\tbox.haven\x1b[2J")
    report = south.service.import_file(send(north, south, tmp_path))
    assert report.audit_new > 0
    assert "in\tbox.haven\x1b[2J" in {
        entry.detail for entry in south.session.audit_entries()}


def test_a_file_name_with_a_line_break_does_not_spoil_the_log_for_peers(
    north_and_south: Sites, tmp_path: Path
) -> None:
    north, south = north_and_south
    north.service.backup(tmp_path / "vault\nbackup.age", "a long enough passphrase", 2)
    with north.session.vault.reading() as conn:
        detail = conn.execute(
            "SELECT detail FROM audit_log WHERE action = 'backup_made'").fetchone()[0]
    assert detail == "vault\ufffdbackup.age"
    report = south.service.import_file(send(north, south, tmp_path))
    assert report.audit_new > 0
