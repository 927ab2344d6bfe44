"""Who may manage which accounts: an IT officer manages accounts, an admin account only an
admin. Else an IT officer, who may not read cases, could make or take over an admin
account and read them."""

from __future__ import annotations

import pytest

from db.records import Role
from desktop.errors import InputRejected, PermissionDenied
from desktop.session import Session
from tests.conftest import FAST_KDF, PASSWORD, Site


@pytest.fixture
def it_officer(site: Site) -> Session:
    site.session.add_user("ivan", Role.IT, PASSWORD, FAST_KDF)
    site.session.add_user("olha", Role.OPERATOR, PASSWORD, FAST_KDF)
    return Session.open(site.data, "ivan", PASSWORD)


def test_an_it_officer_cannot_make_or_take_over_an_admin_account(
    site: Site, it_officer: Session
) -> None:
    with pytest.raises(PermissionDenied, match="only an admin"):
        it_officer.add_user("evil", Role.ADMIN, PASSWORD, FAST_KDF)
    with pytest.raises(PermissionDenied, match="only an admin"):
        it_officer.change_password("admin", "a new password 123", FAST_KDF)
    with pytest.raises(PermissionDenied, match="only an admin"):
        it_officer.disable_user("admin")
    it_officer.close()
    assert [u.name for u in site.session.list_users() if u.role == Role.ADMIN] == ["admin"]
    site.session.close()
    Session.open(site.data, "admin", PASSWORD).close()  # the admin's password still opens


def test_an_it_officer_still_manages_the_other_accounts(site: Site, it_officer: Session) -> None:
    site.session.close()  # disabling re-keys the vault, which needs it alone
    it_officer.add_user("petro", Role.MANAGER, PASSWORD, FAST_KDF)
    it_officer.change_password("olha", "a new password 123", FAST_KDF)
    it_officer.disable_user("petro")
    it_officer.close()
    Session.open(site.data, "olha", "a new password 123").close()
    # An admin manages admin accounts.
    admin = Session.open(site.data, "admin", PASSWORD)
    admin.add_user("second", Role.ADMIN, PASSWORD, FAST_KDF)
    admin.disable_user("second")
    with pytest.raises(InputRejected, match="'second' is disabled already; to re-key the vault"):
        admin.disable_user("second")  # not re-keyed nor audited again
    actions = [entry.action for entry in admin.audit_entries()]
    assert (actions.count("user_disabled"), actions.count("vault_rekeyed")) == (2, 2)
    admin.close()


def test_an_account_whose_adding_was_killed_says_so_and_can_be_added_again(
    site: Site, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from desktop.errors import AuthenticationFailed
    from tests.killed import kill_at

    site.session.close()
    new_password = tmp_path / "carol.txt"
    new_password.write_text("carol's long password\n")
    # Killed with carol's key stored but her account not committed.
    kill_at("db.keyslots", "write_keyslots", "after", site.data,
            "user", "add", "carol", "--role", "operator", "--new-password-file",
            str(new_password), "--kdf-memory", "19", "--kdf-passes", "2")
    with pytest.raises(AuthenticationFailed) as refused:
        Session.open(site.data, "carol", "carol's long password")
    assert str(refused.value) == "there is no account 'carol'; add it again"
    admin = Session.open(site.data, "admin", PASSWORD)
    try:
        admin.add_user("carol", Role.OPERATOR, "carol's long password", FAST_KDF)
    finally:
        admin.close()
    Session.open(site.data, "carol", "carol's long password").close()
