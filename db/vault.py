"""The encrypted vault: a SQLCipher 4 database opened with a random raw key from a keyslot."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlcipher3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from db import audit_tree, keyslots, login_journal, search
from db.growth import growth_watched
from db.keyslots import KdfParams, KeyslotError, KeyslotFile, WrongPassword
from db.migrate import migrate

DB_NAME = "haven.db"
KEYSLOTS_NAME = "keyslots.json"
JOURNAL_NAME = "failed-logins.jsonl"
MIN_CIPHER_MAJOR = 4
# Opening a vault makes the WAL's shared-memory index (32 KiB); with less free, it fails.
_ROOM_TO_OPEN = 64 * 1024


def _bound_as_is(value: object) -> object:
    return value


# Without a registered adapter, the driver probes None, bytes and bool parameters for
# __adapt__ and __conform__ and pays for a caught AttributeError each time: about 3 µs a
# parameter, most of the cost of writing a row with empty columns.
for _kind in (type(None), bytes):
    sqlcipher3.register_adapter(_kind, _bound_as_is)
sqlcipher3.register_adapter(bool, int)


class VaultError(Exception):
    """The vault cannot be created, opened or written."""


class VaultPlaceError(VaultError):
    """The data folder named holds no vault, or holds one already, or cannot hold one."""


class VaultFull(VaultError):
    """The disk that holds the vault has no room for a change; none of the change was kept."""


class VaultBusy(VaultError):
    """Another process held the vault's write lock for longer than a change waits."""


class WrongKey(VaultError):
    """The database does not open with the key a slot gave."""


class VaultInUse(VaultError):
    """Another process has the vault open, where a change needs it alone."""


class RekeyUnfinished(VaultError):
    """The database is re-encrypted, but the keyslot file still holds the old key too."""


class VaultDamaged(VaultError):
    """A page of the database fails its check: the file was altered, or its disk is failing."""


_DAMAGED = (
    "the vault's database is damaged (a page fails its check: the file was altered or its"
    " disk is failing); nothing was changed; restore the latest backup"
)


_NOTHING_SAVED = (
    "the disk that holds the vault is full: nothing was saved; free some space, then try again"
)


def now_utc() -> datetime:
    """The current UTC time at the millisecond precision that is stored."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def format_time(moment: datetime) -> str:
    """Times are stored as ISO 8601 UTC with milliseconds, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class Created:
    vault: Vault
    recovery_key: str  # shown once at init, for printing


@dataclass(frozen=True, slots=True)
class Rekeyed:
    """What re-keying the database changed besides the key."""

    sealed: tuple[str, ...]  # the users whose slots hold the new key (and the recovery key)
    dropped: tuple[str, ...]  # each slot left out, and why (see Vault.rekey)
    recovery_key: str | None  # a new recovery key to print, when the old slot could not be kept


