"""Checking and importing a transfer file, in the order DESIGN.md gives.

size limit → tar layout → signature by a known, unrevoked peer → manifest names us →
payload hash → sequence (replay refused, gap reported) → audit checkpoint → decrypt
(streamed; plaintext only in memory) → header matches manifest → every record valid →
everything applied in one transaction, or nothing. A dry run does all of it and rolls
the transaction back, so what it reports is exactly what an import would do.
"""

from __future__ import annotations

import contextlib
import hmac
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from db import audit, audit_union, hlc, oplog, peers, sync
from db.audit_union import AuditMismatch, Entry
from db.oplog import Op
from db.peers import Peer
from db.sync import MergeRefused
from db.vault import Vault, format_time, now_utc
from desktop.errors import InputRejected
from desktop.transfer import age, sshsig
from desktop.transfer.checking import (
    CheckedCase,
    Checker,
    HelperChecker,
    LineFeed,
    case_of,
    collector_paused,
)
from desktop.transfer.checkpoints import (
    InconsistentCheckpoint,
    LateCheckpoint,
    UnprovableCheckpoint,
    check_checkpoint,
)
from desktop.transfer.payload import (
    MAX_CLOCK_AHEAD_MS,
    MAX_LINE,
    MAX_OPS_PER_CASE,
    Header,
    case_line,
    parse_header,
)
from desktop.transfer.streams import Progress, Steps
from desktop.transfer.transfer_file import (
    Layout,
    Manifest,
    PayloadReader,
    Recipient,
    TransferFileError,
    parse_manifest,
    payload_sha256,
    read_layout,
)

# Cases are settled a batch at a time: few queries per case, bounded memory. A batch
# takes about as long to write as the helper's pipe holds records for, so it keeps busy.
_BATCH_CASES = 250
# A payload this large is checked by a helper process while this one writes.
HELPER_FROM_BYTES = 8 * 1024 * 1024
_TWICE = "the file holds one case on two lines"


class SignatureRejected(InputRejected):
    """The manifest is not signed by a known, unrevoked peer."""


class ReplayRejected(InputRejected):
    """This file was imported before."""


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """A transfer file whose envelope checked out: signed, for us, intact, not a replay."""

    peer: Peer
    manifest: Manifest
    sequence: int
    missing: tuple[int, ...]  # the first few earlier files from the sender not imported yet
    missing_count: int
    layout: Layout
    # Written before the sender was restored and its checkpoint reset here: its cases are
    # taken, its checkpoint and the sender's own audit entries (of before the restore) not.
    before_reset: bool


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    sender: str
    sequence: int
    missing: tuple[int, ...]
    missing_count: int
    ops_new: int
    ops_known: int
    cases_new: int
    cases_updated: int
    conflicts_new: int
    ops_waiting: int  # for cases whose creation has not arrived yet
    audit_new: int  # entries of other sites' audit logs not held before
    audit_left_out: int  # relayed entries that differ from those held (a restored site's)
    before_reset: bool  # see CheckedFile
    dry_run: bool
    # Changes and audit entries held here as another site relayed them, which their own
    # site's file showed otherwise: its own are kept in their place.
    ops_corrected: int = 0
    audit_corrected: int = 0
    ops_left_out: int = 0  # relayed changes that differ from the ones held here
    ops_not_ours: int = 0  # changes in this site's name that it did not make, left out,
    # with those built on them


def _signer(conn: Any, layout: Layout, own_key: Callable[[], Ed25519PublicKey]) -> Peer:
    """The peer whose key signed the manifest; ``own_key`` is asked for only when none did."""
    try:
        signature = layout.signature.decode("ascii")
    except UnicodeDecodeError:
        raise SignatureRejected("the manifest's signature is malformed") from None
    for peer in peers.list_peers(conn):
        try:
            sshsig.verify(
                layout.manifest,
                signature,
                sshsig.parse_public_key(peer.signing_key),
                sshsig.TRANSFER_NAMESPACE,
            )
        except sshsig.WrongKeyError:
            continue
        except sshsig.MalformedSignatureError:
            raise SignatureRejected("the manifest's signature is malformed") from None
        except sshsig.SSHSigError:
            raise SignatureRejected(
                "the manifest's signature does not match it: the file was altered"
            ) from None
        return peer
    with contextlib.suppress(sshsig.SSHSigError):
        sshsig.verify(layout.manifest, signature, own_key(), sshsig.TRANSFER_NAMESPACE)
        raise InputRejected("the file was written by this site: carry it to the sites it is for")
    raise SignatureRejected(
        "the file is signed by a site that is not a known peer: add it with 'peer add' once"
        " its fingerprint is confirmed, then import the file again"
    )


