"""The payload inside ``payload.age``: JSON Lines of a header, one line per case, an end line.

A case line is ``{"case": <id>, "ops": [<op>, ...]}`` with every op of the case the
sender holds (see db.oplog), so a case always travels whole. The header repeats the
manifest's sender, epoch, recipients and sequence numbers (so a payload cannot be moved
under another manifest) and carries what the sender has seen of each recipient, which is
how the next export to it shrinks. Every op is checked against
a strict schema here, with size limits, before anything is written.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

from db import oplog
from db.oplog import Op
from db.records import CaseKind, Channel, ContactStage, Mobilization, Outcome, Status
from desktop.errors import InputRejected
from desktop.transfer.identity import SITE_ID
from desktop.transfer.transfer_file import Manifest

FORMAT = "haven-payload-v1"
MAX_LINE = 8 * 1024 * 1024
MAX_PERSONS = 200
MAX_NAME = 300
MAX_TEXT = 2000
MAX_USER = 64
MAX_PARENTS = 32
MAX_HISTORY_FIELDS = 20
# A stamp further ahead of our clock than this is a broken clock, not a real edit.
MAX_CLOCK_AHEAD_MS = 24 * 3600 * 1000

_REF = re.compile(r"[A-Za-z0-9-]{1,40}")
_HEX = re.compile(r"(?:[0-9a-f]{2}){8,64}")
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
    if not isinstance(raw, dict) or set(raw) != keys or raw["type"] != "header":
        raise PayloadRejected("the transfer file's payload has no valid header")
    if raw["format"] != FORMAT:
        raise PayloadRejected("the payload is of a format this Haven does not read")
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
# The checks below only look: an op that passes is stored exactly as it came, so every
# site holds the same text of it. They are written for speed (an import of 100,000
# cases runs them over a million times): set membership and isinstance, no enum objects.

_STATUSES = frozenset(status.value for status in Status)
_KINDS = frozenset(kind.value for kind in CaseKind)
_CHANNELS = frozenset(channel.value for channel in Channel)
_STAGES = frozenset(stage.value for stage in ContactStage)
_MOBILIZATIONS = frozenset(value.value for value in Mobilization)
_OUTCOMES = frozenset(outcome.value for outcome in Outcome)
_TIME = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z"
)
_DATE = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])")
_PERSON_KEYS = frozenset(
    {"full_name", "birth_date", "phone", "rank", "unit", "mobilization", "notes"}
)
_CREATE_REQUIRED = frozenset(
    {"ref", "kind", "channel", "persons", "codeword_salt", "codeword_digest"}
)
_CASE_FIELDS = frozenset(oplog.CASE_FIELDS)
_CREATE_KEYS = _CREATE_REQUIRED | _CASE_FIELDS
_SET_KEYS = frozenset({"op", "kind", "at", "by", "values", "group", "parents"})
_OTHER_KEYS = frozenset({"op", "kind", "at", "by", "values"})
_STATUS_KEYS = frozenset({"status", "from", "fields"})
_CONTACT_KEYS = frozenset({"channel", "stage", "summary"})
_CODEWORD_KEYS = frozenset({"success", "flag_after"})
_GROUP_KEYS = {group: frozenset(names) for group, names in oplog.FIELD_GROUPS.items()}
_TEXT_FIELDS = frozenset(
    {"location", "callback", "notes", "condition", "meeting_point", "receiving_unit",
     "outcome_notes", "reason"}
)
MAX_OPS_PER_CASE = 10_000


def _optional_text(value: Any, limit: int = MAX_TEXT) -> bool:
    return value is None or (type(value) is str and len(value) <= limit)


def _field_ok(name: str, value: Any) -> bool:
    if value is None:
        return True
    if name in _TEXT_FIELDS:
        return type(value) is str and len(value) <= MAX_TEXT
    if name == "group_size":
        return type(value) is int and 1 <= value <= 10_000
    if name in ("window_start", "window_end"):
        return type(value) is str and _TIME.fullmatch(value) is not None
    if name == "outcome":
        return value in _OUTCOMES
    if name == "duplicate_of":
        return type(value) is str and SITE_ID.fullmatch(value) is not None
    return False


def _person_ok(raw: Any) -> bool:
    if type(raw) is not dict or not raw.keys() <= _PERSON_KEYS:
        return False
    name = raw.get("full_name")
    birth = raw.get("birth_date")
    return (
        type(name) is str
        and 0 < len(name) <= MAX_NAME
        and (birth is None or (type(birth) is str and _DATE.fullmatch(birth) is not None))
        and _optional_text(raw.get("phone"), 40)
        and _optional_text(raw.get("rank"), MAX_NAME)
        and _optional_text(raw.get("unit"), MAX_NAME)
        and raw.get("mobilization", "unknown") in _MOBILIZATIONS
        and _optional_text(raw.get("notes"))
    )


def _create_ok(values: Any) -> bool:
    if type(values) is not dict or not _CREATE_REQUIRED <= values.keys() <= _CREATE_KEYS:
        return False
    persons = values["persons"]
    ref = values["ref"]
    salt = values["codeword_salt"]
    digest = values["codeword_digest"]
    return (
        type(ref) is str
        and _REF.fullmatch(ref) is not None
        and values["kind"] in _KINDS
        and values["channel"] in _CHANNELS
        and type(salt) is str
        and _HEX.fullmatch(salt) is not None
        and type(digest) is str
        and _HEX.fullmatch(digest) is not None
        and type(persons) is list
        and 0 < len(persons) <= MAX_PERSONS
        and all(_person_ok(person) for person in persons)
        and all(_field_ok(name, values[name]) for name in values.keys() & _CASE_FIELDS)
    )


def _status_ok(values: Any) -> bool:
    if type(values) is not dict or values.keys() != _STATUS_KEYS:
        return False
    fields = values["fields"]
    previous = values["from"]
    return (
        values["status"] in _STATUSES
        and (previous is None or previous in _STATUSES)
        and type(fields) is dict
        and len(fields) <= MAX_HISTORY_FIELDS
        and all(
            type(k) is str and 0 < len(k) <= 64 and type(v) is str and len(v) <= MAX_TEXT
            for k, v in fields.items()
        )
    )


def _set_ok(group: Any, values: Any) -> bool:
    if group == oplog.STATUS_GROUP:
        return _status_ok(values)
    keys = _GROUP_KEYS.get(group) if type(group) is str else None
    return (
        keys is not None
        and type(values) is dict
        and values.keys() == keys
        and all(_field_ok(name, value) for name, value in values.items())
    )


def _contact_ok(values: Any) -> bool:
    if type(values) is not dict or values.keys() != _CONTACT_KEYS:
        return False
    summary = values["summary"]
    return (
        values["channel"] in _CHANNELS
        and values["stage"] in _STAGES
        and type(summary) is str
        and 0 < len(summary) <= MAX_TEXT
    )


def _codeword_ok(values: Any) -> bool:
    if type(values) is not dict or values.keys() != _CODEWORD_KEYS:
        return False
    flag_after = values["flag_after"]
    return type(values["success"]) is bool and type(flag_after) is int and 1 <= flag_after <= 100


def parse_op(case_id: str, raw: Any, latest_ms: int) -> Op:
    """One op of a case, strictly checked; ``latest_ms`` bounds how far ahead its clock may be."""
    if type(raw) is not dict:
        raise _reject("a change is not an object")
    kind = raw.get("kind")
    if raw.keys() != (_SET_KEYS if kind == oplog.SET else _OTHER_KEYS):
        raise _reject("a change has unknown or missing fields")
    stamp = raw["op"]
    at = raw["at"]
    by = raw["by"]
    values = raw["values"]
    if type(stamp) is not str or not _STAMP.fullmatch(stamp):
        raise _reject("a change id")
    if int(stamp[:13]) > latest_ms:
        raise PayloadRejected(
            "the transfer file holds changes stamped more than a day ahead of this"
            " computer's clock; check the clocks of both sites"
        )
    if type(at) is not str or not _TIME.fullmatch(at):
        raise _reject("the time of a change")
    if not _optional_text(by, MAX_USER):
        raise _reject("a user name")
    if kind == oplog.SET:
        group = raw["group"]
        parents = raw["parents"]
        if not _set_ok(group, values):
            raise _reject("the fields of a change")
        if (
            type(parents) is not list
            or len(parents) > MAX_PARENTS
            or not all(type(p) is str and _STAMP.fullmatch(p) for p in parents)
        ):
            raise _reject("the parents of a change")
        return Op(stamp, case_id, kind, at, by, values, group, tuple(parents))
    if kind == oplog.CREATE:
        ok = _create_ok(values)
    elif kind == oplog.CONTACT:
        ok = _contact_ok(values)
    elif kind == oplog.CODEWORD:
        ok = _codeword_ok(values)
    else:
        raise _reject("an unknown kind of change")
    if not ok:
        raise _reject(f"the fields of a {kind} change")
    return Op(stamp, case_id, kind, at, by, values)


_STAMP = re.compile(r"\d{13}:\d{4}:[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class CaseLine:
    """One case of the payload: its ops, and their JSON text when it can be stored as is."""

    case_id: str
    ops: list[Op]
    ops_text: str | None


def parse_case_line(line: bytes, raw: Any, latest_ms: int) -> CaseLine:
    """A ``{"case": id, "ops": [...]}`` line (and its parsed JSON), every op checked."""
    if type(raw) is not dict or raw.keys() != {"case", "ops"}:
        raise _reject("a case record")
    case_id = raw["case"]
    raw_ops = raw["ops"]
    if type(case_id) is not str or not SITE_ID.fullmatch(case_id):
        raise _reject("a case id")
    if type(raw_ops) is not list or not 0 < len(raw_ops) <= MAX_OPS_PER_CASE:
        raise _reject("the changes of a case")
    ops = [parse_op(case_id, op, latest_ms) for op in raw_ops]
    ids = [op.id for op in ops]
    ordered = all(a < b for a, b in itertools.pairwise(ids))
    prefix = b'{"case":"' + case_id.encode("ascii") + b'","ops":'
    # Our own exports write this exact shape; the ops text then goes into the log unparsed.
    text = None
    if ordered and line.startswith(prefix) and line.endswith(b"}"):
        text = line[len(prefix) : -1].decode("utf-8")
    return CaseLine(case_id, ops, text)


def case_line(case_id: str, ops_text: str) -> bytes:
    """One case's payload line, from its stored ops array."""
    return ('{"case":"' + case_id + '","ops":' + ops_text + "}\n").encode("utf-8")


@dataclass(slots=True)
class Records:
    """Reads the decrypted lines in order: the header first, then each case, then the end."""

    manifest: Manifest
    latest_ms: int
    header: Header | None = None
    cases_seen: int = 0
    ended: bool = False

    def take(self, line: bytes) -> CaseLine | None:
        """The case on this line; None for the header and the end line."""
        if self.ended:
            raise _reject("data after the end of the payload")
        if self.header is None:
            self.header = parse_header(line, self.manifest)
            return None
        raw = _loads(line)
        if type(raw) is dict and "type" in raw:
            if raw != {"type": "end", "cases": self.cases_seen}:
                raise _reject("the payload's end does not match its records")
            self.ended = True
            return None
        self.cases_seen += 1
        return parse_case_line(line, raw, self.latest_ms)

    def finish(self) -> Header:
        """The header, once the end line has been read; else PayloadRejected."""
        if self.header is None or not self.ended:
            raise PayloadRejected("the payload is incomplete")
        return self.header
