"""Small services the desktop window needs beyond Session: vault presence and re-unlock.

Qt-free like the rest of desktop/; the window calls these on its task runner.
"""

from __future__ import annotations

from pathlib import Path

from db import audit, keyslots
from db.keyslots import KdfParams, KeyslotError, WrongPassword
from db.vault import Vault
from desktop.errors import AuthenticationFailed
from desktop.session import Session


def create_site(
    data_dir: Path, site_name: str, admin: str, password: str, kdf: KdfParams | None = None
) -> tuple[Session, str]:
    """The first-run assistant's call: a new site at the default Argon2id cost unless given."""
    return Session.create_site(data_dir, site_name, admin, password, kdf or KdfParams())


def vault_exists(data_dir: Path) -> bool:
    """Whether the folder holds a vault (else the first-run assistant creates one)."""
    return Vault.exists(data_dir)


def verify_password(session: Session, password: str) -> None:
    """Check the signed-in user's password again to leave the lock screen; audited either way.

    Costs one full Argon2id run, like an unlock, and raises AuthenticationFailed on a
    wrong password. It reads the keyslot file and leaves the open vault untouched.
    """
    slots = session.vault.read_slots()
    try:
        keyslots.open_password_slot(slots, session.user.name, password, KdfParams())
    except (WrongPassword, KeyslotError):
        with session.vault.transaction() as conn:
            audit.append(conn, session.user.name, "unlock_failed")
        raise AuthenticationFailed("wrong password") from None
    with session.vault.transaction() as conn:
        audit.append(conn, session.user.name, "unlocked")
