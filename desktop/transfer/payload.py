"""The payload inside ``payload.age``: JSON Lines of a header, the cases, audit entries, an end.

A case line is ``{"case": <id>, "ops": [<op>, ...]}`` with every op of the case the
sender holds (see db.oplog), so a case always travels whole. An audit line is
``{"type": "audit", "origin": <site>, "entries": [...]}``: entries of one site's audit
log, in order (see db.audit_union). The header repeats the manifest's sender, epoch,
recipients and sequence numbers (so a payload cannot be moved under another manifest)
and carries what the sender has seen of each recipient and of each audit log, which is
how the next export shrinks. Every record is checked against a strict schema here, with
size limits, before anything is written.
"""

from __future__ import annotations

import itertools
import json
import operator
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from db import oplog
from db.audit_union import Entry
from db.oplog import Op
from db.records import CaseKind, Channel, ContactStage, Mobilization, Outcome, Status
from db.sync import conflict_id
from desktop import workflow
from desktop.errors import InputRejected
from desktop.text_rules import (
    HIDDEN_CHARACTERS,
    UNPRINTABLE,
    holds_hidden_characters,
    printable,
)
from desktop.transfer.identity import SITE_ID
from desktop.transfer.transfer_file import Manifest

FORMAT = "haven-payload-v2"  # v2 added audit entries; v1 files are still read
_FORMATS = ("haven-payload-v1", FORMAT)
MAX_LINE = 8 * 1024 * 1024
MAX_PERSONS = 200
MAX_NAME = 300
MAX_TEXT = 2000
MAX_USER = 64
MAX_PARENTS = oplog.MAX_PARENTS
MAX_HISTORY_FIELDS = 20
# A stamp further ahead of our clock than this is a broken clock, not a real edit.
MAX_CLOCK_AHEAD_MS = 24 * 3600 * 1000

_EPOCH = re.compile(r"[0-9a-f]{16}")


class PayloadRejected(InputRejected):
    """The decrypted payload does not match its manifest or holds an invalid record."""


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """What the sender holds of one recipient's changes and audit log."""

    epoch: str | None  # the recipient's epoch these numbers belong to
    lseq: int
    checkpoint: int


@dataclass(frozen=True, slots=True)
class Header:
    sender: str
    epoch: str
    recipients: dict[str, int]
    created_at: str
    upto_lseq: int
    base_lseq: dict[str, int]
    acks: dict[str, Acknowledgement]
    # How many of the first entries of each site's audit log the sender holds.
    audit_held: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        """The header as JSON data."""
        return {
            "type": "header",
            "format": FORMAT,
            "sender": self.sender,
            "epoch": self.epoch,
            "recipients": [
                {"site_id": site, "sequence": seq} for site, seq in sorted(self.recipients.items())
            ],
            "created_at": self.created_at,
            "upto_lseq": self.upto_lseq,
            "base_lseq": dict(sorted(self.base_lseq.items())),
            "acks": {
                site: {"epoch": ack.epoch, "lseq": ack.lseq, "checkpoint": ack.checkpoint}
                for site, ack in sorted(self.acks.items())
            },
            "audit_held": dict(sorted(self.audit_held.items())),
        }

    def line(self) -> bytes:
        """The header as the payload's first line."""
        return (oplog.canonical_json(self.to_json()) + "\n").encode("utf-8")


def end_line(cases: int) -> bytes:
    """The payload's last line: how many case lines came before it."""
    return (oplog.canonical_json({"cases": cases, "type": "end"}) + "\n").encode("utf-8")


def _reject(what: str) -> PayloadRejected:
    return PayloadRejected(f"the transfer file holds an invalid record ({what})")


def _loads(line: bytes) -> Any:
    if len(line) > MAX_LINE:
        raise _reject("a record is too large")
    try:
        return json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _reject("not JSON") from None
    except ValueError:  # an integer longer than Python reads (4,300 digits)
        raise _reject("a number is too long") from None
    except RecursionError:
        raise _reject("nested too deeply") from None


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**53:
        raise _reject(what)
    return value


