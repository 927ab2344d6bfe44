"""The case JSON's checks: every bad field is named, in the order of the intake form."""

from __future__ import annotations

from typing import Any

import pytest

from desktop import case_json
from desktop.case_json import CaseInputError


def _raw(**fields: Any) -> dict[str, Any]:
    return {"kind": "surrender", "channel": "phone",
            "persons": [{"full_name": "Петренко Іван"}], **fields}


def _fields(problems: list[CaseInputError]) -> list[str]:
    return [str(problem).partition(":")[0] for problem in problems]


def test_every_bad_field_is_named_in_form_order_and_the_first_is_what_parsing_raises() -> None:
    raw = _raw(
        channel="pigeon",
        persons=[{"full_name": "Петренко Іван", "phone": "12"},
                 {"full_name": " ", "birth_date": "1990-02-31", "mobilization": "maybe"},
                 {"full_name": "Коваль Олена"}],
        callback="x" * 201,
    )
    problems = case_json.new_case_problems(raw)

    assert _fields(problems) == [
        "channel", "persons[0].phone", "persons[1].full_name", "persons[1].birth_date",
        "persons[1].mobilization", "callback",
    ]
    with pytest.raises(CaseInputError) as raised:
        case_json.parse_new_case(raw)
    assert str(raised.value) == str(problems[0])


def test_a_valid_case_has_no_problems_and_parses() -> None:
    raw = _raw(location="Запорізька обл.", notes="двоє\nпоранених")
    assert case_json.new_case_problems(raw) == []
    assert case_json.parse_new_case(raw).persons[0].full_name == "Петренко Іван"


def test_a_phone_with_an_extension_is_refused_saying_so() -> None:
    raw = _raw(persons=[{"full_name": "Петренко Іван", "phone": "044 123 45 67 доб. 2"}])
    with pytest.raises(CaseInputError) as raised:
        case_json.parse_new_case(raw)
    # What to do, as the desk says it: a script's author reads only this line.
    assert str(raised.value) == (
        "persons[0].phone: an extension cannot be stored with a phone number: give the number"
        " alone and the extension in the notes"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "the case must be a JSON object"),
        (_raw(extra=1), "unknown field(s)"),
        (_raw(persons=[]), "persons: at least one person is required"),
        (_raw(persons=["Петренко"]), "persons[0]: must be an object"),
    ],
)
def test_a_malformed_document_is_one_problem(raw: Any, message: str) -> None:
    problems = case_json.new_case_problems(raw)
    assert len(problems) == 1
    assert str(problems[0]).startswith(message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"kind": "surrender", "kind": "other", "channel": "phone", "persons": []}',
         "invalid JSON: an object names one key twice"),
        ('{"kind": "surrender", "channel": "phone", "persons": {"full_name": "Петренко"}}',
         "persons: must be a list of persons"),
        ('{"kind": "surrender", "channel": "phone", "persons": [], "Петренко Іван": 1}',
         "unknown field(s) 1 that is not a field name"),
    ],
    ids=["a key twice", "persons not a list", "an unknown key that may be a name"],
)
def test_what_a_script_gets_wrong_is_said_plainly(text: str, message: str) -> None:
    with pytest.raises(CaseInputError) as raised:
        case_json.parse_new_case(case_json.loads(text))
    assert str(raised.value) == message
