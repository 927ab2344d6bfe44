"""Who may do what: the one permission check that the CLI and the GUI both call."""

from __future__ import annotations

import enum
from collections.abc import Mapping

from db.records import Role
from desktop.errors import PermissionDenied


class Action(enum.StrEnum):
    VIEW_CASES = "view cases"
    REGISTER_CASE = "register a case"
    WORK_CASE = "work on a case"  # contacts, codeword checks, confirmation, arranging
    MANAGE_HANDOFF = "hand off and close cases"
    PRINT_HANDOFF = "print handoff sheets"
    MANAGE_SITE_LISTS = "edit meeting points and receiving units"
    MANAGE_USERS = "manage accounts"
    TRANSFER = "exchange transfer files or keys with other sites"
    BACKUP = "make and restore backups"
    VERIFY_AUDIT = "verify the audit log"
    SITE_ADMIN = "administer the site"
    MAKE_DEMO_DATA = "create demo cases"


_CASEWORK = frozenset({Action.VIEW_CASES, Action.REGISTER_CASE, Action.WORK_CASE})
_MANAGEMENT = frozenset(
    {Action.MANAGE_HANDOFF, Action.PRINT_HANDOFF, Action.MANAGE_SITE_LISTS, Action.VERIFY_AUDIT}
)
_IT = frozenset(
    {Action.MANAGE_USERS, Action.TRANSFER, Action.BACKUP, Action.VERIFY_AUDIT, Action.SITE_ADMIN}
)

ALLOWED: Mapping[Role, frozenset[Action]] = {
    Role.OPERATOR: _CASEWORK,
    Role.MANAGER: _CASEWORK | _MANAGEMENT,
    Role.IT: _IT,
    Role.ADMIN: frozenset(Action),
}


def allowed(role: Role, action: Action) -> bool:
    return action in ALLOWED[role]


def require(role: Role, action: Action) -> None:
    """Raise PermissionDenied unless the role may take the action."""
    if not allowed(role, action):
        raise PermissionDenied(f"a user with role '{role.value}' may not {action.value}")