class Vault:
    """An unlocked vault: one SQLCipher connection, serialised by a lock for worker threads."""

    def __init__(self, data_dir: Path, conn: Any, vault_id: str, db_key: bytes, user: str) -> None:
        self.data_dir = data_dir
        self.conn = conn
        self.vault_id = vault_id
        self.user = user
        self._db_key = db_key
        self.kdf = KdfParams()  # parameters for new slots: those of the slot that opened it
        self.slot_id = ""  # the keyslot that opened it
        self.rekey_unfinished = False
        self.lock = threading.RLock()
        self.pending_failed_logins: list[login_journal.FailedLogin] = []
        self.claimed_journals: list[Path] = []  # their records go into the audit log

    # --- paths -------------------------------------------------------------------------------

    @staticmethod
    def db_path(data_dir: Path) -> Path:
        return data_dir / DB_NAME

    @staticmethod
    def keyslots_path(data_dir: Path) -> Path:
        return data_dir / KEYSLOTS_NAME

    @staticmethod
    def exists(data_dir: Path) -> bool:
        return (data_dir / KEYSLOTS_NAME).exists() and (data_dir / DB_NAME).exists()

    # --- creating and opening ----------------------------------------------------------------

    @classmethod
    def create(
        cls,
        data_dir: Path,
        *,
        site_name: str,
        ref_prefix: str,
        site_id: str,
        admin: str,
        password: str,
        kdf: KdfParams,
    ) -> Created:
        """Make a new vault with its first admin and the recovery slot."""
        kdf.check()
        if data_dir.exists() and not data_dir.is_dir():
            raise VaultPlaceError(
                f"{data_dir} is a file, not a folder: name a folder for the vault"
            )
        try:
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise VaultPlaceError(f"cannot make the folder {data_dir}: {exc.strerror}") from None
        if (data_dir / KEYSLOTS_NAME).exists() or (data_dir / DB_NAME).exists():
            raise VaultPlaceError(f"a vault already exists in {data_dir}")
        vault_id = uuid.uuid4().hex
        db_key = secrets.token_bytes(keyslots.KEY_BYTES)
        recovery_raw = secrets.token_bytes(keyslots.KEY_BYTES)
        conn = _connect(data_dir / DB_NAME, db_key, create=True)
        try:
            migrate(conn)
            search.ensure_index_current(conn)
            signing = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
            encryption = X25519PrivateKey.generate()
            encryption_raw = encryption.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
            created = format_time(now_utc())
            with _transaction(conn):
                conn.execute(
                    "INSERT INTO site (singleton, site_id, name, ref_prefix, created_at,"
                    " signing_key, encryption_key) VALUES (1, ?, ?, ?, ?, ?, ?)",
                    (site_id, site_name, ref_prefix, created, signing, encryption_raw),
                )
                conn.execute(
                    "INSERT INTO users (name, role, disabled, created_at)"
                    " VALUES (?, 'admin', 0, ?)",
                    (admin, created),
                )
            slots = [
                keyslots.seal_password_slot(vault_id, admin, password, db_key, kdf),
                keyslots.seal_recovery_slot(vault_id, recovery_raw, [db_key]),
            ]
            journal_public = encryption.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            keyslots.write_keyslots(
                data_dir / KEYSLOTS_NAME, vault_id, slots, journal_key=journal_public
            )
        except BaseException as exc:
            conn.close()
            for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", KEYSLOTS_NAME):
                (data_dir / name).unlink(missing_ok=True)
            if _disk_full(exc):
                raise VaultFull(
                    "the disk is full: no vault was created; free some space, then try again"
                ) from None
            raise
        vault = cls(data_dir, conn, vault_id, db_key, admin)
        vault.kdf = kdf
        return Created(vault, keyslots.format_recovery_key(recovery_raw))

    @classmethod
    def unlock(
        cls, data_dir: Path, user: str, password: str, *, decoy_kdf: KdfParams | None = None
    ) -> Vault:
        """Open the vault with a user's password; a wrong one costs the full KDF every time."""
        slots = cls._read_slots(data_dir)
        try:
            opened = keyslots.open_password_slot(slots, user, password, decoy_kdf or KdfParams())
        except WrongPassword:
            login_journal.record_failure(data_dir / JOURNAL_NAME, slots.journal_key, user)
            raise
        vault = cls._open_with_keys(data_dir, slots, opened, user)
        assert opened.slot.kdf is not None
        vault.kdf = opened.slot.kdf
        try:
            site_key = vault.site_encryption_key()
        except BaseException:
            vault.close()
            raise
        vault.pending_failed_logins, vault.claimed_journals = login_journal.drain(
            data_dir / JOURNAL_NAME, site_key
        )
        return vault

    @classmethod
    def unlock_with_recovery_key(cls, data_dir: Path, recovery_key: str) -> Vault:
        slots = cls._read_slots(data_dir)
        try:
            opened = keyslots.open_recovery_slot(slots, keyslots.parse_recovery_key(recovery_key))
        except WrongPassword:
            login_journal.record_failure(
                data_dir / JOURNAL_NAME, slots.journal_key, keyslots.RECOVERY_USER
            )
            raise
        return cls._open_with_keys(data_dir, slots, opened, keyslots.RECOVERY_USER)

    @staticmethod
    def _read_slots(data_dir: Path) -> KeyslotFile:
        if not (data_dir / DB_NAME).exists():
            if (data_dir / KEYSLOTS_NAME).exists():
                raise VaultError(
                    f"the vault in {data_dir} is incomplete: its keyslot file is there but its"
                    f" database ({DB_NAME}) is not; restore the latest backup"
                )
            # Most often the folder was not given: a new site is the last thing to suggest.
            raise VaultPlaceError(
                f"no vault in {data_dir}: give the site's data folder with --data (or"
                " HAVEN_DATA); a new site is made with 'haven-admin init'"
            )
        return keyslots.read_keyslots(data_dir / KEYSLOTS_NAME)

    @classmethod
    def _open_with_keys(
        cls, data_dir: Path, slots: KeyslotFile, opened: keyslots.Opened, user: str
    ) -> Vault:
        """The vault opened with the first of the slot's keys that opens the database (a
        re-keying stopped half way leaves two); a slot without a key pair is given one."""
        for db_key in opened.keys:
            try:
                conn = _connect(data_dir / DB_NAME, db_key, create=False)
            except WrongKey:
                if db_key == opened.keys[-1]:
                    raise
                continue
            break
        try:
            with _checked_pages():
                _bring_up_to_date(conn)
        except BaseException:
            conn.close()
            raise
        vault = cls(data_dir, conn, slots.vault_id, db_key, user)
        vault.slot_id = opened.slot.slot_id
        # A slot that still holds two keys: a re-keying did not get to its end.
        vault.rekey_unfinished = len(opened.slot.envelopes) > 1
        if not opened.slot.can_be_rewrapped:
            upgraded = keyslots.upgraded(slots.vault_id, opened)
            # It opens as it is; on a full or read-only disk the next login tries again.
            # In a write transaction, so that no other process rewrites the file meanwhile.
            with contextlib.suppress(OSError, VaultError, sqlcipher3.Error), vault.transaction():
                current = vault.read_slots()
                vault._write_slots(
                    current, [upgraded if s == opened.slot else s for s in current.slots]
                )
        return vault

    def close(self) -> None:
        with self.lock:
            with contextlib.suppress(sqlcipher3.Error):
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.conn.close()

    # --- transactions ------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception: all or nothing."""
        with self.lock, _checked_pages(), _transaction(self.conn):
            yield self.conn

    @contextlib.contextmanager
    def reading(self) -> Iterator[Any]:
        with self.lock, _checked_pages():
            yield self.conn

    # --- keys --------------------------------------------------------------------------------

    def site_encryption_key(self) -> X25519PrivateKey:
        with self.reading() as conn:
            raw = conn.execute("SELECT encryption_key FROM site").fetchone()[0]
        return X25519PrivateKey.from_private_bytes(bytes(raw))

    def site_signing_key(self) -> Ed25519PrivateKey:
        with self.reading() as conn:
            raw = conn.execute("SELECT signing_key FROM site").fetchone()[0]
        return Ed25519PrivateKey.from_private_bytes(bytes(raw))

    def read_slots(self) -> KeyslotFile:
        return keyslots.read_keyslots(self.data_dir / KEYSLOTS_NAME)

    def set_password(self, user: str, password: str, kdf: KdfParams) -> None:
        """Give a user a new slot in place of the old ones."""
        self.store_slot(self.seal_slot(user, password, kdf))

    def seal_slot(self, user: str, password: str, kdf: KdfParams) -> keyslots.Slot:
        """A user's slot for this vault's key (the slow part: the KDF runs here)."""
        return keyslots.seal_password_slot(self.vault_id, user, password, self._db_key, kdf)

    def store_slot(self, new_slot: keyslots.Slot) -> None:
        """Put the slot in place of the user's older ones, in one atomic write of the file.

        VaultFull if the disk has no room: the old slots, and so the old password, stay.
        """
        current = self.read_slots()
        kept = [slot for slot in current.slots if slot.user != new_slot.user]
        self._write_slots(current, [*kept, new_slot])

    def remove_slots(self, user: str) -> None:
        current = self.read_slots()
        self._write_slots(current, [slot for slot in current.slots if slot.user != user])

    def rekey(
        self,
        progress: Callable[[int, int], None] | None = None,
        new_recovery_key: Callable[[str], None] | None = None,
    ) -> Rekeyed:
        """Re-encrypt the database under a new key and seal it to the slots that may hold
        it, so that a copy of the old key (an old keyslot file and a password) opens
        nothing. Needs the vault alone: VaultInUse while another process has it open.

        The new key goes to one slot per enabled account (the one that opened this session,
        for its user) and to one recovery slot. Left out, and named in what is returned: a
        slot of a disabled or unknown account, both slots of an account that has two (only
        a tampered file has), a slot without a key pair (not used since key pairs came in;
        its user needs a new password), and slots the file could not parse. Without a
        recovery slot that can hold the key, a new recovery key is made; it is handed to
        ``new_recovery_key`` before the database changes, so that it is known even if this
        stops half way.

        Every step leaves a vault that opens: the slots are given the new key beside the
        old one first, then the database is re-encrypted (one transaction; a crash rolls it
        back), then the old key is taken out of the slots. Ctrl+C and SIGTERM wait for the
        end. ``progress`` is told (bytes done, bytes in all) while the database is
        re-encrypted.
        """
        with self.lock, _signals_held():
            # A new connection: one open since before may hold pages another process has
            # changed since, which the re-keying would write back.
            self._reconnect()
            room_for_rekey(self.data_dir)
            alone = _Alone()
            try:
                with _held_alone(self.conn, alone):
                    return self._rekey_alone(alone, progress, new_recovery_key)
            except BaseException:
                if not alone.usable:
                    # A failed PRAGMA rekey leaves the connection with the new key, and
                    # whatever it wrote would be under that key: it is closed (which rolls
                    # the re-keying back from its journal) and opened anew with the old one.
                    # If that fails too, the first error is the one to tell.
                    with contextlib.suppress(sqlcipher3.Error):
                        self.conn.close()
                    with contextlib.suppress(VaultError, sqlcipher3.Error):
                        self.conn = _connect(self.data_dir / DB_NAME, self._db_key, create=False)
                raise

    def _reconnect(self) -> None:
        """A new connection in place of this one, which is closed once the new one opened:
        if it cannot be opened, the session keeps the one it has."""
        fresh = _connect(self.data_dir / DB_NAME, self._db_key, create=False)
        with contextlib.suppress(sqlcipher3.Error):
            self.conn.close()
        self.conn = fresh

    def _rekey_alone(
        self,
        alone: _Alone,
        progress: Callable[[int, int], None] | None,
        new_recovery_key: Callable[[str], None] | None,
    ) -> Rekeyed:
        current = self.read_slots()
        with _checked_pages():
            rows = self.conn.execute("SELECT name FROM users WHERE disabled = 0")
            enabled = {str(row[0]) for row in rows}
        plan = _rekey_plan(current, enabled, self.user, self.slot_id)
        new_key = secrets.token_bytes(keyslots.KEY_BYTES)
        recovery_raw = None if plan.recovery else secrets.token_bytes(keyslots.KEY_BYTES)
        keys = (new_key, self._db_key)
        staged = [keyslots.rewrapped(self.vault_id, slot, keys) for slot in plan.sealed]
        if recovery_raw is not None:
            staged.append(
                keyslots.seal_recovery_slot(
                    self.vault_id, recovery_raw, keys, slot_id=uuid.uuid4().hex
                )
            )
        sealed_ids = {id(slot) for slot in plan.sealed}
        untouched = [slot for slot in current.slots if id(slot) not in sealed_ids]
        self._write_slots(current, [*untouched, *staged])
        recovery_key = (
            None if recovery_raw is None else keyslots.format_recovery_key(recovery_raw)
        )
        if recovery_key is not None and new_recovery_key is not None:
            new_recovery_key(recovery_key)
        _rekey_database(self.conn, new_key, progress, alone)
        self._db_key = new_key
        final = [keyslots.rewrapped(self.vault_id, slot, [new_key]) for slot in staged]
        try:
            self._write_slots(current, final)
        except (VaultError, OSError) as exc:
            raise RekeyUnfinished(
                "the vault is re-encrypted under its new key, but the keyslot file could"
                f" not be finished ({exc}); every remaining user still opens the vault:"
                " make room, then re-key it again"
            ) from None
        return Rekeyed(
            sealed=tuple(sorted(s.user for s in plan.sealed if s is not plan.recovery)),
            dropped=plan.dropped,
            recovery_key=recovery_key,
        )

    def _write_slots(self, current: KeyslotFile, slots: list[keyslots.Slot]) -> None:
        """Write the keyslot file with these slots (and the journal key it has)."""
        try:
            keyslots.write_keyslots(
                self.data_dir / KEYSLOTS_NAME,
                self.vault_id,
                slots,
                journal_key=current.journal_key,
            )
        except OSError as exc:
            if _disk_full(exc):
                raise VaultFull(_NOTHING_SAVED) from None
            raise

    def integrity_problems(self) -> list[str]:
        """PRAGMA integrity_check and cipher_integrity_check; empty when all is well."""
        with self.lock:
            rows = self.conn.execute("PRAGMA integrity_check").fetchall()
            problems = [str(row[0]) for row in rows if row[0] != "ok"]
            problems += [str(row[0]) for row in self.conn.execute("PRAGMA cipher_integrity_check")]
        return problems