def parse_header(line: bytes, manifest: Manifest) -> Header:
    """The header line, checked against the manifest it travelled under."""
    raw = _loads(line)
    keys = {"type", "format", "sender", "epoch", "recipients", "created_at", "upto_lseq",
            "base_lseq", "acks"}
    if not isinstance(raw, dict) or raw.get("type") != "header":
        raise PayloadRejected("the transfer file's payload has no valid header")
    if raw.get("format") not in _FORMATS:
        raise PayloadRejected("the payload is of a format this Haven does not read")
    if raw["format"] == FORMAT:
        keys.add("audit_held")
    if set(raw) != keys:
        raise PayloadRejected("the transfer file's payload has no valid header")
    audit_held = raw.get("audit_held", {})
    if not isinstance(audit_held, dict) or not all(
        isinstance(site, str) and SITE_ID.fullmatch(site) for site in audit_held
    ):
        raise _reject("header audit entries held")
    recipients_raw = raw["recipients"]
    if not isinstance(recipients_raw, list):
        raise _reject("header recipients")
    recipients: dict[str, int] = {}
    for item in recipients_raw:
        if not isinstance(item, dict) or set(item) != {"site_id", "sequence"}:
            raise _reject("header recipients")
        recipients[str(item["site_id"])] = _count(item["sequence"], "header sequence")
    base = raw["base_lseq"]
    acks_raw = raw["acks"]
    if not isinstance(base, dict) or not isinstance(acks_raw, dict):
        raise _reject("header acknowledgements")
    acks: dict[str, Acknowledgement] = {}
    for site, ack in acks_raw.items():
        if not isinstance(ack, dict) or set(ack) != {"epoch", "lseq", "checkpoint"}:
            raise _reject("header acknowledgements")
        epoch = ack["epoch"]
        if epoch is not None and (not isinstance(epoch, str) or not _EPOCH.fullmatch(epoch)):
            raise _reject("header acknowledgements")
        acks[str(site)] = Acknowledgement(
            epoch, _count(ack["lseq"], "acknowledgement"), _count(ack["checkpoint"], "checkpoint")
        )
    header = Header(
        sender=str(raw["sender"]),
        epoch=str(raw["epoch"]),
        recipients=recipients,
        created_at=str(raw["created_at"]),
        upto_lseq=_count(raw["upto_lseq"], "header position"),
        base_lseq={str(k): _count(v, "header base") for k, v in base.items()},
        acks=acks,
        audit_held={site: _count(held, "header audit entries held")
                    for site, held in audit_held.items()},
    )
    expected = {r.site_id: r.sequence for r in manifest.recipients}
    if (
        header.sender != manifest.sender
        or header.epoch != manifest.epoch
        or header.recipients != expected
        or header.created_at != manifest.created_at
        or set(header.base_lseq) != set(expected)
        or not set(header.acks) <= set(expected)
    ):
        raise PayloadRejected(
            "the payload's header does not match the manifest (files were mixed or altered)"
        )
    return header


# --- case lines ----------------------------------------------------------------------------
#
# A case line is checked in two passes over its bytes, both in msgspec's C decoder: once
# against the schema below (types, required and unknown keys, lengths, ranges, enum
# values), then, only if that passes, as plain JSON whose values are stored exactly as
# they came, so every site holds the same text of an op. What the schema cannot say
# (patterns, which fields a group has, the clock) is checked after it, a line at a time.

MAX_OPS_PER_CASE = 10_000
MAX_AUDIT_DETAIL = 4000
AUDIT_ENTRIES_PER_LINE = 1000
_STAMP_LENGTH = 51  # "ms:counter:site", see db.hlc
_TIME_LENGTH = 24  # 2026-11-27T12:00:00.000Z

