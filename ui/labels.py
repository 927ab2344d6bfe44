"""What the operator reads for each status, kind, channel, field and time span.

Labels are marked with N_ where defined and translated with _ when shown, so a change
of language takes effect on the next window built.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum

from db.records import CaseKind, Channel, ContactStage, Mobilization, Outcome, Role, Status
from desktop.i18n import N_, _, ngettext

# Several enums share a value ("other" is a kind, a channel and an outcome): each label is
# keyed by its enum too.
_ENUM_LABELS: dict[tuple[type[Enum], Enum], str] = {
    (type(member), member): text for member, text in (
        (Status.REGISTERED, N_("registered")),
        (Status.CONFIRMED, N_("confirmed")),
        (Status.HANDOFF_ARRANGED, N_("handoff arranged")),
        (Status.HANDED_OFF, N_("handed off")),
        (Status.CLOSED, N_("closed")),
        (Status.WITHDRAWN, N_("withdrawn")),
        (Status.DUPLICATE, N_("duplicate")),
        (CaseKind.SURRENDER, N_("surrender")),
        (CaseKind.CONSULTATION, N_("consultation")),
        (CaseKind.OTHER, N_("other")),
        (Channel.PHONE, N_("phone")),
        (Channel.MESSENGER, N_("messenger")),
        (Channel.OTHER, N_("other channel")),
        (Mobilization.MOBILIZED, N_("mobilized")),
        (Mobilization.PARTIALLY_MOBILIZED, N_("partially mobilized")),
        (Mobilization.NOT_MOBILIZED, N_("not yet mobilized")),
        (Mobilization.CONTRACT, N_("contract")),
        (Mobilization.UNKNOWN, N_("unknown")),
        (Outcome.PRISONER_EXCHANGE, N_("prisoner exchange")),
        (Outcome.DETENTION, N_("detention")),
        (Outcome.STAY_IN_COUNTRY, N_("stay in the country")),
        (Outcome.EMIGRATION, N_("emigration")),
        (Outcome.OTHER, N_("other outcome")),
        (ContactStage.FIRST_CONTACT, N_("first contact")),
        (ContactStage.CONFIRMATION, N_("confirmation")),
        (ContactStage.HANDOFF, N_("handoff")),
        (ContactStage.FOLLOW_UP, N_("follow-up")),
        (Role.OPERATOR, N_("operator")),
        (Role.MANAGER, N_("manager")),
        (Role.IT, N_("IT officer")),
        (Role.ADMIN, N_("administrator")),
    )
}

# Field names of the workflow and the case JSON, as the forms label them.
_FIELD_LABELS: dict[str, str] = {
    "kind": N_("Kind"),
    "channel": N_("Channel"),
    "full_name": N_("Full name"),
    "birth_date": N_("Birth date"),
    "phone": N_("Phone"),
    "rank": N_("Rank"),
    "unit": N_("Unit"),
    "mobilization": N_("Mobilization"),
    "features": N_("Features"),  # a person's distinguishing features (their "notes")
    "location": N_("Location"),
    "callback": N_("Callback handle"),
    "notes": N_("Notes"),
    "codeword": N_("Codeword"),
    "group_size": N_("Group size"),
    "condition": N_("Condition"),
    "meeting_point": N_("Meeting point"),
    "receiving_unit": N_("Receiving unit"),
    "window_start": N_("Window from"),
    "window_end": N_("Window until"),
    "received_by": N_("Received by"),
    "outcome": N_("Outcome"),
    "outcome_notes": N_("Outcome notes"),
    "duplicate_of": N_("Duplicate of (reference)"),
    "reason": N_("Reason"),
}

# What each audit entry records, as the audit log shows it; a code not listed is shown as is.
_AUDIT_ACTIONS: dict[str, str] = {
    "site_created": N_("site created"),
    "login": N_("logged in"),
    "login_failed": N_("failed login"),
    "login_refused": N_("login refused"),
    "unlocked": N_("unlocked"),
    "unlock_failed": N_("failed unlock"),
    "user_added": N_("account added"),
    "user_disabled": N_("account disabled"),
    "password_changed": N_("password changed"),
    "vault_rekeyed": N_("vault re-encrypted under a new key"),
    "recovery_key_used": N_("recovery key used"),
    "case_registered": N_("case registered"),
    "case_viewed": N_("case viewed"),
    "case_advanced": N_("case status changed"),
    "case_flagged": N_("case flagged"),
    "contact_added": N_("contact added"),
    "codeword_verified": N_("codeword matched"),
    "codeword_failed": N_("codeword did not match"),
    "conflict_resolved": N_("conflict resolved"),
    "demo_cases_added": N_("demo cases added"),
    "handoff_printed": N_("handoff sheet printed"),
    "handoff_reprinted": N_("handoff sheet reprinted"),
    "sheet_verified": N_("handoff sheet checked"),
    "site_list_changed": N_("site list changed"),
    "audit_listed": N_("audit log read"),
    "audit_verified": N_("audit log verified"),
    "backup_made": N_("backup made"),
    "restored_from_backup": N_("restored from a backup"),
    "key_card_printed": N_("key card made"),
    "site_identity_exported": N_("site identity exported"),
    "peer_added": N_("peer added"),
    "peer_revoked": N_("peer revoked"),
    "peer_checkpoint_reset": N_("peer checkpoint reset"),
    "transfer_exported": N_("transfer file exported"),
    "transfer_imported": N_("transfer file imported"),
    "transfer_refused": N_("transfer file refused"),
    "transfer_verified": N_("transfer file checked"),
}


def audit_action(code: str) -> str:
    """An audit entry's action in the interface language (another site's may be newer)."""
    label = _AUDIT_ACTIONS.get(code)
    return _(label) if label else code


# What each transition is called on its button, by target status.
_TRANSITION_LABELS: dict[Status, str] = {
    Status.CONFIRMED: N_("&Confirm…"),
    Status.HANDOFF_ARRANGED: N_("&Arrange handoff…"),
    Status.HANDED_OFF: N_("Mark &handed off…"),
    Status.CLOSED: N_("Record &outcome…"),
    Status.WITHDRAWN: N_("&Withdraw…"),
    Status.DUPLICATE: N_("Mark d&uplicate…"),
}


def label(value: Enum) -> str:
    """The translated name of a status, kind, channel, mobilization, outcome, stage or role."""
    return _(_ENUM_LABELS[type(value), value])


def field_label(name: str) -> str:
    return _(_FIELD_LABELS.get(name, name))


def transition_label(target: Status) -> str:
    """The button text of a step, with its Alt+letter mnemonic."""
    return _(_TRANSITION_LABELS.get(target, _ENUM_LABELS[Status, target]))


def plain(text: str) -> str:
    """A button text without its mnemonic marker and trailing ellipsis, for a title."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…")


def age(since: datetime, now: datetime | None = None) -> str:
    """How long ago, in the largest whole unit: '12 minutes', '5 hours', '3 days'."""
    elapsed = (now or datetime.now(UTC)) - since
    if elapsed < timedelta(minutes=1):
        return _("just now")
    minutes = int(elapsed.total_seconds() // 60)
    if minutes < 60:
        return ngettext("{count} minute", "{count} minutes", minutes).format(count=minutes)
    hours = minutes // 60
    if hours < 48:
        return ngettext("{count} hour", "{count} hours", hours).format(count=hours)
    days = hours // 24
    return ngettext("{count} day", "{count} days", days).format(count=days)


def birth_date(iso: str | None) -> str:
    """A stored YYYY-MM-DD birth date as it is written here: DD.MM.YYYY."""
    if not iso or len(iso) != 10:
        return iso or ""
    return f"{iso[8:10]}.{iso[5:7]}.{iso[0:4]}"


def moment(value: datetime | None) -> str:
    """A stored UTC time in the workstation's local time, to the minute."""
    if value is None:
        return "—"
    return value.astimezone().strftime("%Y-%m-%d %H:%M")