def _hex_key(db_key: bytes) -> str:
    return f"\"x'{db_key.hex()}'\""


def _connect(path: Path, db_key: bytes, *, create: bool) -> Any:
    if create:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
    elif not path.exists():
        raise VaultError(f"the database {path} is missing")
    else:
        # A copied or restored vault may arrive world-readable; the WAL inherits this mode.
        os.chmod(path, 0o600)
    conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        # SQLCipher would print its own lines on stderr about a page that fails its check;
        # the error that reaches the person says it once (VaultDamaged).
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = {_hex_key(db_key)}")
        version = conn.execute("PRAGMA cipher_version").fetchone()
        if not version or int(str(version[0]).split(".")[0]) < MIN_CIPHER_MAJOR:
            raise VaultError(
                f"SQLCipher {MIN_CIPHER_MAJOR} or newer is required"
                f" (found {version and version[0]})"
            )
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher3.DatabaseError as exc:
            raise _unreadable(path, exc) from None
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("PRAGMA cache_size = -65536")
    except BaseException:
        conn.close()
        raise
    return conn


_IN_USE = (
    "the vault is open in another Haven or haven-admin on this computer; close it, then"
    " try again"
)


class _Alone:
    """Whether the connection held alone may still be written through: not after a PRAGMA
    rekey that did not finish."""

    usable = True