Stamp = Annotated[str, Meta(min_length=_STAMP_LENGTH, max_length=_STAMP_LENGTH)]
Time = Annotated[str, Meta(min_length=_TIME_LENGTH, max_length=_TIME_LENGTH)]
Text = Annotated[str, Meta(max_length=MAX_TEXT)]
Short = Annotated[str, Meta(max_length=MAX_NAME)]
UserName = Annotated[str, Meta(max_length=MAX_USER)]
HexText = Annotated[str, Meta(min_length=16, max_length=128)]
SiteId = Annotated[str, Meta(min_length=32, max_length=32)]


class _Person(Struct, forbid_unknown_fields=True):
    full_name: Annotated[str, Meta(min_length=1, max_length=MAX_NAME)]
    birth_date: Annotated[str, Meta(min_length=10, max_length=10)] | None = None
    phone: Annotated[str, Meta(max_length=40)] | None = None
    rank: Short | None = None
    unit: Short | None = None
    mobilization: Mobilization = Mobilization.UNKNOWN
    notes: Text | None = None


class _CreateValues(Struct, forbid_unknown_fields=True):
    ref: Annotated[str, Meta(min_length=1, max_length=40)]
    kind: CaseKind
    channel: Channel
    persons: Annotated[list[_Person], Meta(min_length=1, max_length=MAX_PERSONS)]
    codeword_salt: HexText
    codeword_digest: HexText
    location: Text | None = None
    callback: Text | None = None
    notes: Text | None = None
    group_size: Annotated[int, Meta(ge=1, le=10_000)] | None = None
    condition: Text | None = None
    meeting_point: Text | None = None
    receiving_unit: Text | None = None
    window_start: Time | None = None
    window_end: Time | None = None
    outcome: Outcome | None = None
    outcome_notes: Text | None = None
    duplicate_of: SiteId | None = None
    reason: Text | None = None


class _Op(Struct, tag_field="kind", forbid_unknown_fields=True):
    op: Stamp
    at: Time
    by: UserName | None


class _CreateOp(_Op, tag=oplog.CREATE):
    values: _CreateValues


# A set op's fields depend on its group, which the schema cannot follow: it bounds each
# value here and _set_ok checks the group's keys and formats.
_HistoryFields = dict[Annotated[str, Meta(min_length=1, max_length=64)], Text]
_SetValue = Text | int | _HistoryFields | None


class _SetOp(_Op, tag=oplog.SET):
    values: dict[str, _SetValue]
    group: str
    parents: Annotated[list[Stamp], Meta(max_length=MAX_PARENTS)]


class _ContactValues(Struct, forbid_unknown_fields=True):
    channel: Channel
    stage: ContactStage
    summary: Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)]


class _ContactOp(_Op, tag=oplog.CONTACT):
    values: _ContactValues


class _CodewordValues(Struct, forbid_unknown_fields=True):
    success: bool
    flag_after: Annotated[int, Meta(ge=1, le=100)]


class _CodewordOp(_Op, tag=oplog.CODEWORD):
    values: _CodewordValues


class _CaseRecord(Struct, forbid_unknown_fields=True):
    case: SiteId
    ops: Annotated[
        list[_CreateOp | _SetOp | _ContactOp | _CodewordOp],
        Meta(min_length=1, max_length=MAX_OPS_PER_CASE),
    ]


class _AuditEntry(Struct, forbid_unknown_fields=True):
    seq: Annotated[int, Meta(ge=1, le=2**53)]
    at: Time
    actor: Annotated[str, Meta(max_length=200)]
    action: Annotated[str, Meta(min_length=1, max_length=64, pattern="^[a-z_]+$")]
    case: SiteId | None
    detail: Annotated[str, Meta(max_length=MAX_AUDIT_DETAIL)]


class _AuditRecord(Struct, forbid_unknown_fields=True):
    type: Literal["audit"]
    origin: SiteId
    entries: Annotated[list[_AuditEntry], Meta(min_length=1, max_length=AUDIT_ENTRIES_PER_LINE)]


class _EndRecord(Struct, forbid_unknown_fields=True):
    type: Literal["end"]
    cases: Annotated[int, Meta(ge=0)]


