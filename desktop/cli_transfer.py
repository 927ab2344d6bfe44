"""haven-admin commands for site identity, peers, transfer files, conflicts and backups.

    site show [--json] · site key-card -o FILE.pdf
    site export-identity --age -o FILE [--passphrase | --passphrase-file FILE]
    peer add NAME --signing-key KEY --recipient AGE1 --fingerprint FP [--site-id ID]
    peer list [--json] · peer revoke NAME · peer allowed-signers
    peer reset-checkpoint NAME FILE.haven [--yes]
    export --to PEER[,PEER…] [--full] -o FILE.haven · verify FILE.haven
    import FILE.haven [--dry-run]
    conflict list [--json] · conflict resolve ID --keep local|incoming|VERSION
    backup -o FILE [--passphrase-file FILE] · restore FILE --data NEWDIR [--passphrase-file FILE]

The peer's site id travels as the comment of its signing key (``haven:<site id>``), as
``site show`` prints it; ``--site-id`` gives it when the comment was lost on the way.
Backups are encrypted to a passphrase (scrypt), never to a key kept on the same machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desktop import config
from desktop.cli_common import (
    UsageError,
    ask_hidden,
    confirmed,
    data_folder,
    dump,
    go_on,
    out,
    output_file,
    progress_line,
    read_first_line,
    warn,
)
from desktop.errors import InputRejected, not_written
from desktop.files import check_new_file, write_private_file
from desktop.session import Session
from desktop.transfer.service import KEEP_SIDES, TransferService, keep_choice, restore

SessionCommand = Callable[[Session, argparse.Namespace], int]
WithSession = Callable[[SessionCommand], Callable[..., int]]


TransferUsageError = UsageError




def _passphrase(args: argparse.Namespace, *, confirm: bool, what: str = "Backup") -> str:
    if args.passphrase_file is not None:
        return read_first_line(args.passphrase_file, "passphrase")
    if not sys.stdin.isatty():
        raise TransferUsageError("no terminal to ask for the passphrase: use --passphrase-file")
    passphrase = ask_hidden(f"{what} passphrase: ")
    if confirm and ask_hidden("Repeat it: ") != passphrase:
        raise InputRejected("the two passphrases differ")
    return passphrase


# --- site ------------------------------------------------------------------------------------


def cmd_site_show(session: Session, args: argparse.Namespace) -> int:
    mine = TransferService(session).site_identity()
    info = {
        "site_id": mine.site_id,
        "name": mine.name,
        "ref_prefix": session.site.ref_prefix,
        "signing_key": mine.signing_key,
        "age_recipient": mine.age_recipient,
        "fingerprint": mine.fingerprint,
    }
    if args.json:
        dump(info)
        return 0
    for label, key in (("site id", "site_id"), ("name", "name"), ("signing key", "signing_key"),
                       ("age recipient", "age_recipient"), ("fingerprint", "fingerprint")):
        out(f"{label + ':':<15}{info[key]}")
    return 0


def cmd_site_key_card(session: Session, args: argparse.Namespace) -> int:
    target = Path(args.output)
    check_new_file(target)
    try:
        TransferService(session).key_card(save=lambda pdf: write_private_file(target, pdf))
    except OSError as exc:  # a full or read-only stick: no part of the card is left there
        raise not_written(target, exc) from None
    out(f"Key card written to {args.output} (public keys only; nothing secret).")
    return 0


def cmd_site_export_identity(session: Session, args: argparse.Namespace) -> int:
    if not args.age:
        raise TransferUsageError("say --age: the identity is written as an age identity file")
    service = TransferService(session)
    service.check_export_identity(Path(args.output))  # before the passphrase is asked for
    protect = args.passphrase or args.passphrase_file is not None
    passphrase = _passphrase(args, confirm=True, what="Identity") if protect else None
    service.export_identity(Path(args.output), passphrase)
    if passphrase is None:
        warn(
            f"WARNING: {args.output} holds this site's SECRET decryption key, unencrypted."
            " Anyone with it can read every transfer file sent to this site."
            " Keep it offline, and destroy it when the emergency is over"
            " (--passphrase writes it encrypted)."
        )
    else:
        warn(
            f"{args.output} holds this site's SECRET decryption key, encrypted with the"
            " passphrase. Keep the two apart, and destroy the file when the emergency is over."
        )
    asks = "" if passphrase is None else " (it asks for the passphrase)"
    out(f"Identity written to {args.output} (mode 0600); use it with:"
        f" age -d -i {args.output}{asks}")
    return 0


# --- peers -----------------------------------------------------------------------------------


def cmd_peer_add(session: Session, args: argparse.Namespace) -> int:
    signing_key, recipient, site_id = args.signing_key, args.recipient, args.site_id
    if args.card is not None:
        if signing_key or recipient or site_id:
            raise UsageError("give the keys by --card or by --signing-key and --recipient,"
                             " not both")
        signing_key, recipient, site_id = _key_card_keys(args.card)
    elif not (signing_key and recipient):
        raise UsageError("give the peer's keys: --signing-key and --recipient, or --card")
    # The fingerprint is always typed as read off the card or aloud, never taken from the
    # QR code: it is what confirms that the keys are the peer's.
    peer = TransferService(session).add_peer(
        args.name, signing_key, recipient, args.fingerprint, site_id
    )
    out(f"Peer '{peer.name}' added (site id {peer.site_id}, fingerprint {peer.fingerprint}).")
    return 0


def _key_card_keys(source: str) -> tuple[str, str, str]:
    """(signing key, age recipient, site id) from the text of a key card's QR code, given
    as it is or as '-' for standard input (a scanner's, or `zbarimg --raw card.png`)."""
    from desktop.keycard import read_key_card  # beside the card's renderer, with reportlab

    text = sys.stdin.read() if source == "-" else source
    try:
        card = read_key_card(text)
    except InputRejected as exc:
        raise InputRejected(f"--card: {exc}") from None
    return card.signing_key, card.recipient, card.site_id


def cmd_peer_list(session: Session, args: argparse.Namespace) -> int:
    listed = TransferService(session).list_peers()
    if args.json:
        dump([
            {"name": p.name, "site_id": p.site_id, "signing_key": p.signing_key,
             "recipient": p.recipient, "fingerprint": p.fingerprint, "added_at": p.added_at,
             "revoked": p.revoked, "revoked_at": p.revoked_at,
             "next_sequence": p.next_sequence}
            for p in listed
        ])
        return 0
    if not listed:  # on stderr: scripts read stdout's rows, name first
        sys.stderr.write("No peers yet. Exchange key cards with the other site's IT officer"
                         " ('site key-card'), then: peer add NAME --card QR_TEXT --fingerprint"
                         " FP\n")
    for peer in listed:
        state = f"revoked {peer.revoked_at}" if peer.revoked else "active"
        out(f"{peer.name:<20} {peer.site_id}  {peer.fingerprint}  {state}")
    return 0


def cmd_peer_allowed_signers(session: Session, args: argparse.Namespace) -> int:
    for line in TransferService(session).allowed_signers():
        out(line)
    return 0


def cmd_peer_revoke(session: Session, args: argparse.Namespace) -> int:
    if not go_on(args, f"Revoking '{args.name}' refuses every file from it from now on; it"
                 " cannot be undone here.", f"Revoke '{args.name}'?"):
        return 1
    peer = TransferService(session).revoke_peer(args.name)
    out(f"Peer '{peer.name}' revoked: files from it are refused from now on.")
    return 0


def cmd_peer_reset_checkpoint(session: Session, args: argparse.Namespace) -> int:
    service = TransferService(session)
    evidence = Path(args.file)
    if not args.yes:
        held = service.accepted_checkpoint(args.name, evidence)
        if not sys.stdin.isatty():
            raise TransferUsageError("no terminal to ask for confirmation: use --yes")
        out(f"Peer '{held.peer.name}', fingerprint {held.peer.fingerprint}.")
        out(f"This forgets the audit checkpoint of {held.checkpoint.tree_size} entries accepted"
             " from it: the checkpoint of its next file is taken on trust, like a first one.")
        out("Do this only once its IT officer has confirmed that it was restored from a backup.")
        if not confirmed("Forget the checkpoint?"):
            warn("not confirmed; nothing was changed")
            return 1
    reset = service.reset_checkpoint(args.name, evidence)
    out(f"Forgot the audit checkpoint of {reset.checkpoint.tree_size} entries accepted from"
         f" '{reset.peer.name}'; the checkpoint of its next file is accepted as a first one.")
    return 0


# --- transfer files --------------------------------------------------------------------------


def cmd_export(session: Session, args: argparse.Namespace) -> int:
    names = [name for name in args.to.split(",") if name.strip()]
    with progress_line("Writing the file") as progress:
        result = TransferService(session).export(
            names, Path(args.output), full=args.full, progress=progress
        )
    recipients = ", ".join(f"{name} (file #{seq})" for name, seq in result.recipients)
    cases = f"{result.cases} case" + ("" if result.cases == 1 else "s")
    # Not "confirmed": that is a case's status, and this is about what a peer's files show.
    what = f"all {cases}" if result.full else f"{cases} with changes not yet acknowledged"
    out(f"Wrote {result.path} for {recipients}: {what};"
        f" audit checkpoint {result.checkpoint_size} entries.")
    return 0


def cmd_verify(session: Session, args: argparse.Namespace) -> int:
    report = TransferService(session).verify(Path(args.file))
    manifest = report.manifest
    checkpoint = (
        "written before that site was restored from a backup: its cases can be imported,"
        " its audit checkpoint is of the log lost in the restore and is not checked"
        if report.before_reset
        else f"audit checkpoint of {manifest.checkpoint.tree_size} entries consistent"
    )
    out(f"OK: file #{report.sequence} from '{report.sender}', created {manifest.created_at},"
         f" signed, addressed to this site, payload intact ({manifest.payload_size} bytes),"
         f" {checkpoint}.")
    _note_gap(report.sender, report.missing, report.missing_count)
    return 0


def _note_gap(sender: str, first: tuple[int, ...], count: int) -> None:
    if count:
        listed = ", ".join(f"#{n}" for n in first)
        more = f" and {count - len(first)} more" if count > len(first) else ""
        out(f"Note: earlier files from '{sender}' not imported yet: {listed}{more}")


def cmd_import(session: Session, args: argparse.Namespace) -> int:
    with progress_line("Checking the file" if args.dry_run else "Importing") as progress:
        report = TransferService(session).import_file(
            Path(args.file), dry_run=args.dry_run, progress=progress
        )
    verb = "Would import" if report.dry_run else "Imported"
    out(f"{verb} file #{report.sequence} from '{report.sender}': {report.cases_new} new cases,"
         f" {report.cases_updated} updated, {report.conflicts_new} new conflicts"
         f" ({report.ops_new} new changes, {report.ops_known} already here),"
         f" {report.audit_new} audit entries of other sites.")
    if report.before_reset:
        out(f"The file was written before '{report.sender}' was restored from a backup: its"
             f" cases are taken; its audit checkpoint and the {report.audit_left_out} entries"
             f" of its own audit log of then are left out.")
    elif report.audit_left_out:
        out(f"{report.audit_left_out} relayed audit entries differ from the ones held here and"
             " were left out (their site was restored from a backup).")
    if report.ops_corrected:
        out(f"{report.ops_corrected} changes held here as another site relayed them were"
             " replaced by their own site's.")
    if report.audit_corrected:
        out(f"{report.audit_corrected} audit entries held here as another site relayed them"
             " were dropped: their own site's file contradicts them.")
    if report.ops_left_out:
        out(f"{report.ops_left_out} relayed changes differ from the ones held here and were"
             " left out.")
    if report.ops_not_ours:
        out(f"{report.ops_not_ours} changes in this site's name that it did not make (and"
             " changes built on them) were left out: forged by the sending site, or by a site"
             " whose file it took.")
    if report.ops_waiting:
        out(f"{report.ops_waiting} case(s) wait for a file that creates them.")
    if report.conflicts_new:
        out("A manager should review them: haven-admin conflict list")
    _note_gap(report.sender, report.missing, report.missing_count)
    if report.dry_run:
        out("Dry run: nothing was changed.")
    return 0


# --- conflicts -------------------------------------------------------------------------------


def cmd_conflict_list(session: Session, args: argparse.Namespace) -> int:
    views = TransferService(session).list_conflicts()
    if args.json:
        dump([
            {"id": v.id, "case_id": v.case_id, "ref": v.ref, "group": v.group,
             "versions": [
                 {"op": x.op_id, "site": x.site, "local": x.local, "at": x.at, "by": x.by,
                  "values": x.values}
                 for x in v.versions
             ]}
            for v in views
        ])
        return 0
    if not views:
        out("No open conflicts.")
    for view in views:
        out(f"{view.id}  {view.ref}  {view.group}")
        for index, version in enumerate(view.versions):
            shown = " (shown now)" if index == 0 else ""
            values = json.dumps(version.values, ensure_ascii=False, sort_keys=True)
            # The version's id first: what resolve --keep takes to keep this one.
            out(f"    {'local' if version.local else 'incoming':<8} {version.op_id}"
                f"  {version.site}, {version.at} by {version.by or '?'}{shown}: {values}")
    return 0


def _keep(text: str) -> str:
    """An argparse type for --keep: a typo is a usage error, not a version that is missing."""
    if keep_choice(text) is None:
        raise argparse.ArgumentTypeError(
            "say local, incoming or a version's id as 'conflict list' shows it")
    return text


def cmd_conflict_resolve(session: Session, args: argparse.Namespace) -> int:
    keep = keep_choice(args.keep)
    kept = f"the {keep} version" if keep in KEEP_SIDES else f"version {keep}"
    if not go_on(args, f"Keeping {kept} of conflict {args.id} discards its other versions, here"
                 " and at every site the decision reaches; it cannot be undone.",
                 f"Keep {kept}?"):
        return 1
    TransferService(session).resolve_conflict(args.id, args.keep)
    out(f"Conflict {args.id} resolved: kept {kept}.")
    return 0


# --- backups ---------------------------------------------------------------------------------


def cmd_backup(session: Session, args: argparse.Namespace) -> int:
    service = TransferService(session)
    service.check_backup(Path(args.output))  # before the passphrase is asked for
    passphrase = _passphrase(args, confirm=True)
    with progress_line("Writing the backup") as progress:
        info = service.backup(Path(args.output), passphrase, progress=progress)
    out(f"Backup written to {args.output} ({info.size} bytes, schema {info.schema});"
         " it opens with the passphrase only (age -d works too).")
    return 0


def cmd_restore(args: argparse.Namespace, password: Callable[[argparse.Namespace], str]) -> int:
    recovery_key = None
    if args.recovery_key_file is not None:
        if args.user:
            raise TransferUsageError("give --user or --recovery-key-file, not both")
        recovery_key = read_first_line(args.recovery_key_file, "recovery key")
    elif not args.user:
        raise TransferUsageError(
            "--user is required: the restored vault is opened to finish (or give the site's"
            " --recovery-key-file)"
        )
    data = config.data_dir(args.data)
    # The login's password first, then the passphrase: the order backup reads them in.
    login = password(args) if recovery_key is None else ""
    passphrase = _passphrase(args, confirm=False)
    with progress_line("Restoring the backup") as progress:
        info = restore(Path(args.file), data, passphrase, args.user or "", login, recovery_key,
                       progress)
    out(f"Restored the backup of site '{info.site_name}' ({info.site_id}) made"
        f" {info.created_at} into {data}. Its transfer numbering restarts; peers will be sent"
        " everything again on the next export.")
    out("Accounts are as they were then: disable again any account disabled since.")
    out("Its audit log may no longer extend what its peers accepted: send each peer a file"
         " before importing theirs; a peer that refuses it runs 'haven-admin peer"
         " reset-checkpoint NAME FILE' once you have confirmed the restore to its IT officer.")
    # A drill leaves two copies of one site: each would send files of its own numbering.
    out("If this was a drill and the site's own computer goes on working: send no file from"
        " this copy and delete its folder; a peer that hears from both copies refuses the"
        " site's files afterwards as a rewritten history.")
    return 0


# --- parser ----------------------------------------------------------------------------------


def register(commands: Any, with_session: WithSession) -> Any:
    """Add the transfer commands to haven-admin's subcommand parser; returns the ``site``
    group, for the site commands that are not about transfer."""

    def group(name: str, help_text: str) -> Any:
        parent = commands.add_parser(name, help=help_text)
        # Nested commands use haven-admin's own parser class, so usage errors exit with 2.
        return parent.add_subparsers(
            dest=f"{name}_command", required=True, parser_class=type(parent)
        )

    site = group("site", "this site's identity")
    show = site.add_parser("show", help="site id, public keys and fingerprint")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=with_session(cmd_site_show))
    card = site.add_parser("key-card", help="print the key card (PDF) for another site")
    card.add_argument("-o", "--output", type=output_file, required=True, metavar="FILE.pdf")
    card.set_defaults(func=with_session(cmd_site_key_card))
    identity = site.add_parser(
        "export-identity", help="break-glass: write the site's secret key (admin only)"
    )
    identity.add_argument("--age", action="store_true", required=True,
                          help="as an age identity file (AGE-SECRET-KEY-1…)")
    identity.add_argument("-o", "--output", type=output_file, required=True, metavar="FILE")
    protection = identity.add_mutually_exclusive_group()
    protection.add_argument("--passphrase", action="store_true",
                            help="encrypt it with a passphrase, asked twice (age -d -i asks too)")
    protection.add_argument("--passphrase-file", metavar="FILE",
                            help="encrypt it with the passphrase on the first line ('-' = stdin)")
    identity.set_defaults(func=with_session(cmd_site_export_identity))

    peer = group("peer", "other sites")
    add = peer.add_parser("add", help="trust another site once its fingerprint is confirmed")
    add.add_argument("name")
    add.add_argument("--signing-key", metavar="'ssh-ed25519 AAAA… haven:ID'")
    add.add_argument("--recipient", metavar="AGE1")
    add.add_argument("--card", metavar="QR_TEXT|-",
                     help="the keys as the key card's QR code holds them ('-': standard input)")
    add.add_argument("--fingerprint", required=True, metavar="FP",
                     help="as read off the key card or aloud: it confirms the keys")
    add.add_argument("--site-id", help="the peer's site id, if the key has no haven: comment")
    add.set_defaults(func=with_session(cmd_peer_add))
    listing = peer.add_parser("list", help="the peers, their fingerprints, and if revoked")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=with_session(cmd_peer_list))
    signers = peer.add_parser(
        "allowed-signers", help="an allowed_signers file for ssh-keygen -Y verify (-I site id)"
    )
    signers.set_defaults(func=with_session(cmd_peer_allowed_signers))
    revoke = peer.add_parser("revoke", help="refuse every file from this peer from now on")
    revoke.add_argument("name")
    revoke.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    revoke.set_defaults(func=with_session(cmd_peer_revoke))
    reset = peer.add_parser(
        "reset-checkpoint",
        help="after the peer was restored from a backup: forget its accepted audit checkpoint",
    )
    reset.add_argument("name")
    reset.add_argument("file", metavar="FILE.haven",
                       help="a file from it that was refused for its checkpoint: it shows the"
                       " restore (a new file numbering)")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset.set_defaults(func=with_session(cmd_peer_reset_checkpoint))

    export = commands.add_parser("export", help="write a transfer file for peers")
    export.add_argument("--to", required=True, metavar="PEER[,PEER…]")
    export.add_argument("--full", action="store_true", help="everything, not only what is new")
    export.add_argument("-o", "--output", type=output_file, required=True, metavar="FILE.haven")
    export.set_defaults(func=with_session(cmd_export))
    verify = commands.add_parser("verify", help="check a transfer file without importing it")
    verify.add_argument("file", metavar="FILE.haven")
    verify.set_defaults(func=with_session(cmd_verify))
    importing = commands.add_parser("import", help="import a transfer file, all or nothing")
    importing.add_argument("file", metavar="FILE.haven")
    importing.add_argument("--dry-run", action="store_true", help="report, change nothing")
    importing.set_defaults(func=with_session(cmd_import))

    conflict = group("conflict", "edits made at two sites without seeing each other")
    conflicts = conflict.add_parser("list", help="open conflicts with every version")
    conflicts.add_argument("--json", action="store_true")
    conflicts.set_defaults(func=with_session(cmd_conflict_list))
    resolve = conflict.add_parser("resolve", help="keep one version (manager, admin)")
    resolve.add_argument("id")
    resolve.add_argument("--keep", required=True, type=_keep, metavar="local|incoming|VERSION",
                         help="the newest local or incoming version, or a version's id as"
                         " 'conflict list' shows it; the others are discarded")
    resolve.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    resolve.set_defaults(func=with_session(cmd_conflict_resolve))

    backup = commands.add_parser("backup", help="an encrypted backup of the whole vault")
    backup.add_argument("-o", "--output", type=output_file, required=True, metavar="FILE")
    backup.add_argument("--passphrase-file", metavar="FILE",
                        help="first line is the backup passphrase ('-' = stdin); else it is"
                        " asked twice")
    backup.set_defaults(func=with_session(cmd_backup))
    restoring = commands.add_parser("restore", help="bring a backup back into a new folder")
    restoring.add_argument("file", metavar="FILE")
    restoring.add_argument("--data", default=argparse.SUPPRESS, metavar="NEWDIR", type=data_folder,
                           help="the new data folder (also accepted before the command)")
    restoring.add_argument("--passphrase-file", metavar="FILE",
                           help="first line is the backup's passphrase ('-' = stdin); else it"
                           " is asked")
    restoring.add_argument("--recovery-key-file", metavar="FILE",
                           help="open the restored vault with the recovery key that init"
                           " printed, instead of --user and a password")
    restoring.set_defaults(func=lambda args: cmd_restore(args, _session_password))
    return site



def _session_password(args: argparse.Namespace) -> str:
    if args.password_file:
        return read_first_line(args.password_file, "password")
    if not sys.stdin.isatty():
        raise TransferUsageError("no terminal to ask for a password: use --password-file")
    return ask_hidden(f"Password for {args.user}: ")