@contextlib.contextmanager
def _held_alone(conn: Any, alone: _Alone) -> Iterator[None]:
    """The vault held by this connection alone, in rollback-journal mode, for a re-keying.

    Leaving WAL mode fails while another connection has the vault open (VaultInUse); the
    exclusive transaction then keeps any other from opening it until the end. Once the
    connection is not ``alone.usable``, nothing more is written through it.
    """
    try:
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()
    except sqlcipher3.OperationalError as exc:
        if _disk_full(exc):  # the WAL's pages did not fit into the database
            raise VaultFull(_NO_ROOM_TO_REKEY) from None
        mode = None
    try:
        if not mode or str(mode[0]).lower() != "delete":
            raise VaultInUse(_IN_USE)
        try:
            conn.execute("BEGIN EXCLUSIVE")
        except sqlcipher3.OperationalError:
            raise VaultInUse(_IN_USE) from None
        try:
            # Another process may have opened it, and put it back in WAL mode, in between.
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "delete":
                raise VaultInUse(_IN_USE)
            yield
        except BaseException:
            if alone.usable and conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if conn.in_transaction:
            conn.execute("COMMIT")
    finally:
        if alone.usable:
            conn.execute("PRAGMA journal_mode = WAL")


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl+C, SIGTERM and SIGHUP wait until the block is done (in the main thread, and in
    threads it starts); elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _rekey_database(
    conn: Any, new_key: bytes, progress: Callable[[int, int], None] | None, alone: _Alone
) -> None:
    """PRAGMA rekey, inside _held_alone; a crash leaves a journal that rolls it back. While
    it runs, and if it fails, nothing more may be written through the connection."""
    try:
        with _checked_pages(), _journal_watched(Path(_database_file(conn)), progress):
            alone.usable = False
            conn.execute(f"PRAGMA rekey = {_hex_key(new_key)}")
            alone.usable = True
    except sqlcipher3.Error as exc:
        # SQLCipher reports a rekey that ran out of room as a failed PRAGMA, not as a
        # full disk: the room left tells.
        path = Path(_database_file(conn))
        if _disk_full(exc) or shutil.disk_usage(path.parent).free < _rekey_room(path):
            raise VaultFull(_NO_ROOM_TO_REKEY) from None
        raise