_CASE_RECORD = msgspec.json.Decoder(_CaseRecord)
_END_RECORD = msgspec.json.Decoder(_EndRecord)
_AUDIT_RECORD = msgspec.json.Decoder(_AuditRecord)
_PLAIN = msgspec.json.Decoder()

_STATUSES = frozenset(status.value for status in Status)
_OUTCOMES = frozenset(outcome.value for outcome in Outcome)
_GROUP_KEYS = {group: frozenset(names) for group, names in oplog.FIELD_GROUPS.items()}
_STATUS_KEYS = frozenset({"status", "from", "fields"})
_TEXT_FIELDS = frozenset(
    {"location", "callback", "notes", "condition", "meeting_point", "receiving_unit",
     "outcome_notes", "reason"}
)
# [0-9], not \d: other scripts' digits are digits to Python's re and int().
_DATE_PATTERN = r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_TIME_PATTERN = _DATE_PATTERN + r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z"
_STAMP_PATTERN = r"[0-9]{13}:[0-9]{4}:[0-9a-f]{32}"
# Every stamp (or time, or date) of a line joined by spaces, checked by one match.
_STAMPS = re.compile(f"{_STAMP_PATTERN}(?: {_STAMP_PATTERN})*")
_TIMES = re.compile(f"{_TIME_PATTERN}(?: {_TIME_PATTERN})*")
_DATES = re.compile(f"(?:{_DATE_PATTERN}(?: {_DATE_PATTERN})*)?")
_TIME = re.compile(_TIME_PATTERN)
_REF = re.compile(r"[A-Za-z0-9-]{1,40}")
_HEX = re.compile(r"(?:[0-9a-f]{2}){8,64}")


def _field_ok(name: str, value: Any) -> bool:
    """A field of a set op, whose value the schema bounded to text, int or None."""
    if value is None:
        return True
    if name in _TEXT_FIELDS:
        return type(value) is str
    if name == "group_size":
        return type(value) is int and 1 <= value <= 10_000
    if name in ("window_start", "window_end"):
        return type(value) is str and _TIME.fullmatch(value) is not None
    if name == "outcome":
        return type(value) is str and value in _OUTCOMES
    if name == "duplicate_of":
        return type(value) is str and SITE_ID.fullmatch(value) is not None
    return False


def _set_ok(op: _SetOp) -> bool:
    values = op.values
    if op.group == oplog.STATUS_GROUP:
        status = values.get("status")
        previous = values.get("from")
        fields = values.get("fields")
        return (
            values.keys() == _STATUS_KEYS
            and type(status) is str
            and status in _STATUSES
            and (previous is None or (type(previous) is str and previous in _STATUSES))
            and type(fields) is dict
            and len(fields) <= MAX_HISTORY_FIELDS
        )
    keys = _GROUP_KEYS.get(op.group)
    return (
        keys is not None
        and values.keys() == keys
        and all(_field_ok(name, value) for name, value in values.items())
    )


@dataclass(frozen=True, slots=True)
class _Move:
    """What a status op of one workflow transition records in ``fields``."""

    required: frozenset[str]
    allowed: frozenset[str]
    kinds: frozenset[CaseKind] | None  # None: any kind of case


# Every (from, to) the workflow allows, as desktop.session.advance records it: the
# transition's fields, but the codeword, which is checked there and never kept.
_MOVES: dict[tuple[str, str], _Move] = {
    (source.value, transition.target.value): _Move(
        frozenset(transition.required) - {"codeword"},
        frozenset(transition.required).union(transition.optional) - {"codeword"},
        transition.kinds,
    )
    for transition in workflow.TRANSITIONS
    for source in transition.source
}
_REGISTERED = Status.REGISTERED.value  # what the create op makes a case


def _concurrent(versions: Sequence[str], parents_of: Mapping[str, Sequence[str]]) -> bool:
    """Whether none of the versions replaced another, however indirectly."""
    chosen = set(versions)
    for version in versions:
        seen: set[str] = set()
        waiting = list(parents_of.get(version, ()))
        while waiting:
            older = waiting.pop()
            if older in chosen:
                return False
            if older not in seen:
                seen.add(older)
                waiting += parents_of.get(older, ())
    return True


