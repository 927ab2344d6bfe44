"""Revoking a user re-keys the vault: a copy of the old key opens nothing, while every
remaining user and the recovery key open it as before, whatever step a crash stops at."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from db import keyslots, vault
from db.keyslots import KdfParams
from db.records import CaseKind, Channel, NewCase, Person, Role
from db.vault import Vault
from desktop.errors import AuthenticationFailed, HavenError
from desktop.session import Session
from tests.conftest import FAST_KDF, PASSWORD, Site
from tests.db.test_keyslots import _slot_as_older_haven_wrote_it
from tests.killed import kill_at

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIXTURE_PASSWORD = "fixture password 1"
BORIS = "boris's own password"


def _add_case(session: Session) -> str:
    return session.register_case(
        NewCase(
            kind=CaseKind.SURRENDER,
            channel=Channel.PHONE,
            persons=(Person(full_name="Коваленко Марʼяна", birth_date="1990-04-12"),),
        )
    ).ref


def _old_key_of(copy: Path, user: str, password: str) -> bytes:
    """What a user who kept a copy of the keyslot file can still take from it."""
    return keyslots.open_password_slot(
        keyslots.read_keyslots(copy), user, password, FAST_KDF
    ).keys[0]


def _opens(data: Path, key: bytes) -> bool:
    try:
        vault._connect(data / vault.DB_NAME, key, create=False).close()
    except vault.WrongKey:
        return False
    return True


@pytest.fixture
def with_boris(site: Site, tmp_path: Path) -> tuple[Site, Path, str]:
    """A site where boris, an operator, has worked; a copy of the keyslot file he could
    have taken; and a case."""
    site.session.add_user("boris", Role.OPERATOR, BORIS, FAST_KDF)
    ref = _add_case(site.session)
    copy = tmp_path / "boris-copy.json"
    shutil.copy(site.data / "keyslots.json", copy)
    return site, copy, ref


def test_disabling_a_user_re_keys_so_a_copied_key_opens_nothing(
    with_boris: tuple[Site, Path, str],
) -> None:
    site, copy, ref = with_boris
    old_key = _old_key_of(copy, "boris", BORIS)
    assert _opens(site.data, old_key)
    rekeyed = site.session.disable_user("boris")
    assert rekeyed.sealed == ("admin",)
    assert rekeyed.dropped == ()
    assert rekeyed.recovery_key is None
    assert not _opens(site.data, old_key)
    # The session goes on with the new key, and everyone left still opens the vault.
    assert site.session.get_case(site.session.resolve(ref)).ref == ref
    actions = [e.action for e in site.session.audit_entries(newest=5)]
    assert "user_disabled" in actions
    assert actions[actions.index("user_disabled") + 1] == "vault_rekeyed"
    site.session.close()
    with pytest.raises(AuthenticationFailed):
        Session.open(site.data, "boris", BORIS)
    admin = Session.open(site.data, "admin", PASSWORD)
    assert admin.get_case(admin.resolve(ref)).persons[0].full_name == "Коваленко Марʼяна"
    assert admin.verify_audit().ok
    assert admin.search("Коваленко")[0].ref == ref
    admin.close()
    Vault.unlock_with_recovery_key(site.data, site.recovery_key).close()
    slots = json.loads((site.data / "keyslots.json").read_text())["slots"]
    assert sorted(slot["user"] for slot in slots) == ["@recovery", "admin"]
    assert all(len(slot["envelopes"]) == 1 for slot in slots)


def test_re_keying_waits_for_the_vault_to_be_closed_elsewhere(
    with_boris: tuple[Site, Path, str],
) -> None:
    site, copy, ref = with_boris
    desk = Session.open(site.data, "boris", BORIS)  # the desk, still open
    slots_before = (site.data / "keyslots.json").read_bytes()
    with pytest.raises(vault.VaultInUse, match="open in another Haven"):
        site.session.rekey_vault()
    assert (site.data / "keyslots.json").read_bytes() == slots_before  # nothing half done
    with pytest.raises(HavenError, match=r"not re-encrypted.*site rekey"):
        site.session.disable_user("boris")
    # Disabled all the same, and nothing else changed: both sessions go on working.
    assert [u.disabled for u in site.session.list_users() if u.name == "boris"] == [True]
    assert desk.get_case(desk.resolve(ref)).ref == ref
    _add_case(site.session)
    desk.close()
    assert _opens(site.data, _old_key_of(copy, "boris", BORIS))
    assert site.session.rekey_unfinished  # said at every login of an admin until it is done
    site.session.rekey_vault()
    assert not site.session.rekey_unfinished
    assert not _opens(site.data, _old_key_of(copy, "boris", BORIS))
    site.session.close()
    Session.open(site.data, "admin", PASSWORD).close()


def test_a_re_keying_keeps_what_another_process_wrote_just_before(site: Site, run_cli) -> None:  # type: ignore[no-untyped-def]
    from desktop import demo

    # Pages with room to spare, as in a vault in use: a small write then grows nothing.
    demo.make_demo_cases(site.session, 300, seed=3)
    site.session.close()
    session = Session.open(site.data, "admin", PASSWORD)
    # This session has read the accounts (its connection caches those pages) ...
    assert [user.name for user in session.list_users()] == ["admin"]
    # ... when another process adds one, a small write in the WAL, and closes.
    added = run_cli("user", "add", "olena", "--role", "operator", "--new-password-file",
                    str(run_cli.password_file), "--kdf-memory", "19", "--kdf-passes", "2",
                    data=site.data)
    assert added.returncode == 0, added.stderr

    rekeyed = session.rekey_vault()
    assert "olena" in rekeyed.sealed  # the re-keying read the accounts as they are
    assert [user.name for user in session.list_users()] == ["admin", "olena"]
    session.close()
    Session.open(site.data, "olena", PASSWORD).close()


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_re_keying_killed_either_side_of_the_database_leaves_a_vault_that_opens(
    with_boris: tuple[Site, Path, str], when: str
) -> None:
    site, copy, ref = with_boris
    site.session.close()
    kill_at("db.vault", "_rekey_database", when, site.data, "user", "disable", "boris")
    # Every slot holds both keys now; the one that opens the database is used.
    slots = json.loads((site.data / "keyslots.json").read_text())["slots"]
    assert all(len(slot["envelopes"]) == 2 for slot in slots)
    assert _opens(site.data, _old_key_of(copy, "boris", BORIS)) == (when == "before")
    admin = Session.open(site.data, "admin", PASSWORD)
    assert admin.vault.rekey_unfinished  # which haven-admin and the desk say at login
    assert admin.get_case(admin.resolve(ref)).ref == ref
    assert [u.disabled for u in admin.list_users() if u.name == "boris"] == [True]
    admin.rekey_vault()
    admin.close()
    assert not _opens(site.data, _old_key_of(copy, "boris", BORIS))
    Vault.unlock_with_recovery_key(site.data, site.recovery_key).close()
    Session.open(site.data, "admin", PASSWORD).close()


def test_slots_of_the_first_format_are_given_key_pairs_or_left_out(tmp_path: Path) -> None:
    data = tmp_path / "vault-v5"
    shutil.copytree(FIXTURES / "vault-v5", data)
    old = keyslots.read_keyslots(data / "keyslots.json")
    assert not any(slot.can_be_rewrapped for slot in old.slots)
    db_key = _old_key_of(data / "keyslots.json", "admin", FIXTURE_PASSWORD)
    admin = Session.open(data, "admin", FIXTURE_PASSWORD)
    # Logging in gave the admin's slot a key pair; the recovery slot has not been used.
    kinds = {s.user: s.can_be_rewrapped for s in admin.vault.read_slots().slots}
    assert kinds == {"admin": True, "@recovery": False}
    # An account whose slot is still of the first format (it has not logged in since).
    admin.add_user("olena", Role.OPERATOR, "olena's password", KdfParams(19 * 1024, 2, 1))
    path = data / "keyslots.json"
    document = json.loads(path.read_text())
    document["slots"] = [s for s in document["slots"] if s["user"] != "olena"]
    document["slots"].append(
        _slot_as_older_haven_wrote_it(old.vault_id, "olena", "olena's password", db_key)
    )
    path.write_text(json.dumps(document))

    shown: list[str] = []
    rekeyed = admin.rekey_vault(new_recovery_key=shown.append)
    assert rekeyed.sealed == ("admin",)
    assert len(rekeyed.dropped) == 1
    assert rekeyed.dropped[0].startswith("'olena': has not logged in")
    assert rekeyed.recovery_key is not None
    assert shown == [rekeyed.recovery_key]  # told before the database changed
    admin.close()
    assert not _opens(data, db_key)
    with pytest.raises(AuthenticationFailed):
        Session.open(data, "olena", "olena's password")
    Vault.unlock_with_recovery_key(data, rekeyed.recovery_key).close()
    admin = Session.open(data, "admin", FIXTURE_PASSWORD)
    admin.change_password("olena", "olena's new password", KdfParams(19 * 1024, 2, 1))
    admin.close()
    olena = Session.open(data, "olena", "olena's new password")
    assert olena.search("Коваленко")
    olena.close()


def test_slots_a_tampered_file_adds_get_no_new_key(
    with_boris: tuple[Site, Path, str],
) -> None:
    """A user who could write the keyslot file before being revoked adds slots of his own:
    one more for an enabled account, and one under a name that is no account."""
    site, copy, _ = with_boris
    site.session.add_user("carla", Role.MANAGER, "carla's password", FAST_KDF)
    key = _old_key_of(copy, "boris", BORIS)
    vault_id = keyslots.read_keyslots(copy).vault_id
    path = site.data / "keyslots.json"
    document = json.loads(path.read_text())
    for user in ("admin", "carla", "ghost"):
        planted = keyslots.seal_password_slot(vault_id, user, BORIS, key, FAST_KDF)
        document["slots"].append(keyslots._slot_to_json(planted))
    path.write_text(json.dumps(document))

    site.session.close()
    admin = Session.open(site.data, "admin", PASSWORD)
    rekeyed = admin.disable_user("boris")
    assert rekeyed.sealed == ("admin",)  # the admin's own: the one that opened
    dropped = " | ".join(rekeyed.dropped)
    assert "'carla': 2 keyslots" in dropped
    assert "'ghost': not an enabled account" in dropped
    admin.change_password("carla", "carla's new password", FAST_KDF)
    admin.close()
    for user in ("admin", "carla", "ghost"):
        with pytest.raises(AuthenticationFailed):
            Session.open(site.data, user, BORIS)
    Session.open(site.data, "carla", "carla's new password").close()


def test_a_disable_killed_before_its_keyslot_change_is_not_done_at_all(
    with_boris: tuple[Site, Path, str],
) -> None:
    site, copy, _ = with_boris
    site.session.close()
    # Killed before the slot was taken out of the file: the disable is one transaction.
    kill_at("db.keyslots", "write_keyslots", "before", site.data, "user", "disable", "boris")
    assert [s.user for s in keyslots.read_keyslots(site.data / "keyslots.json").slots].count(
        "boris"
    ) == 1
    admin = Session.open(site.data, "admin", PASSWORD)
    assert [u.disabled for u in admin.list_users() if u.name == "boris"] == [False]
    Session.open(site.data, "boris", BORIS).close()  # he still works, as the vault shows
    admin.disable_user("boris")  # and the disable, done again, is done whole
    admin.close()
    assert not _opens(site.data, _old_key_of(copy, "boris", BORIS))
    assert "boris" not in (site.data / "keyslots.json").read_text()


def test_a_slot_with_a_low_order_public_key_is_set_aside(site: Site) -> None:
    site.session.close()
    path = site.data / "keyslots.json"
    document = json.loads(path.read_text())
    admin = next(slot for slot in document["slots"] if slot["user"] == "admin")
    planted = dict(admin, user="mallory", slot_id="0" * 32, public_key=keyslots._b64(bytes(32)))
    document["slots"].append(planted)
    path.write_text(json.dumps(document))
    assert keyslots.read_keyslots(path).broken == ("slot 2 (mallory)",)
    admin_session = Session.open(site.data, "admin", PASSWORD)
    rekeyed = admin_session.rekey_vault()
    assert rekeyed.dropped == ("slot 2 (mallory): could not be read",)
    admin_session.close()


def test_a_login_while_the_vault_is_held_alone_is_told_to_wait(site: Site) -> None:
    import sqlcipher3

    site.session.close()
    key = _old_key_of(site.data / "keyslots.json", "admin", PASSWORD)
    holder = sqlcipher3.connect(str(site.data / vault.DB_NAME), isolation_level=None)
    holder.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    holder.execute("PRAGMA journal_mode = DELETE")
    holder.execute("BEGIN EXCLUSIVE")  # as a re-keying holds it
    try:
        with pytest.raises(HavenError, match="try again in a moment"):
            Session.open(site.data, "admin", PASSWORD)
    finally:
        holder.execute("ROLLBACK")
        holder.execute("PRAGMA journal_mode = WAL")
        holder.close()
    Session.open(site.data, "admin", PASSWORD).close()


def test_ctrl_c_waits_for_the_end_of_a_re_keying() -> None:
    import os
    import signal

    steps: list[str] = []

    def re_keying() -> None:
        with vault._signals_held():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("went on")

    # Ctrl+C as at a terminal: a test run started in the background inherits it ignored.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            re_keying()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert steps == ["went on"]


def test_a_re_keying_by_a_user_whose_own_slot_has_no_key_pair_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "vault-v5"
    shutil.copytree(FIXTURES / "vault-v5", data)
    first_format = (data / "keyslots.json").read_bytes()
    admin = Session.open(data, "admin", FIXTURE_PASSWORD)
    # As if giving the slot its key pair at login could not be written (a full disk).
    (data / "keyslots.json").write_bytes(first_format)
    with pytest.raises(vault.VaultError, match="your own keyslot has no key pair"):
        admin.rekey_vault()
    assert (data / "keyslots.json").read_bytes() == first_format  # nothing was changed
    admin.close()
    Session.open(data, "admin", FIXTURE_PASSWORD).close()


def test_a_re_keying_removes_the_snapshot_a_killed_backup_left(site: Site) -> None:
    import subprocess
    import sys

    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    left = site.data / f".backup-{finished.pid}-x1y2z3"  # by a backup killed before its end
    left.mkdir()
    shutil.copy(site.data / vault.DB_NAME, left / vault.DB_NAME)  # under the old key
    running = site.data / f".backup-{os.getpid()}-a1b2c3"  # a backup still at work
    running.mkdir()
    site.session.rekey_vault()
    assert not left.exists()
    assert running.is_dir()


def test_a_re_keying_is_done_when_its_last_progress_line_cannot_be_written(
    with_boris: tuple[Site, Path, str],
) -> None:
    import errno

    site, copy, ref = with_boris

    def terminal_gone(done: int, total: int) -> None:  # SIGHUP waits; the tty writes fail
        if done == total:
            raise OSError(errno.EIO, "Input/output error")

    site.session.rekey_vault(progress=terminal_gone)
    assert not site.session.rekey_unfinished
    assert site.session.get_case(site.session.resolve(ref)).ref == ref
    assert not _opens(site.data, _old_key_of(copy, "boris", BORIS))
    site.session.close()
    Session.open(site.data, "boris", BORIS).close()