def _addressees(conn: Any, recipients: Sequence[Recipient]) -> str:
    """The sites a file is for, by the names this site knows them by (else by site id)."""
    names = {peer.site_id: peer.name for peer in peers.list_peers(conn)}
    return ", ".join(f"'{names[r.site_id]}'" if r.site_id in names else f"site {r.site_id}"
                     for r in recipients)


def check_envelope(vault: Vault, handle: BinaryIO) -> CheckedFile:
    """Everything that can be checked without decrypting; raises InputRejected subclasses."""
    layout = read_layout(handle)
    with vault.reading() as conn:
        site_id = peers.local_site(conn)
        peer = _signer(conn, layout, lambda: vault.site_signing_key().public_key())
        if peer.revoked:
            raise SignatureRejected(f"the file comes from '{peer.name}', whose keys were revoked")
        manifest = parse_manifest(layout.manifest)
        if manifest.sender != peer.site_id:
            raise SignatureRejected(
                f"the manifest was signed by '{peer.name}' but names another site as sender"
            )
        sequence = manifest.sequence_for(site_id)
        if sequence is None:
            raise InputRejected(
                f"the file is addressed to other sites, not to this one: it is for"
                f" {_addressees(conn, manifest.recipients)}; carry it there"
            )
        if layout.payload_size != manifest.payload_size or not hmac.compare_digest(
            payload_sha256(handle, layout), manifest.payload_sha256
        ):
            raise TransferFileError("the payload does not match its hash: the file was altered")
        if peers.was_received(conn, peer.site_id, manifest.epoch, sequence):
            raise ReplayRejected(
                f"file #{sequence} from '{peer.name}' was imported before (a replay)"
            )
        missing, missing_count = peers.missing_before(conn, peer.site_id, manifest.epoch, sequence)
        newest = peers.newest_received(conn, peer.site_id, manifest.epoch)
        before_reset = peer.written_before_reset(
            manifest.epoch, manifest.created_at
        ) or _written_before_restore(conn, peer, manifest, newest)
        if not before_reset:
            after = newest if newest is not None and sequence > newest else None
            try:
                check_checkpoint(
                    peers.accepted_checkpoints(conn, peer.site_id), manifest.checkpoint, after
                )
            except InconsistentCheckpoint as exc:
                what_to_do = _what_to_do(exc, peer, newest is None, _file_name(handle))
                raise type(exc)(f"{exc}. {what_to_do}") from None
    return CheckedFile(
        peer, manifest, sequence, tuple(missing), missing_count, layout, before_reset
    )


def _written_before_restore(
    conn: Any, peer: Peer, manifest: Manifest, newest: int | None
) -> bool:
    """A file of a numbering the peer has left, written before the first file taken here of
    the one it has now: it was on its way while the site was restored from a backup (which
    starts a new numbering), and the new numbering's files came first, with no reset needed.
    Like a file from before a reset, its cases are taken; its checkpoint and the sender's own
    audit entries, of the log the restore lost, are not."""
    if peer.their_epoch is None or manifest.epoch == peer.their_epoch:
        return False
    if newest is None:  # the newest file of its numbering taken here
        return False  # a numbering not seen before: a restore's new one, not a left one
    first = peers.first_written(conn, peer.site_id, peer.their_epoch)
    return first is not None and manifest.created_at < first


