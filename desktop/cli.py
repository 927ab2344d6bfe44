"""haven-admin: the command line of the CLI contract in DESIGN.md.

Exit codes: 0 done; 1 unexpected failure; 2 usage error; 3 authentication failed
or permission denied; 4 input rejected (and then nothing has changed).
Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from db.keyslots import MIN_ITERATIONS, MIN_MEMORY_KIB, KdfParams, KeyslotError
from db.records import Role, Status
from db.vault import Rekeyed, VaultError
from desktop import case_json, cli_transfer, config, workflow
from desktop.cli_common import (
    PROG,
    UsageError,
    ask_hidden,
    data_folder,
    dump,
    go_on,
    out,
    output_file,
    progress_line,
    read_first_line,
    warn,
)
from desktop.errors import HavenError, InputRejected, NotFound, not_written
from desktop.files import check_new_file
from desktop.memory import no_core_dumps
from desktop.permissions import Action
from desktop.session import Session

MAX_LIST = 1_000_000
# Far above the cost a desk workstation would unlock with, far below where Argon2id overflows.
MAX_KDF_MEMORY_MIB = 4096
MAX_KDF_PASSES = 100


class _Commands(argparse._SubParsersAction):
    """Each command's --help opens with the line the command list shows for it."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("description", kwargs.get("help"))
        return super().add_parser(name, **kwargs)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _Commands)

    def error(self, message: str) -> NoReturn:
        # One line, as every error is; the usage is one --help away. Arguments left over are
        # found by the top parser, whatever command they were given to.
        where = "haven-admin COMMAND" if message.startswith("unrecognized") else self.prog
        raise UsageError(f"{message} (see: {where} --help)")


