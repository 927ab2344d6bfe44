"""The case JSON of the CLI contract: strict parsing of input, and the output shape."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any

from db import cases
from db.phones import has_extension, normalize_phone
from db.records import Case, CaseKind, Channel, Mobilization, NewCase, Person
from db.vault import format_time
from desktop.errors import InputRejected
from desktop.text_rules import (
    HIDDEN_CHARACTERS,
    UNPRINTABLE,
    field_names,
    holds_hidden_characters,
    printable,
)

MAX_PERSONS = 200
MAX_NAME = 300
MAX_FIELD = 2000
MAX_DOCUMENT = 1_000_000

_CASE_KEYS = {"kind", "channel", "persons", "location", "notes", "callback"}
_PERSON_KEYS = {"full_name", "birth_date", "phone", "rank", "unit", "mobilization", "notes"}


class CaseInputError(InputRejected):
    """The case JSON is not valid; the message names the field."""


def _choice(path: str, value: Any, enum_type: Any, default: Any = None) -> Any:
    if value is None and default is not None:
        return default
    try:
        return enum_type(value)
    except ValueError:
        choices = ", ".join(member.value for member in enum_type)
        raise CaseInputError(f"{path}: must be one of {choices}") from None


def _optional_text(
    path: str, value: Any, limit: int = MAX_FIELD, *, lines: bool = False
) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CaseInputError(f"{path}: must be text")
    # One form for a letter and its accent: as two characters (pasted from some sources)
    # the sheet's fonts would print the accent beside the letter, and Й would read as И.
    value = unicodedata.normalize("NFC", value.strip())
    if len(value) > limit:
        raise CaseInputError(f"{path}: longer than {limit} characters")
    if holds_hidden_characters(value, lines=lines):
        raise CaseInputError(f"{path}: {HIDDEN_CHARACTERS}")
    return value or None


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A year alone, or a month and a year ("1990", "05.1990", "1990 р."): all a caller may know.
_YEAR_ONLY = re.compile(
    r"(?:[0-9]{1,2}\s*[./]\s*)?[0-9]{4}\s*(?:(?:р|г|року|года)\.?)?", re.IGNORECASE)


def _birth_date(path: str, value: Any) -> str | None:
    # Longer than a date, still read as one: a date written another way is told its form.
    text = _optional_text(path, value, 40)
    if text is None:
        return None
    # fromisoformat also takes 20000101 and week dates (2000-W01-1).
    if _YEAR_ONLY.fullmatch(text):
        raise CaseInputError(f"{path}: a birth date needs its day and month; put a year"
                             " alone in the person's notes")
    if not _ISO_DATE.fullmatch(text):
        raise CaseInputError(f"{path}: must be a date as YYYY-MM-DD")
    try:
        born = date.fromisoformat(text)
    except ValueError:  # written right, but the calendar has no such day (31 February)
        raise CaseInputError(f"{path}: the calendar has no such day") from None
    if born > date.today() or born.year < 1900:
        raise CaseInputError(f"{path}: not a plausible birth date (in the future, or before 1900)")
    return born.isoformat()


def parse_phone(path: str, value: Any) -> str | None:
    text = _optional_text(path, value, 40)
    if text is None:
        return None
    normalised = normalize_phone(text)
    if normalised is None:
        if has_extension(text):
            raise CaseInputError(f"{path}: an extension cannot be stored with a phone number:"
                                 " give the number alone and the extension in the notes")
        raise CaseInputError(f"{path}: not a phone number")
    return normalised


def _person_shape(path: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise CaseInputError(f"{path}: must be an object")
    unknown = set(raw) - _PERSON_KEYS
    if unknown:
        raise CaseInputError(f"{path}: unknown field(s) {field_names(unknown)}")
    return raw


def _full_name(path: str, value: Any) -> str:
    name = _printed_text(path, value, MAX_NAME)
    if not name:
        raise CaseInputError(f"{path}: required")
    return name


def _person_fields(path: str, raw: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """Each field of a person, checked on its own, in the order of the intake form."""
    return {
        "full_name": lambda: _full_name(f"{path}.full_name", raw.get("full_name")),
        "birth_date": lambda: _birth_date(f"{path}.birth_date", raw.get("birth_date")),
        "phone": lambda: parse_phone(f"{path}.phone", raw.get("phone")),
        "rank": lambda: _printed_text(f"{path}.rank", raw.get("rank"), 200),
        "unit": lambda: _printed_text(f"{path}.unit", raw.get("unit"), 200),
        "mobilization": lambda: _choice(
            f"{path}.mobilization", raw.get("mobilization"), Mobilization, Mobilization.UNKNOWN
        ),
        "notes": lambda: _printed_text(f"{path}.notes", raw.get("notes"), lines=True),
    }


def parse_person(path: str, raw: Any) -> Person:
    fields = _person_fields(path, _person_shape(path, raw))
    return Person(**{name: check() for name, check in fields.items()})


def _printed_text(
    path: str, value: Any, limit: int = MAX_FIELD, *, lines: bool = False
) -> str | None:
    """A field of a person, which the handoff sheet prints: every character must print."""
    text = _optional_text(path, value, limit, lines=lines)
    if text is not None and not printable(text):
        raise CaseInputError(f"{path}: {UNPRINTABLE}")
    return text


def _case_shape(raw: Any) -> dict[str, Any]:
    """The case's keys and its list of persons, which a form cannot get wrong."""
    if not isinstance(raw, dict):
        raise CaseInputError("the case must be a JSON object")
    unknown = set(raw) - _CASE_KEYS
    if unknown:
        raise CaseInputError(f"unknown field(s) {field_names(unknown)}")
    if "kind" not in raw:
        raise CaseInputError("kind: required")
    if "channel" not in raw:
        raise CaseInputError("channel: required")
    persons = raw.get("persons")
    if persons is not None and not isinstance(persons, list):
        raise CaseInputError("persons: must be a list of persons")
    if not persons:
        raise CaseInputError("persons: at least one person is required")
    if len(persons) > MAX_PERSONS:
        raise CaseInputError(f"persons: at most {MAX_PERSONS} in one case")
    return raw