def _file_name(handle: BinaryIO) -> str:
    """The path a transfer file was opened by, as a shell word; a placeholder if none."""
    name = getattr(handle, "name", None)
    return shlex.quote(name) if isinstance(name, str) else "FILE.haven"


def _what_to_do(
    refusal: InconsistentCheckpoint, peer: Peer, new_numbering: bool, source: str
) -> str:
    """What an IT officer can do about a checkpoint refused. A restore from a backup starts
    a new file numbering (epoch) at the restored site, of which no file was taken here yet:
    only then may the checkpoint be reset, and the reset is shown the file (``source``)."""
    if peer.their_epoch is not None and new_numbering:
        return (
            f"If '{peer.name}' was restored from a backup, confirm it with that site, then"
            f" run: haven-admin peer reset-checkpoint {shlex.quote(peer.name)} {source}"
        )
    if isinstance(refusal, LateCheckpoint):
        return (
            f"Import the files of '{peer.name}' in the order they were written; what this"
            " one carried came with its newer files too"
        )
    if isinstance(refusal, UnprovableCheckpoint):
        return (
            f"Send '{peer.name}' a file from this site: its next file then carries the proof"
        )
    return (
        f"'{peer.name}' was not restored from a backup (its file numbering goes on): tell"
        " its IT officer, and do not reset its checkpoint"
    )