def _whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``, else a usage error."""

    def parse(text: str) -> int:
        digits = text.strip()
        if (
            not (digits.isascii() and digits.isdigit())
            or len(digits) > len(str(high))
            or not low <= int(digits) <= high
        ):
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}")
        return int(digits)

    return parse


# --- passwords and input ---------------------------------------------------------------------


def _prompt(label: str, flag: str) -> str:
    """Ask on the terminal; ``flag`` is the option that gives the password without one."""
    if not sys.stdin.isatty():
        raise UsageError(f"no terminal to ask for a password: use {flag}")
    return ask_hidden(f"{label}: ")


def _password(args: argparse.Namespace) -> str:
    if args.password_file:
        return read_first_line(args.password_file, "password")
    return _prompt(f"Password for {args.user}", "--password-file")


def _new_password(args: argparse.Namespace, for_user: str) -> str:
    if getattr(args, "new_password_file", None):
        return read_first_line(args.new_password_file, "new password")
    first = _prompt(f"New password for {for_user}", "--new-password-file")
    if _prompt("Repeat it", "--new-password-file") != first:
        raise InputRejected("the two passwords differ")
    return first


def _kdf(args: argparse.Namespace) -> KdfParams | None:
    if args.kdf_memory is None and args.kdf_passes is None:
        return None
    defaults = KdfParams()
    params = KdfParams(
        memory_kib=(args.kdf_memory or defaults.memory_kib // 1024) * 1024,
        iterations=args.kdf_passes or defaults.iterations,
        lanes=min(defaults.lanes, max(1, (args.kdf_memory or 256) // 8)),
    )
    try:
        params.check()
    except KeyslotError as exc:
        raise UsageError(str(exc)) from None
    return params


def _read_json_arg(source: str | None, *, empty: Any = None) -> Any:
    """JSON from a file, or from stdin ('-' or no --json); ``empty``, if given, stands for a
    stdin with nothing on it when no --json was given (a script with no fields to pass)."""
    if source is None or source == "-":
        where, raw = "standard input", sys.stdin.buffer.read()
        if source is None and empty is not None and not raw.strip():
            return empty
    else:
        try:
            where, raw = source, Path(source).read_bytes()
        except OSError as exc:
            raise InputRejected(
                f"cannot read {source}: {exc.strerror or exc.__class__.__name__}"
            ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputRejected(f"cannot read {where}: it is not UTF-8 text") from None
    if not text.strip():
        raise InputRejected(f"no JSON in {where}: give it with --json FILE, or on stdin")
    return case_json.loads(text)


# --- commands ---------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    password = _new_password(args, args.admin)
    data_dir = config.data_dir(args.data)
    made_folder = not data_dir.exists()
    session, recovery = Session.create_site(
        data_dir, args.site_name, args.admin, password, _kdf(args) or KdfParams()
    )
    try:
        out(f"Site '{session.site.name}' created (site id {session.site.site_id}).")
        out("Recovery key (shown once, never again: print it and keep it in a safe):")
        out(f"  {recovery}")
        sys.stdout.flush()
    except OSError as exc:
        # The recovery key is shown once: a site whose key went nowhere is taken back.
        session.close()
        _take_back_site(data_dir, made_folder)
        raise HavenError(
            f"the recovery key could not be written to standard output ({exc.strerror}); the"
            " site was not created: run init again with an output that takes it"
        ) from None
    # On stderr, as a hint that may be lost: scripts take the key from stdout's last line.
    # The roles stay out of the command: 'operator|manager|…' pasted would be a pipeline.
    with contextlib.suppress(OSError):
        sys.stderr.write("Next, an account for each person (ROLE: operator, manager, it or"
                         f" admin): haven-admin --data {shlex.quote(str(data_dir))} --user"
                         f" {shlex.quote(args.admin)} user add NAME --role ROLE\n")
    session.close()
    return 0


def _take_back_site(data_dir: Path, made_folder: bool) -> None:
    from desktop.transfer.backup import VAULT_FILES

    for name in VAULT_FILES:
        with contextlib.suppress(FileNotFoundError):
            (data_dir / name).unlink()
    if made_folder:
        with contextlib.suppress(OSError):
            data_dir.rmdir()


def cmd_recover(args: argparse.Namespace) -> int:
    recovery_key = read_first_line(args.recovery_key_file, "recovery key")
    password = _new_password(args, args.admin)
    Session.recover(
        config.data_dir(args.data), recovery_key, args.admin, password, _kdf(args) or KdfParams()
    )
    out(f"'{args.admin}' has a new password; the recovery key still opens the vault.")
    return 0


def _with_session(action: Callable[[Session, argparse.Namespace], int]) -> Callable[..., int]:
    def run(args: argparse.Namespace) -> int:
        if not args.user:
            raise UsageError("--user is required (or set HAVEN_USER)")
        session = Session.open(config.data_dir(args.data), args.user, _password(args))
        if (
            action is not cmd_site_rekey
            and session.can(Action.MANAGE_USERS)
            and session.rekey_unfinished
        ):
            warn(
                "the vault was not re-keyed to the end since an account was disabled: until"
                " 'haven-admin site rekey' runs, an old copy of the key may still open it"
            )
        try:
            return action(session, args)
        finally:
            session.close()

    return run


def cmd_user_add(session: Session, args: argparse.Namespace) -> int:
    password = _new_password(args, args.name)
    session.add_user(args.name, Role(args.role), password, _kdf(args) or session.vault.kdf)
    out(f"User '{args.name}' added with role {args.role}.")
    return 0


def cmd_user_list(session: Session, args: argparse.Namespace) -> int:
    accounts = session.list_users()
    if args.json:
        dump(
            [
                {
                    "name": u.name,
                    "role": u.role.value,
                    "disabled": u.disabled,
                    "created_at": u.created_at.isoformat(),
                }
                for u in accounts
            ]
        )
    else:
        for account in accounts:
            state = "disabled" if account.disabled else "active"
            out(f"{account.name:<24} {account.role.value:<9} {state}")
    return 0


def cmd_user_disable(session: Session, args: argparse.Namespace) -> int:
    if not go_on(args, f"Disabling '{args.name}' removes their keyslot and re-encrypts the"
                 " vault. It cannot be undone, and the name cannot be used for a new account.",
                 f"Disable '{args.name}'?"):
        return 1
    with progress_line("Re-encrypting the vault") as progress:
        rekeyed = session.disable_user(args.name, progress, _show_new_recovery_key)
    out(f"User '{args.name}' disabled; their keyslot is removed.")
    _said_rekeyed(rekeyed)
    return 0


def cmd_site_rekey(session: Session, args: argparse.Namespace) -> int:
    with progress_line("Re-encrypting the vault") as progress:
        rekeyed = session.rekey_vault(progress, _show_new_recovery_key)
    _said_rekeyed(rekeyed)
    return 0


def _show_new_recovery_key(recovery_key: str) -> None:
    """Said before the database is re-encrypted, so that it is known whatever happens then."""
    out("The old recovery key is being replaced. The new one, shown only once:")
    out(f"  {recovery_key}")
    out("Print it and keep it in the safe in place of the old one.")


def _said_rekeyed(rekeyed: Rekeyed) -> None:
    out(
        "The vault is re-encrypted under a new key, sealed to the keyslots of "
        + ", ".join(rekeyed.sealed)
        + " and to the recovery slot: an old copy of the keyslot file no longer opens it."
    )
    for reason in rekeyed.dropped:
        out(f"  left out: {reason}")
    out(
        "The site's own keys (transfer files, handoff sheets) are not changed: whoever copied"
        " the database itself can still read files sent to this site."
    )


def cmd_user_passwd(session: Session, args: argparse.Namespace) -> int:
    password = _new_password(args, args.name)
    session.change_password(args.name, password, _kdf(args) or session.vault.kdf)
    out(f"Password of '{args.name}' changed.")
    return 0


def _say_what_stdin_waits_for(prompt: str) -> None:
    """At a terminal, say what is to be typed: else the command would wait without a word."""
    if sys.stdin.isatty():
        sys.stderr.write(prompt)
        sys.stderr.flush()


def cmd_case_add(session: Session, args: argparse.Namespace) -> int:
    if args.json == "-":
        _say_what_stdin_waits_for("Type or paste the case as JSON (its fields are in the"
                                  " README), then press Ctrl+D on a line of its own:\n")
    new = case_json.parse_new_case(_read_json_arg(args.json))
    result = session.register_case(new)
    out(result.ref)
    sys.stderr.write(
        f"codeword: {result.codeword}  (read it to the caller; it is not shown again)\n"
    )
    return 0


def cmd_case_list(session: Session, args: argparse.Namespace) -> int:
    statuses = None if args.status is None else [Status(args.status)]
    if args.search:
        # '-': the first line of stdin, so that a caller's name stays out of shell history.
        if args.search == "-":
            _say_what_stdin_waits_for("Search for (a reference, phone or name): ")
        text = read_first_line("-", "search text") if args.search == "-" else args.search
        found = session.search(text, limit=args.limit)
        summaries = [s for s in found if statuses is None or s.status in statuses]
    else:
        summaries, _ = session.queue_page(statuses, None, args.limit)
    if args.json:
        listed = session.view_cases([summary.id for summary in summaries])
        dump([case_json.case_to_json(case) for case in listed])
        return 0
    for summary in summaries:
        flag = " !" if summary.flagged else ""
        out(f"{summary.ref:<12} {summary.status.value:<17} {summary.names}{flag}")
    return 0


def cmd_case_show(session: Session, args: argparse.Namespace) -> int:
    case = session.get_case(session.resolve(args.ref))
    if args.json:
        document = case_json.case_to_json(case)
        document["contacts"] = [
            {
                "at": c.at.isoformat(),
                "channel": c.channel.value,
                "operator": c.operator,
                "stage": c.stage.value,
                "summary": c.summary,
            }
            for c in session.contacts(case.id)
        ]
        document["history"] = [
            {
                "from": None if h.from_status is None else h.from_status.value,
                "to": h.to_status.value,
                "at": h.at.isoformat(),
                "by": h.by,
                "fields": h.fields,
            }
            for h in session.status_history(case.id)
        ]
        dump(document)
        return 0
    out(f"{case.ref}  [{case.status.value}]  {case.kind.value} via {case.channel.value}")
    if case.flagged:
        out("  FLAGGED: repeated codeword failures (possible impostor)")
    for person in case.persons:
        details = ", ".join(
            x for x in (person.birth_date, person.phone, person.rank, person.unit) if x
        )
        out(f"  - {person.full_name}" + (f" ({details})" if details else ""))
    window = None
    if case.window_start is not None:
        from desktop import handoff  # with reportlab: only when there is a window to show

        window = handoff.window_text(case.window_start, case.window_end)
    for label, value in (
        ("location", case.location),
        ("group size", case.group_size and str(case.group_size)),
        ("condition", case.condition),
        ("meeting point", case.meeting_point),
        ("receiving unit", case.receiving_unit),
        ("window", window),
        ("outcome", case.outcome and case.outcome.value),
        ("outcome notes", case.outcome_notes),
        ("duplicate of", case.duplicate_of and _reference(session, case.duplicate_of)),
        ("reason", case.reason),
        ("notes", case.notes),
    ):
        if value:
            out(f"  {label}: {value}")
    out("  history:")
    for change in session.status_history(case.id):
        fields = "; ".join(f"{name}: {_history_value(name, change.fields[name])}"
                           for name in workflow.in_asked_order(change.to_status, change.fields)
                           if name != "codeword")
        out(f"    {change.at.astimezone():%Y-%m-%d %H:%M} {change.to_status.value}"
            f" by {change.by}" + (f" ({fields})" if fields else ""))
    return 0


def _history_value(name: str, value: Any) -> str:
    """A window's time as this workstation's clock reads it, as 'window:' shows it."""
    if name in ("window_start", "window_end") and isinstance(value, str):
        with contextlib.suppress(ValueError):
            return f"{datetime.fromisoformat(value).astimezone():%Y-%m-%d %H:%M}"
    return str(value)


def cmd_case_advance(session: Session, args: argparse.Namespace) -> int:
    target = workflow.parse_status(args.to)
    case_id = session.resolve(args.ref)
    fields = {} if args.json is None and sys.stdin.isatty() else _read_json_arg(
        args.json, empty={}
    )
    if not isinstance(fields, dict):
        raise InputRejected("the transition fields must be a JSON object")
    case = session.advance(case_id, target, fields)
    out(f"{case.ref} is now {case.status.value}")
    return 0


def cmd_handoff(session: Session, args: argparse.Namespace) -> int:
    from desktop import printing

    target = Path(args.output)
    check_new_file(target)
    try:
        printed = printing.print_sheet_to_file(session, session.resolve(args.ref), target)
    except OSError as exc:
        raise not_written(target, exc) from None
    copy = f" (copy {printed.copy_number})" if printed.copy_number else ""
    out(f"handoff sheet {printed.serial}{copy} written to {target}")
    for warning in printed.warnings:  # the sheet's first page says the same
        sys.stderr.write(f"warning: {warning}\n")
    sys.stderr.write("warning: the PDF file is not encrypted; keep it on removable media only\n")
    return 0


def cmd_sheet_verify(session: Session, args: argparse.Namespace) -> int:
    from desktop import handoff, printing

    check = printing.check_sheet_token(session, args.token)
    claims, case = check.claims, check.case
    genuine = f"sheet {claims.serial} of site '{check.site_name}' is genuine, but"
    spent = _spent(case, _reference(session, case.duplicate_of))
    # The verdict is the error line (stderr); what the token says follows on stdout.
    if spent is not None:
        warn(f"{spent[0]}: {genuine} {spent[1]}: do not hand over by it")
    elif not check.current:
        latest = check.latest_serial
        instead = (f"the case's latest sheet is {latest}" if latest and latest != claims.serial
                   else "print a new one")
        warn(f"OUT OF DATE: {genuine} the case changed after it was printed: do not hand over"
             f" by it; {instead}")
    else:
        out(f"valid handoff sheet token signed by site '{check.site_name}' ({claims.site_id})")
    out(f"  case {claims.reference} ({claims.case_id}), sheet {claims.serial}")
    out(f"  content digest {claims.content_digest.hex()}")
    if check.registered is not None:
        record = check.registered
        copy = f"copy {record.copy_number}" if record.copy_number else "original"
        printed = handoff.local_time_text(record.printed_at)  # as the paper prints it
        out(f"  printed {printed} by {record.printed_by} ({copy})")
    if spent is not None or not check.current:
        out("  what became of the case is in its history (case show)")
        return 4
    if case.flagged:  # it stays flagged when the true caller passes the check later
        warn("this case is flagged: someone failed its codeword check in the caller's name;"
             " make sure of who hands over")
    out("  the sheet vouches for the case as it stands; the paper must show:")
    for number, person in enumerate(case.persons, 1):
        born = f", {person.birth_date}" if person.birth_date else ""
        out(f"    {number}. {person.full_name}{born}")
        serves = ", ".join(part for part in (person.rank, person.unit) if part)
        if serves:
            out(f"       {serves}")
        if person.notes:  # distinguishing features
            out(f"       features: {_shortened(person.notes)}")
    window = handoff.window_text(case.window_start, case.window_end)  # as the paper prints it
    for label, value in (("group size", case.group_size), ("condition", case.condition),
                         ("meeting point", case.meeting_point), ("window", window),
                         ("receiving unit", case.receiving_unit)):
        out(f"    {label}: {value if value not in (None, '') else '—'}")
    return 0


def _reference(session: Session, case_id: str | None) -> str:
    """The reference of a case named by its id, as people name cases; the id if not held."""
    if case_id is None:
        return "?"
    try:
        return session.get_case(case_id, audit_view=False).ref
    except NotFound:
        return case_id


def _spent(case: Any, duplicate_of: str) -> tuple[str, str] | None:
    """Why no sheet of this case may be handed over by any more, if none may: (verdict,
    reason). A sheet leaves out the status, so it stays genuine when the case moves on."""
    changed = case.status_changed_at
    when = f" on {changed.astimezone():%Y-%m-%d %H:%M}" if changed is not None else ""
    if case.status == Status.WITHDRAWN:
        reason = f" ({case.reason})" if case.reason else ""
        return "WITHDRAWN", f"the case was withdrawn{when}{reason}"
    if case.status == Status.DUPLICATE:
        return "DUPLICATE", f"the case was marked{when} a duplicate of {duplicate_of}"
    if case.status == Status.HANDED_OFF:
        return "ALREADY HANDED OFF", f"the group was handed off{when}: the paper is spent"
    if case.status == Status.CLOSED:
        return "CLOSED", f"the case was closed{when}"
    return None


def _shortened(text: str, limit: int = 120) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def cmd_demo(session: Session, args: argparse.Namespace) -> int:
    from desktop import demo

    demo.make_demo_cases(session, args.cases, args.seed, progress=out)
    return 0


def cmd_audit_verify(session: Session, args: argparse.Namespace) -> int:
    # Before the check, which adds an entry of its own: the root is over entries it checks.
    root = None if args.root_at is None else session.audit_root_at(args.root_at)
    report = session.verify_audit()
    if report.ok:
        out(f"audit log intact: {report.entries} entries, head {report.head.hex()[:16]}")
        if root is not None:
            out(f"root after {args.root_at} entries: {root.hex()}")
            out("  a handoff sheet printed then shows the same root, unless the log was rewritten")
        return 0
    for problem in report.problems:
        warn(problem)
    warn(f"audit log damaged: {len(report.problems)} problem(s) in {report.entries} entries")
    return 4


def cmd_audit_list(session: Session, args: argparse.Namespace) -> int:
    entries = session.audit_entries(args.case)
    if args.json:
        dump([
            {"site": e.site, "site_id": e.site_id, "seq": e.seq, "at": e.at, "actor": e.actor,
             "action": e.action, "case": e.case_id, "ref": e.ref, "detail": e.detail,
             "set_aside": e.set_aside}
            for e in entries
        ])
        return 0
    for e in entries:
        mark = " (set aside: not in its site's log as it stands)" if e.set_aside else ""
        out(f"{e.at}  {e.site[:16]:<16} #{e.seq:<6} {e.actor[:16]:<16} {e.action:<22}"
            f" {e.ref or '':<12} {e.detail}{mark}".rstrip())
    sites = len({e.site_id for e in entries})
    out(f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'} from {sites}"
        f" {'site' if sites == 1 else 'sites'}")
    return 0


def cmd_places(session: Session, args: argparse.Namespace) -> int:
    kind = "meeting_point" if args.kind == "meeting-points" else "receiving_unit"
    if args.set is not None:
        session.set_site_places(kind, [name for name in args.set.split(";")])
    for name in session.site_places(kind):
        out(name)
    return 0


# --- parser -----------------------------------------------------------------------------------


def _add_kdf_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kdf-memory",
        type=_whole_number(MIN_MEMORY_KIB // 1024, MAX_KDF_MEMORY_MIB),
        metavar="MiB",
        help=f"Argon2id memory for the new keyslot (default 256, {MIN_MEMORY_KIB // 1024}"
        f" to {MAX_KDF_MEMORY_MIB})",
    )
    parser.add_argument(
        "--kdf-passes",
        type=_whole_number(MIN_ITERATIONS, MAX_KDF_PASSES),
        metavar="N",
        help=f"Argon2id passes for the new keyslot (default 3, {MIN_ITERATIONS} to"
        f" {MAX_KDF_PASSES})",
    )


_REF_HELP = "the case's reference code, as 'case list' shows it"
_NEW_LOGIN_FILE_HELP = "first line is the new password ('-' = stdin); else it is asked twice"
_EPILOG = """\
A new site: init, then 'user add' for each person, then 'site key-card' for each
site to exchange keys with, and 'peer add' with the fingerprint its IT officer reads.
Every command but init, recover and restore opens the vault as --user, with the
password from --password-file or asked; 'COMMAND --help' says what it needs.
Exit codes: 0 done; 1 unexpected failure; 2 usage error; 3 authentication failed
or permission denied; 4 input rejected (and then nothing has changed)."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG, description="Administer a Haven site.", epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=data_folder,
                        help="data folder (else $HAVEN_DATA, else the user data dir)")
    parser.add_argument("--user", default=os.environ.get("HAVEN_USER"), help="user name")
    parser.add_argument("--password-file", help="first line is the password ('-' = stdin)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    init = commands.add_parser(
        "init", help="create a new site in the data folder; prints its recovery key, once"
    )
    init.add_argument("--site-name", required=True,
                      help="as key cards and handoff sheets print it")
    init.add_argument("--admin", required=True, metavar="NAME",
                      help="the first account, an admin; add the others with 'user add'")
    init.add_argument("--new-password-file", metavar="FILE", help=_NEW_LOGIN_FILE_HELP)
    _add_kdf_flags(init)
    init.set_defaults(func=cmd_init)

    recover = commands.add_parser(
        "recover", help="break-glass: a new password for an admin, with the recovery key"
    )
    recover.add_argument("admin", metavar="ADMIN")
    recover.add_argument("--recovery-key-file", required=True,
                         help="first line is the recovery key that init printed ('-' = stdin)")
    recover.add_argument("--new-password-file", metavar="FILE", help=_NEW_LOGIN_FILE_HELP)
    _add_kdf_flags(recover)
    recover.set_defaults(func=cmd_recover)

    user = commands.add_parser("user", help="accounts").add_subparsers(
        dest="user_command", required=True, parser_class=_Parser
    )
    add = user.add_parser(
        "add", help="add an account for one person (IT officers and admins; an admin, only by"
        " an admin)"
    )
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role],
                     help="operator: cases; manager: also handoff sheets, outcomes, conflicts"
                     " and site places; it: accounts, peers, transfer files and backups, no"
                     " cases; admin: everything")
    add.add_argument("--new-password-file", metavar="FILE", help=_NEW_LOGIN_FILE_HELP)
    _add_kdf_flags(add)
    add.set_defaults(func=_with_session(cmd_user_add))
    listing = user.add_parser("list", help="every account with its role")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_with_session(cmd_user_list))
    disable = user.add_parser(
        "disable", help="take an account out of use for good and re-key the vault (asks first)"
    )
    disable.add_argument("name")
    disable.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    disable.set_defaults(func=_with_session(cmd_user_disable))
    passwd = user.add_parser("passwd", help="give an account a new password")
    passwd.add_argument("name")
    passwd.add_argument("--new-password-file", metavar="FILE", help=_NEW_LOGIN_FILE_HELP)
    _add_kdf_flags(passwd)
    passwd.set_defaults(func=_with_session(cmd_user_passwd))

    case = commands.add_parser("case", help="cases").add_subparsers(
        dest="case_command", required=True, parser_class=_Parser
    )
    case_add = case.add_parser(
        "add", help="register a case; prints its reference (and the codeword on stderr)"
    )
    case_add.add_argument("--json", metavar="FILE|-", default="-",
                          help="the case as JSON (see the README); '-', the default, reads it"
                          " from standard input")
    case_add.set_defaults(func=_with_session(cmd_case_add))
    case_list = case.add_parser("list", help="open cases first, or those --search finds")
    case_list.add_argument("--json", action="store_true")
    case_list.add_argument("--status", choices=[status.value for status in Status])
    case_list.add_argument("--search", metavar="TEXT|-",
                           help="a reference, phone or name; '-' reads it from stdin")
    case_list.add_argument("--limit", type=_whole_number(1, MAX_LIST), default=1000)
    case_list.set_defaults(func=_with_session(cmd_case_list))
    show = case.add_parser("show", help="one case, with what became of it")
    show.add_argument("ref", help=_REF_HELP)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_with_session(cmd_case_show))
    advance = case.add_parser("advance", help="one workflow step, with its fields")
    advance.add_argument("ref", help=_REF_HELP)
    advance.add_argument("--to", required=True, metavar="STATUS",
                         help=", ".join(status.value for status in Status))
    advance.add_argument("--json", metavar="FILE|-",
                         help="the step's fields as a JSON object (the README lists them);"
                         " '-' reads it from standard input")
    advance.set_defaults(func=_with_session(cmd_case_advance))

    handoff = commands.add_parser("handoff", help="print a handoff sheet to a PDF file")
    handoff.add_argument("ref")
    handoff.add_argument("-o", "--output", type=output_file, required=True, metavar="FILE.pdf")
    handoff.set_defaults(func=_with_session(cmd_handoff))
    sheet = commands.add_parser("sheet", help="handoff sheet tokens").add_subparsers(
        dest="sheet_command", required=True, parser_class=_Parser
    )
    sheet_verify = sheet.add_parser("verify", help="check the token of a sheet's QR code")
    sheet_verify.add_argument("token")
    sheet_verify.set_defaults(func=_with_session(cmd_sheet_verify))

    demo = commands.add_parser("demo", help="add synthetic cases")
    demo.add_argument("--cases", type=_whole_number(1, 1_000_000), required=True)
    demo.add_argument("--seed", type=int, default=1)
    demo.set_defaults(func=_with_session(cmd_demo))

    audit_parser = commands.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_command", required=True, parser_class=_Parser
    )
    audit_verify = audit_parser.add_parser("verify", help="check the whole audit log")
    audit_verify.add_argument(
        "--root-at", type=_whole_number(1, 2**53), metavar="N",
        help="also print the log's root after its first N entries, to compare with the one a"
        " handoff sheet shows",
    )
    audit_verify.set_defaults(func=_with_session(cmd_audit_verify))
    listing = audit_parser.add_parser(
        "list", help="this site's audit entries and those of other sites, oldest first"
    )
    listing.add_argument("--case", metavar="REF", help="only the entries about this case")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_with_session(cmd_audit_list))

    site = cli_transfer.register(commands, _with_session)
    rekey = site.add_parser(
        "rekey",
        help="re-encrypt the vault under a new key (after revoking a user who may have"
        " copied the old one; user disable does it itself)",
    )
    rekey.set_defaults(func=_with_session(cmd_site_rekey))

    places = commands.add_parser(
        "places", help="the site's meeting points and receiving units (--set: manager, admin)"
    )
    places.add_argument("kind", choices=["meeting-points", "receiving-units"])
    places.add_argument("--set", metavar="NAME;NAME;…", help="replace the list")
    places.set_defaults(func=_with_session(cmd_places))
    return parser


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _stopping_like_ctrl_c() -> Iterator[None]:
    """A logout (SIGHUP) or a shutdown (SIGTERM) stops a command as Ctrl+C does: what it
    was writing is taken back, instead of being left half-written."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = (signal.SIGTERM, signal.SIGHUP)
    before = {number: signal.signal(number, _interrupt) for number in wanted}
    try:
        yield
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    if argv is None:  # a process of its own, not a call from another program
        no_core_dumps()
    with _stopping_like_ctrl_c():
        return _main(sys.argv[1:] if argv is None else list(argv))


def _closed_streams() -> None:
    """A closed stdin reads as empty and a closed stderr drops its messages; a closed stdout
    stops the command before it does anything, since its answer (init's recovery key, the
    reference of a case added) would be lost."""
    if sys.stdin is None:
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - for the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - likewise
    if sys.stdout is None:
        raise UsageError("standard output is closed; nothing was done")


def _main(arguments: list[str]) -> int:
    try:
        _closed_streams()
        if case_json.holds_lone_surrogate(arguments):
            # Bytes that are not UTF-8 reach Python as lone surrogates, which no vault,
            # log or terminal can hold.
            raise UsageError("the command line holds bytes that are not UTF-8 text")
        args = build_parser().parse_args(arguments)
        return int(args.func(args))
    except HavenError as exc:
        warn(str(exc))
        return exc.exit_code
    except VaultError as exc:  # the vault's disk is full, or its database damaged
        warn(str(exc))
        return 1
    except KeyboardInterrupt:
        warn("interrupted; nothing was half-written")
        return 1
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a last line of defence: one line, never a traceback or data
        warn(f"unexpected failure ({exc.__class__.__name__}); nothing was half-written")
        return 1


if __name__ == "__main__":
    sys.exit(main())