def _case_fields(raw: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """Each field of the case, checked on its own, in the order of the intake form."""
    persons: list[Any] = raw["persons"]
    return {
        "kind": lambda: _choice("kind", raw["kind"], CaseKind),
        "channel": lambda: _choice("channel", raw["channel"], Channel),
        "persons": lambda: tuple(parse_person(f"persons[{i}]", p) for i, p in enumerate(persons)),
        "location": lambda: _optional_text("location", raw.get("location")),
        "callback": lambda: _optional_text("callback", raw.get("callback"), 200),
        "notes": lambda: _optional_text("notes", raw.get("notes"), lines=True),
    }


def parse_new_case(raw: Any) -> NewCase:
    """A NewCase from decoded JSON, or CaseInputError naming the first bad field."""
    fields = _case_fields(_case_shape(raw))
    return NewCase(**{name: check() for name, check in fields.items()})


def new_case_problems(raw: Any) -> list[CaseInputError]:
    """Every bad field of a new case, in the order of the intake form; empty if it is valid.

    The first is the error parse_new_case raises.
    """
    try:
        fields = _case_fields(_case_shape(raw))
    except CaseInputError as error:
        return [error]
    problems: list[CaseInputError] = []

    def check(field: Callable[[], Any]) -> None:
        try:
            field()
        except CaseInputError as error:
            problems.append(error)

    for name, field in fields.items():
        if name != "persons":
            check(field)
            continue
        for i, person in enumerate(raw["persons"]):
            path = f"persons[{i}]"
            try:
                person_fields = _person_fields(path, _person_shape(path, person))
            except CaseInputError as error:
                problems.append(error)
                continue
            for person_field in person_fields.values():
                check(person_field)
    return problems


class _KeyTwice(Exception):
    """An object of the document names one key twice (which value was meant is unknown)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _KeyTwice
    return document


def loads(text: str | bytes) -> Any:
    """json.loads with a size limit and one clear error."""
    if len(text) > MAX_DOCUMENT:
        raise CaseInputError(f"the JSON is larger than {MAX_DOCUMENT} bytes")
    try:
        document = json.loads(text, object_pairs_hook=_unique_keys)
    except _KeyTwice:
        raise CaseInputError("invalid JSON: an object names one key twice") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CaseInputError(f"invalid JSON: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    except ValueError:  # an integer longer than Python reads (4,300 digits)
        raise CaseInputError("invalid JSON: a number is too long") from None
    except RecursionError:
        raise CaseInputError("invalid JSON: nested too deeply") from None
    if holds_lone_surrogate(document):
        raise CaseInputError("invalid JSON: a string holds half of a character (a lone"
                             " surrogate, such as \\ud800)")
    return document


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def holds_lone_surrogate(document: Any) -> bool:
    """Whether a string (or key) holds a lone surrogate, as a \\ud800 escape in JSON or bytes
    that are not UTF-8 on a command line leave: no UTF-8 (vault, log, terminal) can hold it."""
    pending = [document]
    while pending:  # not recursive: the document may be nested as deep as json.loads allows
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and _SURROGATE.search(item):
            return True
    return False


def case_to_json(case: Case) -> dict[str, Any]:
    """The contract's case JSON plus the workflow fields."""

    def moment(value: Any) -> str | None:
        return None if value is None else format_time(value)

    return {
        "id": case.id,
        "ref": case.ref,
        "status": case.status.value,
        "kind": case.kind.value,
        "channel": case.channel.value,
        "persons": [cases.person_values(person) for person in case.persons],
        "location": case.location,
        "callback": case.callback,
        "notes": case.notes,
        "created_at": format_time(case.created_at),
        "updated_at": format_time(case.updated_at),
        "created_by": case.created_by,
        "origin_site": case.origin_site,
        "group_size": case.group_size,
        "condition": case.condition,
        "meeting_point": case.meeting_point,
        "receiving_unit": case.receiving_unit,
        "window_start": moment(case.window_start),
        "window_end": moment(case.window_end),
        "outcome": None if case.outcome is None else case.outcome.value,
        "outcome_notes": case.outcome_notes,
        "duplicate_of": case.duplicate_of,
        "reason": case.reason,
        "flagged": case.flagged,
    }