class _Applier:
    """Takes validated records, merges them with what is held, and counts what changed."""

    def __init__(self, conn: Any, site_id: str, sender: str, *, sender_log: bool) -> None:
        self.conn = conn
        self.site_id = site_id
        self.sender = sender
        self.sender_log = sender_log  # whether the sender's own audit entries are taken
        self.materializer = sync.Materializer(conn)
        self.pending: dict[str, CheckedCase] = {}
        self.next_lseq = self.first_lseq = oplog.last_lseq(conn) + 1
        self.ops_new = self.ops_known = 0
        self.cases_new = self.cases_updated = self.conflicts_new = 0
        self.audit_new = self.audit_left_out = 0
        self.ops_corrected = self.ops_left_out = self.audit_corrected = 0
        self.ops_not_ours = 0  # changes in this site's name that it did not make
        self.delivered: list[tuple[int, int]] = []  # runs of the sender's own log it sent
        self.relayed: dict[str, list[int]] = {}  # numbers of third sites' entries it brought
        self.waiting: set[str] = set()
        # How this site's own stamps end in an op array (a stamp's last field is its site).
        self.own_mark = f':{site_id}"'.encode("ascii")
        self._restored_at: str | None = None  # read when first needed

    def take(self, record: CheckedCase | list[Entry] | None) -> None:
        """A case or audit entries from the payload; None (the header, the end) is skipped."""
        if isinstance(record, CheckedCase):
            self.add(record)
        elif record is not None:
            self.add_audit(record)

    def add(self, case: CheckedCase) -> None:
        if case.case_id in self.pending:
            raise MergeRefused(_TWICE)
        self.pending[case.case_id] = case
        if len(self.pending) >= _BATCH_CASES:
            self.flush()

    def add_audit(self, entries: list[Entry]) -> None:
        if not self.sender_log and entries[0].origin == self.sender:
            self.audit_left_out += len(entries)
            return
        stored = audit_union.store(
            self.conn, self.site_id, self.sender, entries, format_time(now_utc())
        )
        self.audit_new += stored.new
        self.audit_left_out += stored.disagreeing
        self.audit_corrected += stored.replaced
        if entries[0].origin not in (self.sender, self.site_id):
            self.relayed.setdefault(entries[0].origin, []).extend(stored.numbers)
        if entries[0].origin == self.sender:
            self.delivered += audit_union.runs(entries)

    def flush(self) -> None:
        if not self.pending:
            return
        held = oplog.stored_ops(self.conn, list(self.pending))
        rows: list[tuple[str, int, str, str, bytes]] = []
        for case_id, case in self.pending.items():
            stored = held.get(case_id)
            row: tuple[str, int, str, str, bytes] | None
            if stored is None:
                row = self._settle_new(case)
            elif stored[0] >= self.first_lseq:  # written by an earlier batch of this file
                raise MergeRefused(_TWICE)
            else:
                row = self._settle_known(case, stored[1])
            if row is not None:
                rows.append(row)
        oplog.store_merged(self.conn, rows)
        self.materializer.flush()
        self.pending = {}

    def _lseq(self) -> int:
        self.next_lseq += 1
        return self.next_lseq - 1

    def _lost_here(self, op: Op) -> bool:
        """Whether an op in this site's name that it does not hold is one it made before
        it was restored from a backup, which lost it: the one way such an op comes back.
        Any other is forged, by the sender or a site before it: left out, so that no
        desk shows it as made here, and counted, rather than the file refused (a site
        that relays it in good faith would have every later file refused)."""
        if self._restored_at is None:
            row = self.conn.execute(
                "SELECT max(at) FROM audit_log WHERE action = 'restored_from_backup'"
            ).fetchone()
            self._restored_at = row[0] or ""
        if _stamp_time(op.id) < self._restored_at:
            return True
        self.ops_not_ours += 1
        return False

    def _without_forged(self, ops: list[Op], held: Mapping[str, Op]) -> list[Op]:
        """The ops less those in this site's name that it does not hold and did not make
        (see _lost_here), and less every op that builds on one of them, however indirectly:
        kept, such an op would name a parent this site lacks, and no peer would take the
        case from it again. Each op left out is counted with the forged ones."""
        forged = [op.id for op in ops if op.id not in held
                  and op.id.endswith(self.site_id) and not self._lost_here(op)]
        if not forged:
            return ops
        children: dict[str, list[str]] = {}
        for op in ops:
            for parent in op.parents:
                children.setdefault(parent, []).append(op.id)
        left_out = set(forged)  # counted by _lost_here
        while forged:  # each op once: linear, however long a chain built on a forged op
            forged = list({child for parent in forged for child in children.get(parent, ())
                           if child not in left_out})
            left_out.update(forged)
            self.ops_not_ours += len(forged)
        return [op for op in ops if op.id not in left_out]

    def _settle_new(self, case: CheckedCase) -> tuple[str, int, str, str, bytes] | None:
        if self.own_mark in case.ops:  # seldom: a byte search spares parsing the rest
            ops = _ops(case)
            kept = self._without_forged(ops, {})
            if not kept:
                return None
            if len(kept) < len(ops):
                case = case_of(case.case_id, kept, oplog.ops_json(kept).encode("utf-8"))
        self.ops_new += case.op_count
        if case.rows is None:
            self.waiting.add(case.case_id)
        else:
            self.materializer.add(case.rows)
            self.cases_new += 1
            self.conflicts_new += len(case.rows.conflicts)
            self.waiting.discard(case.case_id)
        packed = oplog.pack_ops(case.ops)
        return (case.case_id, self._lseq(), case.newest, case.versions, packed)

    def _settle_known(
        self, case: CheckedCase, held_array: bytes
    ) -> tuple[str, int, str, str, bytes] | None:
        held = {op.id: op for op in oplog.parse_ops(case.case_id, held_array)}
        fresh: list[Op] = []
        corrected: list[Op] = []
        incoming = _ops(case)
        if self.own_mark in case.ops:
            incoming = self._without_forged(incoming, held)
        for op in incoming:
            mine = held.get(op.id)
            if mine is None:
                fresh.append(op)
            elif mine.to_json() != op.to_json():
                # Ops are signed only by the file that carries them: a relayed copy is the
                # relaying site's word, left out (refusing it would cut off an honest site
                # that took it in good faith); an op in its own site's file is that site's.
                # Its word corrects what an op says, never what it is: a contact turned
                # into the case's creation would hand the case to whoever sent it.
                if op.origin != self.sender:
                    self.ops_left_out += 1
                elif op.kind != mine.kind or op.group != mine.group:
                    raise MergeRefused(
                        "the file holds a change that differs from the one held here in kind"
                        f" or field group (case {_ref(held.values())})"
                    )
                else:
                    corrected.append(op)
        self.ops_known += len(incoming) - len(fresh) - len(corrected)
        new_create = next((op for op in fresh if op.kind == oplog.CREATE), None)
        old_create = next((op for op in held.values() if op.kind == oplog.CREATE), None)
        if new_create is not None and old_create is not None:
            if not (old_create.origin == new_create.origin == self.sender):
                raise MergeRefused(
                    "the file creates a case that already exists here"
                    f" (case {old_create.values['ref']})"
                )
            # Its own site's creation of the case, in place of one relayed in its name.
            del held[old_create.id]
            corrected.append(new_create)
            fresh.remove(new_create)
        if not fresh and not corrected:
            return None
        self.ops_new += len(fresh)
        self.ops_corrected += len(corrected)
        held.update((op.id, op) for op in corrected)
        ops = [*held.values(), *fresh]
        newest = max(op.id for op in ops)
        array = oplog.ops_json(ops).encode("utf-8")
        # A case this site could not send on in one line of its own files is refused.
        if len(ops) > MAX_OPS_PER_CASE or len(case_line(case.case_id, array)) > MAX_LINE:
            raise MergeRefused(
                f"a case would grow beyond what one transfer file can carry"
                f" ({MAX_OPS_PER_CASE:,} changes, {MAX_LINE // 2**20} MiB)"
            )
        row_ops = oplog.pack_ops(array)
        derived = sync.derive(ops)
        if derived is None:
            self.waiting.add(case.case_id)
            return (case.case_id, self._lseq(), newest, "{}", row_ops)
        sync.refuse_wide_conflicts(derived)
        rowid = self.materializer.case_rowid(case.case_id)
        if rowid is None:
            self._insert(derived)
        elif any(op.kind == oplog.CREATE for op in corrected):
            self.materializer.recreate(rowid, derived)
            self.cases_updated += 1
        else:
            before = {c.id for c in sync.list_case_conflicts(self.conn, case.case_id)}
            self.materializer.update(rowid, derived)
            self.cases_updated += 1
            self.conflicts_new += len({c.id for c in derived.conflicts} - before)
        versions = oplog.canonical_json(derived.versions)
        return (case.case_id, self._lseq(), newest, versions, row_ops)

    def _insert(self, derived: sync.DerivedCase) -> None:
        self.materializer.insert(derived)
        self.cases_new += 1
        self.conflicts_new += len(derived.conflicts)
        self.waiting.discard(derived.case_id)


