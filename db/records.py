"""What Haven keeps, said once: plain dataclasses and enums passed between the layers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Status(enum.StrEnum):
    REGISTERED = "registered"
    CONFIRMED = "confirmed"
    HANDOFF_ARRANGED = "handoff_arranged"
    HANDED_OFF = "handed_off"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    DUPLICATE = "duplicate"


OPEN_STATUSES = frozenset(
    {Status.REGISTERED, Status.CONFIRMED, Status.HANDOFF_ARRANGED, Status.HANDED_OFF}
)


class CaseKind(enum.StrEnum):
    SURRENDER = "surrender"
    CONSULTATION = "consultation"
    OTHER = "other"


class Channel(enum.StrEnum):
    PHONE = "phone"
    MESSENGER = "messenger"
    OTHER = "other"


class Mobilization(enum.StrEnum):
    MOBILIZED = "mobilized"
    PARTIALLY_MOBILIZED = "partially_mobilized"
    NOT_MOBILIZED = "not_mobilized"
    CONTRACT = "contract"
    UNKNOWN = "unknown"


class Role(enum.StrEnum):
    OPERATOR = "operator"
    MANAGER = "manager"
    IT = "it"
    ADMIN = "admin"


class Outcome(enum.StrEnum):
    PRISONER_EXCHANGE = "prisoner_exchange"
    DETENTION = "detention"
    STAY_IN_COUNTRY = "stay_in_country"
    EMIGRATION = "emigration"
    OTHER = "other"


class ContactStage(enum.StrEnum):
    FIRST_CONTACT = "first_contact"
    CONFIRMATION = "confirmation"
    HANDOFF = "handoff"
    FOLLOW_UP = "follow_up"


@dataclass(frozen=True, slots=True)
class Person:
    """One person of a case; a case can speak for a whole group."""

    full_name: str
    birth_date: str | None = None  # ISO date, YYYY-MM-DD
    phone: str | None = None  # E.164 when it could be parsed, else as given
    rank: str | None = None
    unit: str | None = None
    mobilization: Mobilization = Mobilization.UNKNOWN
    notes: str | None = None  # distinguishing features
    id: int | None = None


@dataclass(frozen=True, slots=True)
class NewCase:
    """What an operator records at first contact."""

    kind: CaseKind
    channel: Channel
    persons: tuple[Person, ...]
    location: str | None = None
    callback: str | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    ref: str
    kind: CaseKind
    channel: Channel
    status: Status
    persons: tuple[Person, ...]
    created_at: datetime
    updated_at: datetime
    created_by: str
    origin_site: str
    location: str | None = None
    callback: str | None = None
    notes: str | None = None
    group_size: int | None = None
    condition: str | None = None
    meeting_point: str | None = None
    receiving_unit: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    outcome: Outcome | None = None
    outcome_notes: str | None = None
    duplicate_of: str | None = None
    reason: str | None = None
    flagged: bool = False
    failed_codeword_attempts: int = 0
    last_contact_at: datetime | None = None
    status_changed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """One row of the case queue: enough to show and sort, nothing more."""

    id: str
    ref: str
    status: Status
    names: str
    status_changed_at: datetime
    last_contact_at: datetime | None
    created_by: str
    flagged: bool


@dataclass(frozen=True, slots=True)
class ContactEntry:
    case_id: str
    at: datetime
    channel: Channel
    operator: str
    stage: ContactStage
    summary: str
    id: int | None = None


@dataclass(frozen=True, slots=True)
class StatusChange:
    case_id: str
    from_status: Status | None
    to_status: Status
    at: datetime
    by: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CodewordAttempt:
    case_id: str
    at: datetime
    by: str
    success: bool


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    case_id: str | None
    detail: str
    leaf_hash: bytes
    chain_hash: bytes


@dataclass(frozen=True, slots=True)
class SiteInfo:
    site_id: str
    name: str
    ref_prefix: str
