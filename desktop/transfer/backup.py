"""Backups: the whole vault as one age file that opens with a passphrase.

A backup is an age v1 file encrypted to an scrypt passphrase (so ``age -d`` opens it
with no Haven at hand); inside is a USTAR tar of ``backup.json`` (what it is, no
personal data), ``keyslots.json`` and ``haven.db``. The database goes in as a
consistent snapshot that is itself still SQLCipher-encrypted, so neither the snapshot
on disk nor the decrypted tar ever holds a personal detail in plaintext. Restoring
needs the backup passphrase and then a user's password, like the vault it came from.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from db.keyslots import sync_folder
from db.migrate import schema_version
from db.snapshot import write_encrypted_copy
from db.vault import DB_NAME, JOURNAL_NAME, KEYSLOTS_NAME, Vault, format_time, now_utc
from desktop.errors import HavenError, InputRejected
from desktop.files import remove_left_folders, write_whole
from desktop.transfer import age
from desktop.transfer.streams import ChunkReader, CountingReader, Progress, Steps
from desktop.transfer.transfer_file import TransferFileError, parse_ustar_header

FORMAT = "haven-backup-v1"
INFO_NAME = "backup.json"
_BLOCK = 512
_READ = 1024 * 1024
_LIMITS = {INFO_NAME: 64 * 1024, KEYSLOTS_NAME: 4 * 1024 * 1024, DB_NAME: 1 << 42}


class BackupRejected(InputRejected):
    """The backup cannot be opened: wrong passphrase, altered, or not a Haven backup."""


@dataclass(frozen=True, slots=True)
class BackupInfo:
    vault_id: str
    site_id: str
    created_at: str
    schema: int
    size: int  # bytes of the age file
    site_name: str = ""  # once the restored vault was opened


def _member_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = 0
    info.type = tarfile.REGTYPE
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _tar_stream(members: list[tuple[str, int, BinaryIO]]) -> Iterator[bytes]:
    """A USTAR archive of these (name, size, open file) members, produced as it is read."""
    for name, size, handle in members:
        yield _member_header(name, size)
        left = size
        while left:
            chunk = handle.read(min(_READ, left))
            if not chunk:
                raise HavenError(f"{name} changed while it was being backed up")
            left -= len(chunk)
            yield chunk
        yield bytes(-size % _BLOCK)
    yield bytes(2 * _BLOCK)


class _BackupSteps:
    """How far a backup is, told as one: the snapshot of the database is the first four
    fifths of the way and its encryption the rest, as they share the time (a vault of
    100,000 cases: 3.5-4.5 s for the snapshot, 0.8-1.7 s for the encryption)."""

    _COPY = 8_000
    _ENCRYPT = 2_000

    def __init__(self, progress: Progress | None) -> None:
        self._steps = Steps(progress, self._COPY + self._ENCRYPT)

    def copied(self, done: int, total: int) -> None:
        self._steps.at(self._COPY * done // max(total, 1))

    def encrypted(self, total: int) -> Callable[[int], None]:
        """What to tell the bytes of the tar stream read so far, of ``total``."""
        return lambda done: self._steps.at(self._COPY + self._ENCRYPT * done // max(total, 1))


def _tar_size(members: list[tuple[str, int, BinaryIO]]) -> int:
    """The length of what ``_tar_stream`` makes of these members."""
    return sum(_BLOCK + size + -size % _BLOCK for _, size, _ in members) + 2 * _BLOCK


def write_backup(
    vault: Vault,
    destination: Path,
    passphrase: str,
    work_factor: int = age.DEFAULT_SCRYPT_WORK_FACTOR,
    progress: Progress | None = None,
) -> BackupInfo:
    """Write an encrypted backup of the whole vault to ``destination``; ``progress`` is
    told how far it is (the snapshot, then its encryption), while the database is copied
    from a thread of its own."""
    steps = _BackupSteps(progress)
    recipient = age.ScryptRecipient(passphrase, work_factor)
    with vault.reading() as conn:
        site_id = str(conn.execute("SELECT site_id FROM site").fetchone()[0])
        schema = schema_version(conn)
    info = {
        "format": FORMAT,
        "vault_id": vault.vault_id,
        "site_id": site_id,
        "created_at": format_time(now_utc()),
        "schema": schema,
    }
    info_bytes = (json.dumps(info, indent=2, sort_keys=True) + "\n").encode("ascii")
    keyslots = Vault.keyslots_path(vault.data_dir).read_bytes()
    staging = _staging_folder(vault.data_dir, "backup")
    try:
        snapshot = staging / DB_NAME
        with vault.reading() as conn:
            write_encrypted_copy(conn, snapshot, steps.copied)
        with snapshot.open("rb") as db_file:
            members: list[tuple[str, int, BinaryIO]] = [
                (INFO_NAME, len(info_bytes), io.BytesIO(info_bytes)),
                (KEYSLOTS_NAME, len(keyslots), io.BytesIO(keyslots)),
                (DB_NAME, snapshot.stat().st_size, db_file),
            ]
            tar = CountingReader(ChunkReader(_tar_stream(members)),
                                 steps.encrypted(_tar_size(members)))
            write_whole(destination, lambda out: age.encrypt_stream(tar, out, [recipient]))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BackupInfo(vault.vault_id, site_id, str(info["created_at"]), schema,
                      destination.stat().st_size)


class _WriteFailed(Exception):
    """Unpacking could not write into the folder (a full disk, say); ``error`` says why."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror)
        self.error = error


