"""Text with characters that are not shown as themselves is refused where it enters Haven.

An escape sequence in a name would reach the terminal of whoever lists the cases, and a
zero-width space or a direction override makes one name look like another.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from db.records import Channel, ContactStage, Role, Status
from desktop import case_json, workflow
from desktop.errors import InputRejected
from desktop.session import Session
from tests.conftest import FAST_KDF, PASSWORD, Site

ESCAPE = "Петренко \x1b[2J\x1b[31mІван"
ZERO_WIDTH = "Пет\u200bренко"
OVERRIDE = "Петренко \u202eнавІ"


def _case(**person: str) -> dict[str, object]:
    return {"kind": "surrender", "channel": "phone",
            "persons": [{"full_name": "Петренко Іван", **person}]}


@pytest.mark.parametrize("text", [ESCAPE, ZERO_WIDTH, OVERRIDE, "Петренко\nІван", "\x00"])
@pytest.mark.parametrize("field", ["full_name", "rank", "unit", "phone"])
def test_a_one_line_field_refuses_hidden_characters(field: str, text: str) -> None:
    with pytest.raises(case_json.CaseInputError,
                       match=rf"^persons\[0\]\.{field}: holds a control or invisible character$"):
        case_json.parse_new_case(_case(**{field: text}))


def test_notes_keep_their_lines_and_tabs_but_not_escapes() -> None:
    parsed = case_json.parse_new_case(_case(notes="шрам\nна лівій руці\tі татуювання"))
    assert parsed.persons[0].notes == "шрам\nна лівій руці\tі татуювання"
    with pytest.raises(case_json.CaseInputError, match="notes: holds a control"):
        case_json.parse_new_case(_case(notes="шрам \x1b[2J"))
    # A no-break space, as pasted from a document, is a space.
    assert case_json.parse_new_case(_case(rank="молодший\u00a0сержант")).persons[0].rank


def test_birth_dates_are_written_as_the_message_asks() -> None:
    for text in ("20000101", "2000-W01-1", "2000-001"):
        with pytest.raises(case_json.CaseInputError, match="must be a date as YYYY-MM-DD"):
            case_json.parse_new_case(_case(birth_date=text))
    assert case_json.parse_new_case(_case(birth_date="2000-01-01")).persons[0].birth_date


def test_transition_fields_contacts_users_and_lists_refuse_them(site: Site) -> None:
    session = site.session
    case_id = session.register_case(case_json.parse_new_case(_case())).case_id
    with pytest.raises(workflow.TransitionRejected, match="'reason' holds a control"):
        session.advance(case_id, Status.WITHDRAWN, {"reason": "передумав \x1b]0;x\x07"})
    with pytest.raises(InputRejected, match="summary holds a control"):
        session.add_contact(case_id, Channel.PHONE, ContactStage.FIRST_CONTACT, ZERO_WIDTH)
    with pytest.raises(InputRejected, match="control or invisible"):
        session.add_user("ol\u200bga", Role.OPERATOR, PASSWORD, FAST_KDF)
    with pytest.raises(InputRejected, match="list holds a control"):
        session.set_site_places("meeting_point", ["Пункт А", OVERRIDE])
    assert session.get_case(case_id, audit_view=False).status == Status.REGISTERED
    assert [u.name for u in session.list_users()] == ["admin"]
    assert session.site_places("meeting_point") == []
    # A reason written over several lines is kept as written.
    session.advance(case_id, Status.WITHDRAWN, {"reason": "передумав;\nперезвонить пізніше"})


def test_a_site_name_with_an_escape_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputRejected, match="no control or invisible character"):
        Session.create_site(tmp_path / "s", "Північ\x1b[2J", "admin", PASSWORD, FAST_KDF)
    assert not (tmp_path / "s" / "keyslots.json").exists()


def test_the_cli_refuses_an_escape_in_a_name(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    password = tmp_path / "new-password.txt"
    password.write_text(PASSWORD + "\n")
    data = tmp_path / "site"
    made = run_cli("init", "--site-name", "Північ", "--admin", "admin", "--new-password-file",
                   str(password), "--kdf-memory", "19", "--kdf-passes", "2", data=data, user=None)
    assert made.returncode == 0, made.stderr
    result = run_cli("case", "add", "--json", "-", data=data, stdin=json.dumps(_case(
        full_name=ESCAPE)))
    assert result.returncode == 4
    assert result.stderr == ("haven-admin: persons[0].full_name: holds a control or invisible"
                             " character\n")
    assert "\x1b" not in result.stderr


def test_a_name_from_an_older_vault_reaches_the_terminal_without_its_escape(
    site: Site, run_cli  # type: ignore[no-untyped-def]
) -> None:
    from db.records import CaseKind, NewCase, Person

    # Written as a vault of a version before these rules could hold it.
    site.session.register_case(NewCase(kind=CaseKind.SURRENDER, channel=Channel.PHONE,
                                       persons=(Person(full_name=ESCAPE),)))
    site.session.close()
    listed = run_cli("case", "list", data=site.data)
    assert listed.returncode == 0, listed.stderr
    assert "\x1b" not in listed.stdout
    assert "Петренко \ufffd[2J\ufffd[31mІван" in listed.stdout
    as_json = run_cli("case", "list", "--json", data=site.data)
    assert json.loads(as_json.stdout)[0]["persons"][0]["full_name"] == ESCAPE  # data as held


def test_what_the_sheet_prints_besides_persons_must_print_too(site: Site, tmp_path: Path) -> None:
    """An emoji or a Chinese character would be an empty box on the handoff sheet (and on the
    key card, for the site's name): refused where it is typed, like in a person's name."""
    session = site.session
    with pytest.raises(InputRejected, match=r"^a name on the list holds a character the handoff"):
        session.set_site_places("meeting_point", ["Пункт А", "Точка 🏕"])
    with pytest.raises(InputRejected, match=r"^a name on the list holds a character the handoff"):
        session.set_site_places("receiving_unit", ["第七组"])
    with pytest.raises(InputRejected, match=r"^a name on the list is longer than 200 characters"):
        session.set_site_places("meeting_point", ["П" * 201])
    assert session.site_places("meeting_point") == []
    case_id = session.register_case(case_json.parse_new_case(_case())).case_id
    with pytest.raises(workflow.TransitionRejected,
                       match=r"^'condition' holds a character the handoff sheet cannot print$"):
        session.advance(case_id, Status.CONFIRMED,
                        {"codeword": "x", "location": "Суми", "group_size": 1,
                         "condition": "стабільний 👍"})
    with pytest.raises(InputRejected, match=r"^the site's name holds a character the handoff"):
        Session.create_site(tmp_path / "s", "Пункт 🌙", "admin", PASSWORD, FAST_KDF)
    assert not (tmp_path / "s" / "keyslots.json").exists()


def test_a_letter_typed_as_letter_and_accent_is_stored_as_one() -> None:
    import unicodedata

    typed = unicodedata.normalize("NFD", "Йосип Їжак Nguyễn")  # as pasted from some sources
    assert len(typed) > len("Йосип Їжак Nguyễn")
    person = case_json.parse_new_case(_case(full_name=typed)).persons[0]
    assert person.full_name == "Йосип Їжак Nguyễn"  # the sheet prints Й, not И and a mark