def _stamp_time(stamp: str) -> str:
    """The wall time of a clock stamp, as times are stored."""
    return format_time(datetime.fromtimestamp(int(stamp[:13]) / 1000, UTC))


def _ref(ops: Iterable[Op]) -> str:
    """The reference code a case's ops give it (not personal data: safe in a message)."""
    create = next((op for op in ops if op.kind == oplog.CREATE), None)
    return "not created yet" if create is None else str(create.values["ref"])


def _ops(case: CheckedCase) -> list[Op]:
    """A checked case's ops, from their JSON array."""
    return oplog.parse_ops(case.case_id, case.ops)


def import_file(
    vault: Vault, user: str, path: Path, *, dry_run: bool, progress: Progress | None = None
) -> ImportReport:
    """Import (or, with ``dry_run``, only try) a transfer file; all or nothing.

    ``progress`` is told how many of the payload's bytes were checked and applied so far.
    """
    with _open(path) as handle:
        checked = check_envelope(vault, handle)
        try:
            return _apply(vault, user, path, handle, checked, dry_run=dry_run, progress=progress)
        except _DryRunDone as done:
            return done.report


def _apply(
    vault: Vault,
    user: str,
    path: Path,
    handle: BinaryIO,
    checked: CheckedFile,
    *,
    dry_run: bool,
    progress: Progress | None,
) -> ImportReport:
    manifest = checked.manifest
    identity = age.X25519Identity(vault.site_encryption_key())
    with vault.transaction() as conn:
        site_id = peers.local_site(conn)
        # Another import may have taken the same file since the check above.
        if peers.was_received(conn, checked.peer.site_id, manifest.epoch, checked.sequence):
            raise ReplayRejected(
                f"file #{checked.sequence} from '{checked.peer.name}' was imported before"
            )
        applier = _Applier(conn, site_id, checked.peer.site_id, sender_log=not checked.before_reset)
        steps = Steps(progress, checked.layout.payload_size)
        latest_ms = hlc.wall_ms() + MAX_CLOCK_AHEAD_MS
        try:
            with collector_paused():
                file_key = age.read_file_key(PayloadReader(handle, checked.layout), [identity])
                if checked.layout.payload_size >= HELPER_FROM_BYTES:
                    header, sha256 = _apply_from_helper(
                        applier, path, handle, checked, file_key, latest_ms, steps
                    )
                else:
                    header, sha256 = _apply_here(
                        applier, handle, checked, file_key, latest_ms, steps
                    )
                applier.flush()
                steps.at(checked.layout.payload_size)
        except age.NoIdentityMatch:
            raise InputRejected("the payload is not encrypted to this site's key") from None
        except age.AgeError:
            raise TransferFileError(
                "the payload does not decrypt: the file was altered or is damaged"
            ) from None
        except (MergeRefused, AuditMismatch) as exc:
            raise InputRejected(str(exc)) from None
        # The bytes decrypted must be the ones hashed before (the file could have changed).
        if sha256 != manifest.payload_sha256:
            raise TransferFileError("the transfer file changed while it was being imported")
        if not checked.before_reset:
            _check_audit_entries(conn, checked, applier)
        now = format_time(now_utc())
        peer = checked.peer
        peers.record_received(
            conn,
            peer=peer.site_id,
            epoch=manifest.epoch,
            sequence=checked.sequence,
            base_lseq=header.base_lseq[site_id],
            upto_lseq=header.upto_lseq,
            created_at=manifest.created_at,
            imported_at=now,
            payload_sha256=manifest.payload_sha256,
        )
        if not checked.before_reset:  # else what it says held is the lost state's
            _take_acknowledgements(conn, checked, header, site_id, now)
        report = ImportReport(
            sender=peer.name,
            sequence=checked.sequence,
            missing=checked.missing,
            missing_count=checked.missing_count,
            ops_new=applier.ops_new,
            ops_known=applier.ops_known,
            cases_new=applier.cases_new,
            cases_updated=applier.cases_updated,
            conflicts_new=applier.conflicts_new,
            ops_waiting=len(applier.waiting),
            audit_new=applier.audit_new,
            audit_left_out=applier.audit_left_out,
            before_reset=checked.before_reset,
            dry_run=dry_run,
            ops_corrected=applier.ops_corrected,
            audit_corrected=applier.audit_corrected,
            ops_left_out=applier.ops_left_out,
            ops_not_ours=applier.ops_not_ours,
        )
        audit.append(
            conn,
            user,
            "transfer_imported",
            detail=f"{peer.name} #{checked.sequence}: {report.ops_new} new changes,"
            f" {report.cases_new} new cases, {report.cases_updated} updated,"
            f" {report.conflicts_new} new conflicts, {report.audit_new} audit entries"
            + (" (written before its restore: its checkpoint and own audit entries left out)"
               if checked.before_reset else "")
            + _corrections(report),
        )
        if dry_run:
            raise _DryRunDone(report)
    return report