def _check_moves(
    case_id: str, create: _CreateOp, status_ops: list[tuple[int, _SetOp]]
) -> None:
    """Each status op is a move the workflow allows, from the status of the version it
    replaces, with the fields its target requires (see db.sync.resolve_conflict for the
    other kind: a manager keeping one of a conflict's versions)."""
    statuses = {op.op: op.values["status"] for _, op in status_ops}
    statuses[create.op] = _REGISTERED
    parents_of = {op.op: op.parents for _, op in status_ops}
    for index, op in status_ops:
        values: dict[str, Any] = op.values  # its shape checked by _set_ok
        fields: dict[str, str] = values["fields"]
        # A case travels whole: the versions an op replaced travel with it.
        replaced = [statuses.get(parent) for parent in op.parents]
        if None in replaced:
            raise _reject(f"at ops[{index}].parents: a status it replaces is not in the case")
        if "resolved" in fields:  # no transition has such a field
            # As db.sync.resolve_conflict writes it: the versions of a conflict, none of
            # which replaced another, one of them kept, and the conflict's own id.
            if not (
                len(fields) == 1
                and len(op.parents) >= 2
                and fields["resolved"] == conflict_id(case_id, oplog.STATUS_GROUP, op.parents)
                and values["status"] in replaced
                and values["from"] in replaced
                and _concurrent(op.parents, parents_of)
            ):
                raise _reject(f"at ops[{index}].values: not a resolved conflict")
            continue
        move = _MOVES.get((values["from"], values["status"]))
        if move is None or (move.kinds is not None and create.values.kind not in move.kinds):
            raise _reject(f"at ops[{index}].values: a status change the workflow does not allow")
        if len(op.parents) != 1 or replaced[0] != values["from"]:
            raise _reject(f"at ops[{index}].values.from: not the status it replaces")
        if not (
            move.required <= fields.keys() <= move.allowed
            and all(fields[name].strip() for name in move.required)
        ):
            raise _reject(f"at ops[{index}].values.fields: not the fields of its status change")


def _check_patterns(record: _CaseRecord, latest_ms: int) -> None:
    """What the schema cannot check: the formats of stamps, times, codes, set ops and text,
    and the moves of the status."""
    stamps: list[str] = []
    times: list[str] = []
    dates: list[str] = []
    texts: list[str] = []
    status_ops: list[tuple[int, _SetOp]] = []
    create: _CreateOp | None = None
    for index, op in enumerate(record.ops):
        stamps.append(op.op)
        times.append(op.at)
        if op.by is not None:
            texts.append(op.by)
        if type(op) is _SetOp:
            stamps += op.parents
            # A change replaces versions its site had seen, so each is older than it: a
            # change that replaces itself, or a newer one, would make a loop of versions.
            if any(parent >= op.op for parent in op.parents):
                raise _reject(f"at ops[{index}].parents: not older than the change")
            if not _set_ok(op):
                raise _reject(f"the fields of a {op.group} change")
            if op.group == oplog.STATUS_GROUP:
                status_ops.append((index, op))
                fields: Any = op.values["fields"]  # a dict of text, said _set_ok
                texts += fields.values()
            else:
                texts += [value for value in op.values.values() if type(value) is str]
        elif type(op) is _CreateOp:
            create, values = op, op.values
            if not (
                _REF.fullmatch(values.ref)
                and _HEX.fullmatch(values.codeword_salt)
                and _HEX.fullmatch(values.codeword_digest)
                and (values.duplicate_of is None or SITE_ID.fullmatch(values.duplicate_of))
            ):
                raise _reject("the fields of a create change")
            times += [t for t in (values.window_start, values.window_end) if t is not None]
            texts += filter(None, _CASE_TEXTS(values))
            for person in values.persons:
                if person.birth_date is not None:
                    dates.append(person.birth_date)
                texts += filter(None, _PERSON_TEXTS(person))
        elif type(op) is _ContactOp:
            texts.append(op.values.summary)
    if create is None:
        # Every site sends a case whole, its creation first among its changes: without it
        # the status changes of the line could not be checked against what they replace.
        raise _reject("the case's creation is missing")
    if not (SITE_ID.fullmatch(record.case) and _STAMPS.fullmatch(" ".join(stamps))):
        raise _reject("a case or change id")
    if not (_TIMES.fullmatch(" ".join(times)) and _DATES.fullmatch(" ".join(dates))):
        raise _reject("a time or date")
    if int(max(op.op for op in record.ops)[:13]) > latest_ms:
        raise PayloadRejected(
            "the transfer file holds changes stamped more than a day ahead of this"
            " computer's clock; check the clocks of both sites"
        )
    if status_ops:
        _check_moves(record.case, create, status_ops)
    _check_texts(record, "".join(texts))