_NO_ROOM_TO_REKEY = (
    "the disk that holds the vault is full: re-encrypting it needs as much free space as"
    " the vault takes; nothing was changed"
)


def _rekey_room(database: Path) -> int:
    """The free space a re-keying needs: its journal holds every page of the database, and
    the database first takes in what its WAL holds."""
    wal = database.with_name(database.name + "-wal")
    held = wal.stat().st_size if wal.exists() else 0
    return database.stat().st_size + held + _ROOM_TO_OPEN


def room_for_rekey(data_dir: Path) -> None:
    """VaultFull unless the vault's disk has room to re-key it."""
    database = data_dir / DB_NAME
    if shutil.disk_usage(data_dir).free < _rekey_room(database):
        raise VaultFull(_NO_ROOM_TO_REKEY)


@dataclass(frozen=True, slots=True)
class _RekeyPlan:
    sealed: tuple[keyslots.Slot, ...]  # the slots that are given the new key
    recovery: keyslots.Slot | None  # the recovery slot among them, if one can be kept
    dropped: tuple[str, ...]  # why each other slot is left out, for the person


def _rekey_plan(
    current: KeyslotFile, enabled: set[str], user: str, opened_slot: str
) -> _RekeyPlan:
    """Which slots a re-keying seals the new key to (see Vault.rekey)."""
    sealed: list[keyslots.Slot] = []
    dropped = [f"{broken}: could not be read" for broken in current.broken]
    by_user: dict[str, list[keyslots.Slot]] = {}
    for slot in current.slots:
        by_user.setdefault(slot.user, []).append(slot)
    recovery: keyslots.Slot | None = None
    for name, slots in sorted(by_user.items()):
        if name == user:  # this session's own: the slot that opened it
            slots = [slot for slot in slots if slot.slot_id == opened_slot] or slots
            if not all(slot.can_be_rewrapped for slot in slots):
                raise VaultError(
                    "your own keyslot has no key pair yet (it is given one at login, which"
                    " could not write the keyslot file): log in again, then re-key"
                )
        if name == keyslots.RECOVERY_USER:
            if len(slots) == 1 and slots[0].can_be_rewrapped:
                recovery = slots[0]
                sealed.append(recovery)
            continue  # else a new recovery key replaces them
        if name not in enabled:
            dropped.append(f"'{name}': not an enabled account; its slot is removed")
        elif len(slots) > 1:
            dropped.append(
                f"'{name}': {len(slots)} keyslots where Haven makes one (the file was"
                f" altered); none is kept: give them a new password (user passwd {name})"
            )
        elif not slots[0].can_be_rewrapped:
            dropped.append(
                f"'{name}': has not logged in since this version of Haven came in; give"
                f" them a new password (user passwd {name})"
            )
        else:
            sealed.append(slots[0])
    return _RekeyPlan(tuple(sealed), recovery, tuple(dropped))