def _corrections(report: ImportReport) -> str:
    """What the import's audit entry says of relayed copies that their own site contradicted."""
    parts = [
        f"{count} {what}"
        for count, what in (
            (report.ops_corrected, "relayed changes replaced by their own site's"),
            (report.audit_corrected, "relayed audit entries set aside (their own site's"
             " file shows its log otherwise)"),
            (report.ops_left_out, "relayed changes that differ from those held left out"),
            (report.ops_not_ours, "changes in this site's name that it did not make (and"
             " changes built on them) left out"),
        )
        if count
    ]
    return f"; {', '.join(parts)}" if parts else ""


def _apply_here(
    applier: _Applier,
    handle: BinaryIO,
    checked: CheckedFile,
    file_key: bytes,
    latest_ms: int,
    steps: Steps,
) -> tuple[Header, str]:
    """Check and apply the payload in this process; its header and the hash of what was read.

    One thread: SQLite hands Python's lock back and forth at every row it writes, and
    with a second thread busy in Python each hand-back waits for a switch interval.
    """
    checker = Checker(checked.manifest, latest_ms)
    reader = PayloadReader(handle, checked.layout)
    feed = LineFeed(lambda line: applier.take(checker.take(line)), steps.at)
    age.decrypt_stream_with_key(reader, feed, file_key)
    feed.close()
    return checker.finish(), reader.sha256.hexdigest()


