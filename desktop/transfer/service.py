"""Site-to-site transfer for a signed-in user: permission-checked and audited.

The CLI and the GUI both call this; it never touches a widget. Transfer files and
peers need Action.TRANSFER, backups Action.BACKUP, resolving a merge conflict
Action.MANAGE_HANDOFF (a manager's call), and writing the site's secret key to a
file is for admins only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from db import audit, audit_union, hlc, oplog, peers, sync, users
from db.keyslots import RECOVERY_USER
from db.oplog import Op
from db.peers import AcceptedCheckpoint, Peer
from db.records import Role
from db.vault import Vault, VaultError, format_time, now_utc
from desktop.errors import (
    InputRejected,
    NotFound,
    PermissionDenied,
    exists_already,
    not_written,
)
from desktop.files import check_new_file
from desktop.permissions import Action, require
from desktop.session import Session
from desktop.transfer import age, backup, export, identity, importer, sshsig
from desktop.transfer.checkpoints import InconsistentCheckpoint
from desktop.transfer.identity import IdentityError, SiteIdentity
from desktop.transfer.streams import Progress
from desktop.transfer.transfer_file import Manifest, parse_manifest, read_layout

MAX_PEER_NAME = 64


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """A file whose envelope checked out, and the gap before it, if any."""

    sender: str
    sequence: int
    missing: tuple[int, ...]
    missing_count: int
    manifest: Manifest
    before_reset: bool  # written before the sender's restore: its checkpoint is not checked


@dataclass(frozen=True, slots=True)
class PeerCheckpoint:
    """A peer and the newest of its audit checkpoints this site accepted."""

    peer: Peer
    checkpoint: AcceptedCheckpoint


@dataclass(frozen=True, slots=True)
class ConflictVersion:
    """One version of a field group in conflict."""

    op_id: str
    site: str  # "this site", a peer's name, or a site id
    local: bool
    at: str
    by: str | None
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ConflictView:
    """A conflict as a manager sees it."""

    id: str
    case_id: str
    ref: str
    group: str
    versions: tuple[ConflictVersion, ...]  # newest first: the first is what the case shows


# What resolve_conflict keeps besides a version named by its id: the newest of one side.
KEEP_SIDES = ("local", "incoming")


def keep_choice(text: str) -> str | None:
    """What resolve_conflict may be asked to keep, as it compares it: a side or a version's id
    (a clock stamp, as list_conflicts gives it); None for anything else."""
    keep = text.strip().lower()
    return keep if keep in KEEP_SIDES or hlc.is_stamp(keep) else None

PEER_NAME_PUNCTUATION = "-_."


def _peer_name(name: str) -> str:
    # Names are typed in lists (export --to a,b) and shell commands, so no separators.
    cleaned = name.strip()
    if (
        not cleaned
        or len(cleaned) > MAX_PEER_NAME
        or not all(ch.isalnum() or ch in PEER_NAME_PUNCTUATION for ch in cleaned)
    ):
        raise InputRejected(
            f"a peer name is 1-{MAX_PEER_NAME} letters, digits, '-', '_' or '.'"
            " (no spaces or commas)"
        )
    return cleaned


class TransferService:
    """Peers, transfer files, conflicts and backups of one session's site."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.vault = session.vault

    def _require(self, action: Action) -> None:
        require(self.session.role, action)

    def _audit(self, action: str, detail: str, case_id: str | None = None) -> None:
        with self.vault.transaction() as conn:
            audit.append(conn, self.session.user.name, action, case_id, detail)

    # --- identity and peers --------------------------------------------------------------

    def site_identity(self) -> SiteIdentity:
        """This site's public identity (nothing secret; any signed-in user may see it)."""
        return identity.site_identity(
            self.session.site.site_id,
            self.session.site.name,
            self.vault.site_signing_key(),
            self.vault.site_encryption_key(),
        )

    def key_card(self, save: Callable[[bytes], object] | None = None) -> bytes:
        """The printable key card (PDF bytes) for exchanging keys with another site.

        ``save`` writes it first: a card that could not be written is not audited as made.
        """
        from desktop.keycard import render_key_card  # reportlab: only when a card is made

        self._require(Action.TRANSFER)
        mine = self.site_identity()
        pdf = render_key_card(
            mine.name, mine.site_id, mine.signing_key, mine.age_recipient, mine.fingerprint
        )
        if save is not None:
            save(pdf)
        self._audit("key_card_printed", mine.fingerprint)
        return pdf

    def may_change_peers(self) -> bool:
        """Whether this user may add and revoke peers: what add_peer and revoke_peer require."""
        return self.session.can(Action.TRANSFER)

    def add_peer(
        self,
        name: str,
        signing_key: str,
        recipient: str,
        fingerprint: str,
        site_id: str | None = None,
    ) -> Peer:
        """Trust another site's keys, once the fingerprint read out of band matches them."""
        self._require(Action.TRANSFER)
        name = _peer_name(name)
        try:
            keys = identity.parse_peer_keys(signing_key, recipient, site_id)
        except IdentityError as exc:
            raise InputRejected(str(exc)) from None
        if keys.site_id == self.session.site.site_id:
            raise InputRejected("these are this site's own keys")
        if identity.normalize_fingerprint(fingerprint) != keys.fingerprint:
            raise InputRejected(
                "the fingerprint does not match these keys: do not add this peer; check the"
                " keys and read the fingerprint again with the other site"
            )
        with self.vault.transaction() as conn:
            try:
                peer = peers.add_peer(
                    conn,
                    site_id=keys.site_id,
                    name=name,
                    signing_key=keys.signing_key_line,
                    recipient=keys.recipient.encode(),
                    fingerprint=keys.fingerprint,
                    at=format_time(now_utc()),
                    by=self.session.user.name,
                )
            except peers.PeerExists as exc:
                raise InputRejected(str(exc)) from None
            audit.append(
                conn, self.session.user.name, "peer_added", detail=f"{name} {keys.fingerprint}"
            )
        return peer

    def list_peers(self) -> list[Peer]:
        """Every peer of this site."""
        self._require(Action.TRANSFER)
        with self.vault.reading() as conn:
            return peers.list_peers(conn)

    def allowed_signers(self) -> list[str]:
        """``allowed_signers`` lines (principal = site id) for ssh-keygen -Y verify."""
        self._require(Action.TRANSFER)
        mine = self.site_identity()
        lines = [sshsig.format_allowed_signer(mine.site_id, sshsig.parse_public_key(
            mine.signing_key))]
        lines += [
            sshsig.format_allowed_signer(peer.site_id, sshsig.parse_public_key(peer.signing_key))
            for peer in self.list_peers()
            if not peer.revoked
        ]
        return lines

    def _peer(self, conn: Any, name: str) -> Peer:
        peer = peers.get_peer_by_name(conn, name.strip())
        if peer is None:
            raise NotFound(f"no peer named {name.strip()!r}")
        return peer

    def revoke_peer(self, name: str) -> Peer:
        """Refuse every file from this peer from now on, and send it nothing more."""
        self._require(Action.TRANSFER)
        with self.vault.transaction() as conn:
            peer = self._peer(conn, name)
            if peer.revoked:
                raise InputRejected(f"peer '{peer.name}' is revoked already")
            peers.revoke_peer(conn, peer.site_id, format_time(now_utc()), self.session.user.name)
            audit.append(conn, self.session.user.name, "peer_revoked", detail=peer.name)
            revoked = peers.get_peer(conn, peer.site_id)
        assert revoked is not None
        return revoked

    def accepted_checkpoint(self, name: str, evidence: Path) -> PeerCheckpoint:
        """What reset_checkpoint would forget: the peer's newest accepted audit checkpoint.

        Refused (InputRejected) as reset_checkpoint would refuse it, so nothing is asked first.
        """
        self._require(Action.TRANSFER)
        with self.vault.reading() as conn:
            held = self._resettable(conn, name)
        self._check_restored(held.peer, evidence)
        return held

    def reset_checkpoint(self, name: str, evidence: Path) -> PeerCheckpoint:
        """Forget the audit checkpoints accepted from a peer, once it was restored from a backup.

        Its restored audit log no longer extends what it showed before, so every file from it
        would be refused; after the reset its next checkpoint is taken on trust, like a first
        one. ``evidence`` is such a refused file: signed by the peer, for this site, and of a
        new file numbering (a restore starts one). A file that goes on with the numbering is
        from a site that was not restored, whose rewritten log is never taken. The audit
        entry keeps the size and root of the checkpoint forgotten.
        """
        self.accepted_checkpoint(name, evidence)  # refused here as it would be below
        with self.vault.transaction() as conn:
            held = self._resettable(conn, name)
            at = format_time(now_utc())
            peers.forget_checkpoints(conn, held.peer, at)
            archived = audit_union.set_aside(conn, held.peer.site_id, at)
            audit.append(
                conn, self.session.user.name, "peer_checkpoint_reset",
                detail=f"{held.peer.name}: forgot the audit checkpoint of"
                f" {held.checkpoint.tree_size} entries (root {held.checkpoint.root});"
                f" {archived} of its audit entries set aside; its restore shown by"
                f" {evidence.name}",
            )
        return held

    def _check_restored(self, peer: Peer, evidence: Path) -> None:
        """Refuse a reset unless ``evidence`` shows the peer restored (see reset_checkpoint):
        its file refused for its checkpoint, of a numbering no file was taken from before."""
        try:
            handle = evidence.open("rb")
        except OSError as exc:
            raise InputRejected(f"cannot read {evidence.name}: {exc.strerror}") from None
        with handle:
            manifest = parse_manifest(read_layout(handle).manifest)
            if manifest.sender != peer.site_id:
                raise InputRejected(
                    f"{evidence.name} comes from another site, not from '{peer.name}'"
                )
            handle.seek(0)
            try:
                importer.check_envelope(self.vault, handle)
            except InconsistentCheckpoint:
                pass
            else:
                raise InputRejected(
                    f"{evidence.name} is taken with the checkpoint accepted from"
                    f" '{peer.name}': import it; there is nothing to reset"
                )
        with self.vault.reading() as conn:
            taken = peers.newest_received(conn, peer.site_id, manifest.epoch) is not None
        if taken:
            raise InputRejected(
                f"{evidence.name} is of a file numbering of '{peer.name}' that files were"
                " taken from before: it does not show a restore from a backup, and the"
                " checkpoint is not reset. Tell its IT officer that its audit history was"
                " rewritten"
            )

    def _resettable(self, conn: Any, name: str) -> PeerCheckpoint:
        peer = self._peer(conn, name)
        if peer.revoked:
            raise InputRejected(
                f"peer '{peer.name}' is revoked: its files are refused whatever their checkpoint"
            )
        accepted = peers.accepted_checkpoints(conn, peer.site_id)
        if not accepted:
            raise InputRejected(
                f"no audit checkpoint of peer '{peer.name}' was accepted yet; nothing to reset"
            )
        return PeerCheckpoint(peer, accepted[-1])

    # --- transfer files ------------------------------------------------------------------

    def export(
        self, names: list[str], destination: Path, *, full: bool,
        progress: Progress | None = None,
    ) -> export.ExportResult:
        """Write a transfer file for these peers (by name); ``progress``: cases written."""
        self._require(Action.TRANSFER)
        chosen: list[Peer] = []
        with self.vault.reading() as conn:
            for name in names:
                peer = self._peer(conn, name)
                if peer.revoked:
                    raise InputRejected(f"peer '{peer.name}' is revoked; nothing is sent to it")
                if peer not in chosen:
                    chosen.append(peer)
        if not chosen:
            raise InputRejected("name at least one peer to export to")
        # A file not yet carried over would be lost, and its sequence number with it.
        check_new_file(destination)
        try:
            return export.export_file(
                self.vault, self.session.user.name, chosen, destination, full=full,
                progress=progress,
            )
        except OSError as exc:  # a full or removed medium: the file was taken away again
            raise not_written(destination, exc) from None

    def verify(self, path: Path) -> VerifyReport:
        """Check a file's envelope (signature, recipients, sequence, checkpoint), no import."""
        self._require(Action.TRANSFER)
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise InputRejected(f"cannot read {path.name}: {exc.strerror}") from None
        with handle:
            checked = importer.check_envelope(self.vault, handle)
        self._audit("transfer_verified", f"{checked.peer.name} #{checked.sequence}")
        return VerifyReport(
            checked.peer.name, checked.sequence, checked.missing, checked.missing_count,
            checked.manifest, checked.before_reset,
        )

    def import_file(
        self, path: Path, *, dry_run: bool = False, progress: Progress | None = None
    ) -> importer.ImportReport:
        """Import a transfer file, all or nothing; ``dry_run`` reports and changes nothing.

        ``progress`` is told how many of the payload's bytes were checked and applied so far.
        """
        self._require(Action.TRANSFER)
        try:
            return importer.import_file(
                self.vault, self.session.user.name, path, dry_run=dry_run, progress=progress
            )
        except InputRejected as exc:
            # The refusal rolled everything back; its record stays, as evidence of what a
            # peer sent (a rewritten history, say). A full disk does not hide the refusal.
            with contextlib.suppress(VaultError):
                self._audit("transfer_refused", f"{path.name}{' (check)' if dry_run else ''}:"
                            f" {exc}")
            raise

    # --- conflicts -----------------------------------------------------------------------

    def list_conflicts(self) -> list[ConflictView]:
        """Open conflicts, each with every version kept (newest first)."""
        require(self.session.role, Action.VIEW_CASES)
        with self.vault.reading() as conn:
            names = {peer.site_id: peer.name for peer in peers.list_peers(conn)}
            return [self._view(conn, conflict, names) for conflict in sync.list_conflicts(conn)]

    def _view(self, conn: Any, conflict: sync.Conflict, names: dict[str, str]) -> ConflictView:
        mine = self.session.site.site_id
        versions = []
        for op_id in conflict.heads:
            op = sync.get_op(conn, conflict.case_id, op_id)
            if op is None:
                continue
            values = dict(op.values)
            if op.kind == oplog.CREATE:
                values = {"status": "registered"} if conflict.group == oplog.STATUS_GROUP else {
                    n: op.values.get(n) for n in oplog.FIELD_GROUPS[conflict.group]
                }
            site = "this site" if op.origin == mine else names.get(op.origin, op.origin)
            versions.append(ConflictVersion(op.id, site, op.origin == mine, op.at, op.by, values))
        row = conn.execute("SELECT ref FROM cases WHERE id = ?", (conflict.case_id,)).fetchone()
        ref = "?" if row is None else str(row[0])
        return ConflictView(conflict.id, conflict.case_id, ref, conflict.group, tuple(versions))

    def resolve_conflict(self, conflict_id: str, keep: str) -> Op:
        """Keep one version: ``local`` (the newest made here), ``incoming`` (the newest made
        elsewhere), or any version by its id (``ConflictVersion.op_id``)."""
        self._require(Action.MANAGE_HANDOFF)
        chosen_keep = keep_choice(keep)
        if chosen_keep is None:
            raise InputRejected("--keep is 'local', 'incoming' or the id of a version")
        keep = chosen_keep
        mine = self.session.site.site_id
        with self.vault.transaction() as conn:
            conflict = sync.get_conflict(conn, conflict_id.strip().lower())
            if conflict is None:
                raise NotFound(f"no open conflict {conflict_id.strip()!r}")
            held = {op.id: op for op in oplog.ops_for_case(conn, conflict.case_id)}
            heads = [held[i] for i in conflict.heads if i in held]
            if keep in KEEP_SIDES:
                side = [op for op in heads if (op.origin == mine) == (keep == "local")]
                if not side:
                    raise InputRejected(
                        f"no version of conflict {conflict.id} was made "
                        + ("at this site" if keep == "local" else "at another site")
                    )
                chosen = max(side, key=lambda op: op.id)
            else:
                found = [op for op in heads if op.id == keep]
                if not found:
                    raise InputRejected(
                        f"{keep} is not a version of conflict {conflict.id}"
                        " ('conflict list' shows its versions)"
                    )
                chosen = found[0]
            if len(conflict.heads) > oplog.MAX_PARENTS:  # only from before imports refused it
                raise InputRejected(
                    f"conflict {conflict.id} has {len(conflict.heads)} versions, more than one"
                    f" change can replace ({oplog.MAX_PARENTS}): it cannot be resolved here"
                )
            op = sync.resolve_conflict(
                conn, conflict, chosen, format_time(now_utc()), self.session.user.name
            )
            kept = "local" if chosen.origin == mine else "incoming"
            audit.append(
                conn, self.session.user.name, "conflict_resolved", conflict.case_id,
                f"{conflict.id} {conflict.group}: kept {kept} ({chosen.id})",
            )
        return op

    # --- keys and backups ----------------------------------------------------------------

    def check_export_identity(self, destination: Path) -> None:
        """Refuse what export_identity would refuse before any passphrase is asked for: a
        user who is not an admin, a target that exists or a folder that does not."""
        if self.session.role is not Role.ADMIN:
            raise PermissionDenied("only an admin may write out the site's secret key")
        check_new_file(destination)

    def export_identity(
        self, destination: Path, passphrase: str | None = None, work_factor: int | None = None
    ) -> None:
        """Break-glass: write the site's X25519 secret key as an age identity file (0600).

        With a passphrase the file is that identity encrypted to it (age's scrypt recipient,
        armored): ``age -d -i FILE`` asks for the passphrase, and a lost stick gives nothing.
        """
        self.check_export_identity(destination)
        if passphrase is not None and len(passphrase.strip()) < 12:
            raise InputRejected("an identity passphrase must be at least 12 characters long")
        data = identity.age_identity_file(
            self.session.site.site_id, self.session.site.name, self.vault.site_encryption_key()
        ).encode("utf-8")  # the site's name, in its comment, is mostly Cyrillic
        if passphrase is not None:
            recipient = age.ScryptRecipient(
                passphrase, work_factor or age.DEFAULT_SCRYPT_WORK_FACTOR
            )
            data = age.encrypt(data, [recipient], armor=True)
        try:
            fd = os.open(destination, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            raise exists_already(destination) from None
        except OSError as exc:
            raise InputRejected(f"cannot write {destination}: {exc.strerror}") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        how = "plain" if passphrase is None else "encrypted with a passphrase"
        self._audit("site_identity_exported", f"{destination} ({how})")

    def check_backup(self, destination: Path) -> None:
        """Refuse what backup would refuse before the passphrase is asked for: a role that may
        not, a target that exists or a folder that does not."""
        self._require(Action.BACKUP)
        check_new_file(destination)

    def backup(
        self, destination: Path, passphrase: str, work_factor: int | None = None,
        progress: Progress | None = None,
    ) -> backup.BackupInfo:
        """Write an encrypted backup of the whole vault, opened by ``passphrase``;
        ``progress`` is told how far it is."""
        self.check_backup(destination)
        if len(passphrase.strip()) < 12:
            raise InputRejected("a backup passphrase must be at least 12 characters long")
        try:
            info = backup.write_backup(
                self.vault, destination, passphrase,
                work_factor or age.DEFAULT_SCRYPT_WORK_FACTOR, progress,
            )
        except OSError as exc:  # the medium or the vault's disk is full (or was removed)
            raise not_written(destination, exc) from None
        self._audit("backup_made", destination.name)
        return info


def restore(
    source: Path, data_dir: Path, passphrase: str, user: str, password: str,
    recovery_key: str | None = None, progress: Progress | None = None,
) -> backup.BackupInfo:
    """Restore a backup into a new folder and open it to finish the job: as ``user``, or
    with the site's ``recovery_key`` when no account's password is known any more.

    The restored site starts a new transfer epoch (fresh file numbering, and its peers
    are sent everything again), so nothing it exports can be mistaken for a replay.
    If it cannot be opened, or the user may not restore, the folder is left empty again.
    ``progress`` is told how much of the backup was unpacked.
    """
    made = not data_dir.exists()
    info = backup.restore_backup(source, data_dir, passphrase, progress)
    try:
        vault, actor = _open_restored(data_dir, user, password, recovery_key)
    except BaseException:
        _remove_restored(data_dir, made)
        raise
    try:
        with vault.transaction() as conn:
            epoch = peers.start_new_epoch(conn)
            audit.append(
                conn, actor, "restored_from_backup", detail=f"{info.created_at}, epoch {epoch}"
            )
            site_name = users.site_info(conn).name
    except BaseException:
        vault.close()
        _remove_restored(data_dir, made)
        raise
    vault.close()
    return dataclasses.replace(info, site_name=site_name)


def _open_restored(
    data_dir: Path, user: str, password: str, recovery_key: str | None
) -> tuple[Vault, str]:
    """The restored vault, and who is recorded as having restored it."""
    if recovery_key is not None:
        return Session.unlock_with_recovery_key(data_dir, recovery_key), RECOVERY_USER
    session = Session.open(data_dir, user, password)
    if not session.can(Action.BACKUP):
        session.close()
        raise PermissionDenied(f"a user with role '{session.role.value}' may not restore")
    return session.vault, user


def _remove_restored(data_dir: Path, made: bool) -> None:
    """Take back what a restore put in the folder (and the folder, if it made it)."""
    for name in backup.VAULT_FILES:
        (data_dir / name).unlink(missing_ok=True)
    if made:
        backup.leave_no_folder(data_dir)