def _database_file(conn: Any) -> str:
    return str(conn.execute("PRAGMA database_list").fetchone()[2])


@contextlib.contextmanager
def _journal_watched(
    database: Path, progress: Callable[[int, int], None] | None
) -> Iterator[None]:
    """Tell ``progress`` how far a re-encryption is: each page goes into the rollback
    journal as it is rewritten, so the journal grows to the size of the database."""
    journal = database.with_name(database.name + "-journal")
    with growth_watched(journal, database.stat().st_size, progress):
        yield


def _primary_code(exc: BaseException) -> int:
    """SQLite's primary result code of an error (0 for an error that is not SQLite's)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else 0


def _disk_full(exc: BaseException) -> bool:
    """Whether an error is a full disk: SQLite's SQLITE_FULL, or ENOSPC from writing a file."""
    if isinstance(exc, OSError):
        return exc.errno == errno.ENOSPC
    return _primary_code(exc) == sqlcipher3.SQLITE_FULL


def _unreadable(path: Path, exc: Exception) -> VaultError:
    """Why the first read of the database failed: its disk, or the key and the file."""
    if _primary_code(exc) in (sqlcipher3.SQLITE_IOERR, sqlcipher3.SQLITE_FULL):
        # Opening makes the WAL's shared-memory file: on a full disk that is an I/O error.
        if shutil.disk_usage(path.parent).free < _ROOM_TO_OPEN:
            return VaultFull(
                "the disk that holds the vault is full: the vault cannot be opened until some"
                " space is freed"
            )
        return VaultError(f"the vault's disk could not be read ({exc}); check the disk")
    if _primary_code(exc) == sqlcipher3.SQLITE_BUSY:
        return VaultBusy(
            "another Haven on this computer is re-encrypting or saving the vault; try again in"
            " a moment"
        )
    return WrongKey(
        "the database does not open with this key: it is damaged or belongs to another vault;"
        " if it is this vault's, damaged, restore the latest backup into a new folder"
    )