# --- text ---------------------------------------------------------------------------------
#
# Text from another site keeps the rules of text entered here (desktop.case_json,
# desktop.workflow, desktop.session): no control or invisible character, line breaks and
# tabs only in a box of several lines, and no character the sheet's fonts lack in what the
# handoff sheet prints. (line breaks allowed, printed) for each field:
_ONE_LINE = (False, False)
_CASE_TEXT = {
    "location": _ONE_LINE,
    "callback": _ONE_LINE,
    "notes": (True, False),
    "condition": (True, True),
    "meeting_point": (False, True),
    "receiving_unit": (False, True),
    "outcome_notes": (True, False),
    "reason": (True, False),
}
_PERSON_TEXT = {
    "full_name": (False, True),
    "phone": _ONE_LINE,
    "rank": (False, True),
    "unit": (False, True),
    "notes": (True, True),
}


def _texts(record: _CaseRecord) -> Iterator[tuple[str, str, bool, bool]]:
    """(place, text, line breaks allowed, printed) of every text of a case line."""
    for index, op in enumerate(record.ops):
        where = f"ops[{index}]"
        if op.by is not None:
            yield f"{where}.by", op.by, False, False
        if type(op) is _CreateOp:
            values = op.values
            for name, (lines, printed) in _CASE_TEXT.items():
                text = getattr(values, name)
                if text is not None:
                    yield f"{where}.values.{name}", text, lines, printed
            for number, person in enumerate(values.persons):
                for name, (lines, printed) in _PERSON_TEXT.items():
                    text = getattr(person, name)
                    if text is not None:
                        yield f"{where}.values.persons[{number}].{name}", text, lines, printed
        elif type(op) is _SetOp:
            for name, value in op.values.items():
                if type(value) is str:
                    yield f"{where}.values.{name}", value, *_CASE_TEXT.get(name, _ONE_LINE)
                elif type(value) is dict:  # a status change's fields, by now known names
                    for key, text in value.items():
                        yield f"{where}.values.{name}.{key}", text, *_CASE_TEXT.get(key, _ONE_LINE)
        elif type(op) is _ContactOp:
            yield f"{where}.values.summary", op.values.summary, True, False


_CASE_TEXTS = operator.attrgetter(*_CASE_TEXT)
_PERSON_TEXTS = operator.attrgetter(*_PERSON_TEXT)


def _check_texts(record: _CaseRecord, joined: str) -> None:
    """Every text of the case keeps the rules of its field; ``joined`` is all of them."""
    # Nearly always every character is printable, and printed by the sheet's fonts: two
    # scans in C over all the texts at once; then no field needs its own rule.
    if joined.isprintable() and printable(joined):
        return
    for place, text, lines, printed in _texts(record):
        if holds_hidden_characters(text, lines=lines):
            raise _reject(f"at {place}: {HIDDEN_CHARACTERS}")
        if printed and not printable(text):
            raise _reject(f"at {place}: {UNPRINTABLE}")


def _schema_error(error: msgspec.MsgspecError) -> PayloadRejected:
    # msgspec's message may quote a value; only the place in the record is passed on.
    _, _, place = str(error).partition(" - at `$")
    return _reject(f"at {place.strip('.`')}" if place else "not JSON")