def _apply_from_helper(
    applier: _Applier,
    path: Path,
    handle: BinaryIO,
    checked: CheckedFile,
    file_key: bytes,
    latest_ms: int,
    steps: Steps,
) -> tuple[Header, str]:
    """Apply what a helper process checks meanwhile; the header and the payload's hash.

    If the helper cannot be started (no memory or processes left), the payload is
    checked here instead: slower, the same outcome.
    """
    try:
        helper = HelperChecker(path, checked.layout, file_key, latest_ms)
    except OSError:
        return _apply_here(applier, handle, checked, file_key, latest_ms, steps)
    try:
        for done, records in helper.records():
            for record in records:
                applier.take(record)
            steps.at(done)
    finally:
        helper.close()
    return parse_header(helper.header_line, checked.manifest), helper.sha256


def _take_acknowledgements(
    conn: Any, checked: CheckedFile, header: Header, site_id: str, now: str
) -> None:
    """What the file says its sender holds of ours and of every log, and its checkpoint."""
    manifest, peer = checked.manifest, checked.peer
    ack = header.acks.get(site_id)
    peers.note_acknowledgement(
        conn,
        peer,
        their_epoch=manifest.epoch,
        our_epoch=peers.current_epoch(conn),
        acked_epoch=None if ack is None else ack.epoch,
        acked_lseq=0 if ack is None else ack.lseq,
        acked_checkpoint=0 if ack is None else ack.checkpoint,
    )
    audit_union.note_acknowledgement(
        conn, peer.site_id, manifest.epoch, checked.sequence, header.audit_held
    )
    peers.accept_checkpoint(
        conn,
        peer.site_id,
        manifest.checkpoint.tree_size,
        manifest.checkpoint.root,
        {c.from_size: list(c.proof) for c in manifest.checkpoint.consistency},
        now,
    )


def _check_audit_entries(conn: Any, checked: CheckedFile, applier: _Applier) -> None:
    """The sender's audit entries held here must make the tree its signed checkpoint names.

    If they do not, those that came by relay (neither vouched for by its checkpoint
    accepted before nor in this file) are set aside, and what is left is checked again.
    So are the entries of third sites' logs this file relayed that the checkpoint of their
    site accepted before disproves.
    """
    now = format_time(now_utc())
    for origin, numbers in applier.relayed.items():
        # Relayed entries that a checkpoint accepted before disproves: set aside, not kept
        # in the log where they would look altered here.
        set_aside = audit_union.set_aside_unproven(conn, origin, numbers, now)
        applier.audit_new -= set_aside
        applier.audit_left_out += set_aside
    sender, size = checked.peer.site_id, checked.manifest.checkpoint.tree_size
    found = audit_union.root(conn, sender, size) if size else None
    if found is not None and found.hex() != checked.manifest.checkpoint.root:
        dropped = audit_union.drop_unvouched(conn, sender, size, applier.delivered, now)
        if dropped:
            applier.audit_corrected += dropped
            found = audit_union.root(conn, sender, size)
    if found is None:
        return  # not all of them here (a file from before audit entries travelled)
    if found.hex() != checked.manifest.checkpoint.root:
        raise InputRejected(
            f"the audit entries of '{checked.peer.name}' do not make the tree its signed"
            " checkpoint names: they were altered"
        )


class _DryRunDone(Exception):
    """Unwinds the transaction of a dry run, carrying its report out."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("dry run")
        self.report = report


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputRejected(f"cannot read {path.name}: {exc.strerror}") from None