def _bring_up_to_date(conn: Any) -> None:
    migrate(conn)
    search.ensure_index_current(conn)
    if audit_tree.blocks_missing(conn):  # after an upgrade: once, not at a print
        with _transaction(conn):
            audit_tree.local_tree(conn, store=True)


@contextlib.contextmanager
def _checked_pages() -> Iterator[None]:
    """A page that fails its check (SQLite's CORRUPT or NOTADB) becomes VaultDamaged."""
    try:
        yield
    except sqlcipher3.DatabaseError as exc:
        if _primary_code(exc) in (sqlcipher3.SQLITE_CORRUPT, sqlcipher3.SQLITE_NOTADB):
            raise VaultDamaged(_DAMAGED) from None
        raise


@contextlib.contextmanager
def _transaction(conn: Any, kind: str = "IMMEDIATE") -> Iterator[None]:
    try:
        conn.execute(f"BEGIN {kind}")
    except sqlcipher3.OperationalError as exc:
        if _primary_code(exc) == sqlcipher3.SQLITE_BUSY:
            raise VaultBusy(
                "the vault is busy: another Haven on this computer is saving to it; nothing"
                " was changed; try again in a moment"
            ) from None
        raise
    try:
        yield
        conn.execute("COMMIT")
    except BaseException as exc:
        # SQLite rolls back by itself after some failures (a full disk among them).
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        # SQLite's own error only: a file written meanwhile (an export on its stick) may
        # sit on another disk.
        if _primary_code(exc) == sqlcipher3.SQLITE_FULL:
            raise VaultFull(_NOTHING_SAVED) from None
        raise


__all__ = [
    "Created",
    "KdfParams",
    "KeyslotError",
    "RekeyUnfinished",
    "Rekeyed",
    "Vault",
    "VaultBusy",
    "VaultDamaged",
    "VaultError",
    "VaultFull",
    "VaultInUse",
    "WrongKey",
    "WrongPassword",
    "format_time",
    "now_utc",
    "parse_time",
]
