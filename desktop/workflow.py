"""The case workflow: every status transition, its required fields and who may take it.

registered → confirmed → handoff_arranged → handed_off → closed; withdrawn from any
open status; duplicate (merged into another case) from any open status; and a
consultation goes registered → closed. This module is the only place that decides
whether a transition is allowed; views and the CLI ask it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from db.records import OPEN_STATUSES, Case, CaseKind, Outcome, Status
from desktop.errors import InputRejected
from desktop.permissions import Action
from desktop.text_rules import (
    HIDDEN_CHARACTERS,
    UNPRINTABLE,
    field_names,
    holds_hidden_characters,
    printable,
)

MAX_TEXT = 2000


# Fields typed in a box of several lines; the others are one line.
_MULTILINE = frozenset({"notes", "condition", "reason", "outcome_notes"})
_PRINTED = frozenset({"condition", "meeting_point", "receiving_unit"})  # on the handoff sheet


class TransitionRejected(InputRejected):
    """The transition is not allowed from here, or its fields are missing or invalid."""


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TransitionRejected(f"'{name}' must be non-empty text")
    if len(value) > MAX_TEXT:
        raise TransitionRejected(f"'{name}' is longer than {MAX_TEXT} characters")
    if holds_hidden_characters(value.strip(), lines=name in _MULTILINE):
        raise TransitionRejected(f"'{name}' {HIDDEN_CHARACTERS}")
    if name in _PRINTED and not printable(value):
        raise TransitionRejected(f"'{name}' {UNPRINTABLE}")
    return value.strip()


def _group_size(name: str, value: Any) -> int:
    text = value.strip() if isinstance(value, str) else ""
    # isdigit() alone takes "²", which int() refuses; 500 has three digits.
    if text.isascii() and text.isdigit() and len(text) <= 3:
        value = int(text)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 500:
        raise TransitionRejected(f"'{name}' must be a whole number from 1 to 500")
    return value


def _moment(name: str, value: Any) -> datetime:
    example = f"'{name}' must be a date and time such as 2026-12-01T14:00+02:00"
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise TransitionRejected(example) from None
    else:
        raise TransitionRejected(f"'{name}' must be a date and time")
    if moment.tzinfo is None:
        raise TransitionRejected(f"'{name}' needs a UTC offset, such as +02:00")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before the first moment UTC can hold
        raise TransitionRejected(example) from None


def _outcome(name: str, value: Any) -> Outcome:
    try:
        return Outcome(value)
    except ValueError:
        choices = ", ".join(outcome.value for outcome in Outcome)
        raise TransitionRejected(f"'{name}' must be one of: {choices}") from None


Validator = Callable[[str, Any], Any]


@dataclass(frozen=True, slots=True)
class Transition:
    source: frozenset[Status]
    target: Status
    required: Mapping[str, Validator]
    optional: Mapping[str, Validator]
    action: Action
    kinds: frozenset[CaseKind] | None = None  # None: any kind

    def applies_to(self, case: Case) -> bool:
        return case.status in self.source and (self.kinds is None or case.kind in self.kinds)


_CASE_KINDS_WITH_HANDOFF = frozenset({CaseKind.SURRENDER, CaseKind.OTHER})

TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        source=frozenset({Status.REGISTERED}),
        target=Status.CONFIRMED,
        required={"codeword": _text, "location": _text, "group_size": _group_size},
        optional={"condition": _text, "notes": _text},
        action=Action.WORK_CASE,
        kinds=_CASE_KINDS_WITH_HANDOFF,
    ),
    Transition(
        source=frozenset({Status.CONFIRMED, Status.HANDOFF_ARRANGED}),
        target=Status.HANDOFF_ARRANGED,
        required={
            "meeting_point": _text,
            "receiving_unit": _text,
            "window_start": _moment,
            "window_end": _moment,
        },
        optional={"notes": _text},
        action=Action.WORK_CASE,
    ),
    Transition(
        source=frozenset({Status.HANDOFF_ARRANGED}),
        target=Status.HANDED_OFF,
        required={"received_by": _text},
        optional={"notes": _text},
        action=Action.MANAGE_HANDOFF,
    ),
    Transition(
        source=frozenset({Status.HANDED_OFF}),
        target=Status.CLOSED,
        required={"outcome": _outcome},
        optional={"outcome_notes": _text},
        action=Action.MANAGE_HANDOFF,
    ),
    Transition(
        source=frozenset({Status.REGISTERED}),
        target=Status.CLOSED,
        required={"outcome_notes": _text},
        optional={},
        action=Action.WORK_CASE,
        kinds=frozenset({CaseKind.CONSULTATION}),
    ),
    Transition(
        source=frozenset(OPEN_STATUSES),
        target=Status.WITHDRAWN,
        required={"reason": _text},
        optional={},
        action=Action.WORK_CASE,
    ),
    Transition(
        source=frozenset(OPEN_STATUSES),
        target=Status.DUPLICATE,
        required={"duplicate_of": _text},
        optional={"reason": _text},
        action=Action.WORK_CASE,
    ),
)


def in_asked_order(target: Status | None, names: Iterable[str]) -> list[str]:
    """A step's fields in the order the step to ``target`` asks for them (its form does,
    the window's start before its end); any other, such as a resolution's, after them."""
    asked = [name for transition in TRANSITIONS if transition.target == target
             for name in (*transition.required, *transition.optional)]
    return sorted(names, key=lambda name: (
        asked.index(name) if name in asked else len(asked), name))


def transitions_from(case: Case) -> list[Transition]:
    """The transitions a case can take from its current status."""
    return [transition for transition in TRANSITIONS if transition.applies_to(case)]


def find_transition(case: Case, target: Status) -> Transition:
    for transition in transitions_from(case):
        if transition.target == target:
            return transition
    allowed = ", ".join(t.target.value for t in transitions_from(case)) or "none"
    raise TransitionRejected(
        f"a {case.kind.value} case cannot go from '{case.status.value}' to '{target.value}'"
        f" (allowed from here: {allowed})"
    )


def parse_status(text: str) -> Status:
    try:
        return Status(text)
    except ValueError:
        choices = ", ".join(status.value for status in Status)
        raise TransitionRejected(f"unknown status '{text}' (one of: {choices})") from None


def validate_fields(transition: Transition, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Check the fields of a transition; returns them cleaned, or raises TransitionRejected."""
    unknown = set(fields) - set(transition.required) - set(transition.optional)
    if unknown:
        raise TransitionRejected(
            f"fields not used by the move to '{transition.target.value}': "
            + field_names(unknown)
        )
    missing = [name for name in transition.required if fields.get(name) in (None, "")]
    if missing:
        raise TransitionRejected(
            f"the move to '{transition.target.value}' needs: " + ", ".join(missing)
        )
    cleaned: dict[str, Any] = {}
    for name, validate in {**transition.required, **transition.optional}.items():
        if fields.get(name) not in (None, ""):
            cleaned[name] = validate(name, fields[name])
    if transition.target == Status.HANDOFF_ARRANGED and (
        cleaned["window_end"] <= cleaned["window_start"]
    ):
        raise TransitionRejected("'window_end' must be after 'window_start'")
    return cleaned