class _Unpacker:
    """Receives the decrypted tar and writes its three members into a private folder."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._buffer = bytearray()
        self._state = "header"
        self._file: BinaryIO | None = None
        self._left = 0
        self._padding = 0
        self.members: dict[str, int] = {}

    def write(self, data: bytes, /) -> int:
        self._buffer += data
        try:
            while self._step():
                pass
        except OSError as exc:  # told apart from a backup that cannot be read
            raise _WriteFailed(exc) from None
        return len(data)

    def _step(self) -> bool:
        if self._state == "header":
            if len(self._buffer) < _BLOCK:
                return False
            block = bytes(self._buffer[:_BLOCK])
            del self._buffer[:_BLOCK]
            if block == bytes(_BLOCK):
                self._state = "end"
                return True
            name, size = parse_ustar_header(block)
            if name not in _LIMITS or name in self.members or size > _LIMITS[name]:
                raise BackupRejected("the backup holds unexpected contents")
            self.members[name] = size
            fd = os.open(self._folder / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            self._file = os.fdopen(fd, "wb")
            self._left, self._padding = size, -size % _BLOCK
            self._state = "data"
            return True
        if self._state == "data":
            take = min(self._left, len(self._buffer))
            assert self._file is not None
            self._file.write(self._buffer[:take])
            del self._buffer[:take]
            self._left -= take
            if self._left:
                return False
            self._file.flush()
            os.fsync(self._file.fileno())  # on the medium before it is moved into place
            self._file.close()
            self._file = None
            self._state = "padding"
            return True
        if self._state == "padding":
            if len(self._buffer) < self._padding:
                return False
            if any(self._buffer[: self._padding]):
                raise BackupRejected("the backup is damaged")
            del self._buffer[: self._padding]
            self._state = "header"
            return True
        if any(self._buffer):
            raise BackupRejected("the backup has data after its end")
        self._buffer.clear()
        return False

    def close(self) -> None:
        self.abandon()
        if self._state != "end" or set(self.members) != set(_LIMITS):
            raise BackupRejected("the backup is incomplete")

    def abandon(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):  # a full disk: the file is removed anyway
                self._file.close()
            self._file = None


def _read_info(path: Path) -> dict[str, Any]:
    try:
        info = json.loads(path.read_text("ascii"))
    except (ValueError, RecursionError):  # bad text, bad JSON, a number too long
        raise BackupRejected("the backup's description is damaged") from None
    keys = {"format", "vault_id", "site_id", "created_at", "schema"}
    if not isinstance(info, dict) or set(info) != keys or info["format"] != FORMAT:
        raise BackupRejected("this is not a Haven backup of a version this Haven reads")
    return info


# How an age file starts, binary or armored: anything else is not a backup at all.
_AGE_STARTS = (b"age-encryption.org/", b"-----BEGIN AGE ENCRYPTED FILE-----")


# The most scrypt work a restore does for a passphrase: 2**20 takes 1 GiB and a few seconds.
# Haven and the age CLI write 18; the format allows a file to ask for up to 4 GiB and more.
MAX_WORK_FACTOR = 20

# What a vault's folder holds: the database, its WAL files, the keyslots and the journal.
VAULT_FILES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", KEYSLOTS_NAME, JOURNAL_NAME)


def _staging_folder(data_dir: Path, purpose: str) -> Path:
    """A new private folder in ``data_dir`` for a backup's snapshot or a restore's files,
    named after this process; those that killed runs left there are removed first."""
    remove_left_folders(data_dir, purpose)
    return Path(tempfile.mkdtemp(dir=data_dir, prefix=f".{purpose}-{os.getpid()}-"))


def leave_no_folder(data_dir: Path) -> None:
    """Remove a folder a refused restore made, if nothing else was put in it meanwhile."""
    with contextlib.suppress(OSError):
        data_dir.rmdir()


def _not_restored(data_dir: Path, error: OSError) -> HavenError:
    return HavenError(f"cannot write into {data_dir}: {error.strerror}; nothing was restored")


def restore_backup(
    source: Path, data_dir: Path, passphrase: str, progress: Progress | None = None
) -> BackupInfo:
    """Unpack a backup into ``data_dir`` (which must hold no vault); all or nothing.

    A folder holding any file of a vault is refused before anything is written: a restore
    that fails takes back what it put there, and must not take a vault's own files with it.
    ``progress`` is told how many of the backup's bytes were decrypted and unpacked so far.
    """
    held = [name for name in VAULT_FILES if (data_dir / name).exists()]
    if held:
        raise InputRejected(
            f"{data_dir} holds files of a vault ({', '.join(held)}); restore into a new folder"
        )
    if data_dir.exists() and not data_dir.is_dir():
        raise InputRejected(f"{data_dir} is a file, not a folder; restore into a new folder")
    made = not data_dir.exists()
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging = _staging_folder(data_dir, "restore")
    except OSError as exc:
        raise _not_restored(data_dir, exc) from None
    unpacker = _Unpacker(staging)
    moved: list[Path] = []
    try:
        try:
            with source.open("rb") as handle:
                if not handle.read(len(_AGE_STARTS[1])).startswith(_AGE_STARTS):
                    raise BackupRejected(f"{source.name} is not a Haven backup")
                handle.seek(0)
                steps = Steps(progress, os.fstat(handle.fileno()).st_size)
                age.decrypt_stream(CountingReader(handle, steps.at), unpacker, [
                    age.ScryptIdentity(passphrase, max_work_factor=MAX_WORK_FACTOR)
                ])
        except _WriteFailed as failed:
            raise _not_restored(data_dir, failed.error) from None
        except OSError as exc:
            raise InputRejected(f"cannot read {source.name}: {exc.strerror}") from None
        except age.NoIdentityMatch:
            raise BackupRejected("the passphrase does not open this backup") from None
        except age.WorkFactorRefused as exc:
            raise BackupRejected(
                f"the backup asks for more passphrase work than a restore allows ({exc});"
                f" Haven and age make backups with {age.DEFAULT_SCRYPT_WORK_FACTOR}"
            ) from None
        except age.AgeError:
            raise BackupRejected("the backup is damaged or was altered") from None
        except TransferFileError:
            raise BackupRejected("the backup's contents are damaged") from None
        unpacker.close()
        info = _read_info(staging / INFO_NAME)
        # The database first: a keyslot file is what makes a folder look like a vault.
        for name in (DB_NAME, KEYSLOTS_NAME):
            os.replace(staging / name, data_dir / name)
            moved.append(data_dir / name)
        sync_folder(data_dir)
    except BaseException:
        unpacker.abandon()
        for path in moved:
            path.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
        if made:
            leave_no_folder(data_dir)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BackupInfo(
        str(info["vault_id"]), str(info["site_id"]), str(info["created_at"]),
        int(info["schema"]), source.stat().st_size,
    )