@dataclass(frozen=True, slots=True)
class CaseLine:
    """One case of the payload: its ops, and their JSON array when it can be stored as is."""

    case_id: str
    ops: list[Op]
    array: bytes | None


def parse_case_line(line: bytes, latest_ms: int) -> CaseLine:
    """A ``{"case": id, "ops": [...]}`` line, every op checked."""
    try:
        record = _CASE_RECORD.decode(line)
    except msgspec.MsgspecError as error:
        raise _schema_error(error) from None
    _check_patterns(record, latest_ms)
    case_id = record.case
    ops = [oplog.op_from_json(case_id, raw) for raw in _PLAIN.decode(line)["ops"]]
    ids = [op.id for op in ops]
    ordered = all(a < b for a, b in itertools.pairwise(ids))
    prefix = b'{"case":"' + case_id.encode("ascii") + b'","ops":'
    # Our own exports write this exact shape; the array then goes into the log as it is.
    array = None
    if ordered and line.startswith(prefix) and line.endswith(b"}"):
        array = line[len(prefix) : -1]
    return CaseLine(case_id, ops, array)


def case_line(case_id: str, array: bytes) -> bytes:
    """One case's payload line, from its op array (JSON, UTF-8)."""
    return b'{"case":"' + case_id.encode("ascii") + b'","ops":' + array + b"}\n"


def audit_line(entries: Sequence[Entry]) -> bytes:
    """Entries of one site's audit log, in order, as one payload line."""
    document = {
        "type": "audit",
        "origin": entries[0].origin,
        "entries": [
            {"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "case": e.case_id,
             "detail": e.detail}
            for e in entries
        ],
    }
    return (oplog.canonical_json(document) + "\n").encode("utf-8")


def _audit_entries(line: bytes) -> list[Entry] | None:
    """The entries of an audit line; None if the line is not one."""
    try:
        record = _AUDIT_RECORD.decode(line)
    except msgspec.MsgspecError:
        return None
    if not SITE_ID.fullmatch(record.origin) or not _TIMES.fullmatch(
        " ".join(entry.at for entry in record.entries)
    ):
        raise _reject("an audit entry")
    if any(e.case is not None and not SITE_ID.fullmatch(e.case) for e in record.entries) or not all(
        a.seq < b.seq for a, b in itertools.pairwise(record.entries)
    ):
        raise _reject("an audit entry")
    # A control character in an actor or detail is taken as written (an older desk wrote
    # file names as they were, and a log cannot be mended): it is shown through visible().
    return [
        Entry(record.origin, e.seq, e.at, e.actor, e.action, e.case, e.detail)
        for e in record.entries
    ]


def _end_count(line: bytes) -> int | None:
    """The case count of an end line; None if the line is not one."""
    try:
        return _END_RECORD.decode(line).cases
    except msgspec.MsgspecError:
        return None


@dataclass(slots=True)
class Records:
    """Reads the decrypted lines in order: the header first, then each case, then the end."""

    manifest: Manifest
    latest_ms: int
    header: Header | None = None
    cases_seen: int = 0
    ended: bool = False

    def take(self, line: bytes) -> CaseLine | list[Entry] | None:
        """The case or audit entries on this line; None for the header and the end line."""
        if self.ended:
            raise _reject("data after the end of the payload")
        if self.header is None:
            self.header = parse_header(line, self.manifest)
            return None
        if len(line) > MAX_LINE:
            raise _reject("a record is too large")
        try:
            case = parse_case_line(line, self.latest_ms)
        except PayloadRejected:
            entries = _audit_entries(line)
            if entries is not None:
                return entries
            ended = _end_count(line)
            if ended is None:
                raise
            if ended != self.cases_seen:
                raise _reject("the payload's end does not match its records") from None
            self.ended = True
            return None
        self.cases_seen += 1
        return case

    def finish(self) -> Header:
        """The header, once the end line has been read; else PayloadRejected."""
        if self.header is None or not self.ended:
            raise PayloadRejected("the payload is incomplete")
        return self.header
