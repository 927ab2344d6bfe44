"""haven-admin as scripts and IT officers use it: output, exit codes, nothing changed on error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from db.vault import Vault
from tests.conftest import PASSWORD, REPO, answering, cli_env, cli_runner, run_at_terminal

CASE = {
    "kind": "surrender",
    "channel": "phone",
    "persons": [
        {
            "full_name": "Іваненко Петро Сергійович",
            "birth_date": "1991-03-02",
            "phone": "067 123 45 67",
            "rank": "сержант",
            "unit": "в/ч 11931",
            "mobilization": "mobilized",
        },
        {"full_name": "Смирнов Алексей", "mobilization": "contract"},
    ],
    "location": "Запорізька обл.",
    "notes": "дзвонив уночі",
}


@pytest.fixture(scope="module")
def cli_site_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site made by haven-admin init, once for the module; each test takes a copy."""
    folder = tmp_path_factory.mktemp("cli-site")
    run_cli = cli_runner(folder)
    data = folder / "site"
    result = run_cli(
        "init",
        "--site-name",
        "Північ",
        "--admin",
        "admin",
        "--new-password-file",
        str(run_cli.password_file),
        "--kdf-memory",
        "19",
        "--kdf-passes",
        "2",
        data=data,
        user=None,
    )
    assert result.returncode == 0, result.stderr
    assert "Recovery key" in result.stdout
    return data


@pytest.fixture
def cli_site(cli_site_once: Path, tmp_path: Path) -> Path:
    data = tmp_path / "site"
    shutil.copytree(cli_site_once, data)
    return data


def _case_count(data: Path) -> int:
    vault = Vault.unlock(data, "admin", PASSWORD)
    try:
        return int(vault.conn.execute("SELECT count(*) FROM cases").fetchone()[0])
    finally:
        vault.close()


def _add(run_cli, data: Path, case: dict | None = None) -> str:  # type: ignore[no-untyped-def]
    result = run_cli("case", "add", "--json", "-", data=data, stdin=json.dumps(case or CASE))
    assert result.returncode == 0, result.stderr
    assert "codeword:" in result.stderr
    return result.stdout.strip()


def test_init_twice_is_refused(cli_site: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(
        "init",
        "--site-name",
        "X",
        "--admin",
        "admin",
        "--new-password-file",
        str(run_cli.password_file),
        data=cli_site,
        user=None,
    )
    assert result.returncode == 2  # another folder was meant
    assert result.stderr == f"haven-admin: a vault already exists in {cli_site}\n"


def test_case_add_list_show(cli_site: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    ref = _add(run_cli, cli_site)
    listed = json.loads(run_cli("case", "list", "--json", data=cli_site).stdout)
    assert [c["ref"] for c in listed] == [ref]
    shown = json.loads(run_cli("case", "show", ref.lower(), "--json", data=cli_site).stdout)
    assert shown["status"] == "registered"
    assert shown["persons"][0]["phone"] == "+380671234567"
    assert shown["persons"][1]["full_name"] == "Смирнов Алексей"
    for key in ("id", "ref", "status", "created_at", "updated_at", "kind", "channel", "location"):
        assert key in shown
    found = run_cli("case", "list", "--search", "Ivanenko", data=cli_site)
    assert ref in found.stdout
    found = run_cli("case", "list", "--search", "Смирнов", data=cli_site)
    assert ref in found.stdout


def test_a_name_to_search_for_can_come_on_stdin_not_into_the_shell_s_history(  # type: ignore[no-untyped-def]
    cli_site: Path, run_cli
) -> None:
    ref = _add(run_cli, cli_site)
    found = run_cli("case", "list", "--search", "-", data=cli_site, stdin="Смирнов\n")
    assert found.returncode == 0, found.stderr
    assert ref in found.stdout
    nothing = run_cli("case", "list", "--search", "-", data=cli_site, stdin="")
    assert nothing.returncode == 2
    assert nothing.stderr == "haven-admin: the search text file is empty\n"



def test_a_search_read_at_a_terminal_is_asked_for(cli_site: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    """'--search -' at a terminal says what it waits for, as 'case add' does, not nothing."""
    ref = _add(run_cli, cli_site)
    code, output = run_at_terminal(
        [sys.executable, "-m", "desktop.cli", "--data", str(cli_site), "--user", "admin",
         "case", "list", "--search", "-"],
        answering({b"Password for admin: ": PASSWORD.encode() + b"\n",
                   b"Search for (a reference, phone or name): ": "Смирнов\n".encode()}),
        env=cli_env(), timeout=60)
    text = output.decode(errors="replace")
    assert code == 0, text
    assert ref in text

def test_a_full_listing_is_audited_as_a_view_of_each_case(cli_site: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    refs = [_add(run_cli, cli_site) for _ in range(2)]

    def views() -> list[dict[str, str]]:
        entries = json.loads(run_cli("audit", "list", "--json", data=cli_site).stdout)
        return [e for e in entries if e["action"] == "case_viewed"]

    run_cli("case", "list", data=cli_site)  # references and names only, as the queue
    assert views() == []
    listed = json.loads(run_cli("case", "list", "--json", data=cli_site).stdout)
    assert sorted(c["ref"] for c in listed) == sorted(refs)
    assert sorted(e["case"] for e in views()) == sorted(c["id"] for c in listed)
    assert {e["detail"] for e in views()} == {"listed in full"}


def test_wrong_password_is_exit_3_with_one_line(cli_site: Path, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the password\n")
    for _ in range(5):
        result = run_cli("case", "list", data=cli_site, password_file_path=wrong)
        assert result.returncode == 3
        assert result.stderr.strip().count("\n") == 0
        assert "wrong user name or password" in result.stderr
        assert "Traceback" not in result.stderr
    # No lock-out shortcut: after five failures the right password still works.
    assert run_cli("case", "list", data=cli_site).returncode == 0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"kind": ' + "9" * 5000 + "}", "a number is too long"),
        ("[]", "JSON object"),
        (json.dumps({**CASE, "kind": "holiday"}), "kind"),
        (json.dumps({**CASE, "persons": []}), "persons"),
        (json.dumps({**CASE, "persons": [{"full_name": ""}]}), "full_name"),
        (json.dumps({**CASE, "persons": [{"full_name": "A", "phone": "call me"}]}), "phone"),
        (
            json.dumps({**CASE, "persons": [{"full_name": "A", "birth_date": "31.12.1990"}]}),
            "birth_date",
        ),
        (json.dumps({**CASE, "surprise": 1}), "unknown field"),
        ("[" * 100000 + "]" * 100000, "JSON"),
    ],
)
def test_invalid_case_json_is_exit_4_and_changes_nothing(  # type: ignore[no-untyped-def]
    cli_site: Path, run_cli, payload: str, message: str
) -> None:
    result = run_cli("case", "add", "--json", "-", data=cli_site, stdin=payload)
    assert result.returncode == 4, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert _case_count(cli_site) == 0


@pytest.mark.parametrize(
    ("person", "said"),
    [
        ({"full_name": "A", "birth_date": "1990-02-30"},
         "persons[0].birth_date: the calendar has no such day"),
        ({"full_name": "A", "birth_date": "2090-02-03"},
         "persons[0].birth_date: not a plausible birth date (in the future, or before 1900)"),
        ({"full_name": "A", "Ґжеґож Grzegorzyk": 1, "fullname": "B"},
         "persons[0]: unknown field(s) fullname, 1 more that is not a field name"),
        # The handoff sheet's fonts have no glyph for these: the paper would show boxes.
        ({"full_name": "Ван 中文"},
         "persons[0].full_name: holds a character the handoff sheet cannot print"),
        ({"full_name": "A", "notes": "тату 🙏"},
         "persons[0].notes: holds a character the handoff sheet cannot print"),
    ],
)
def test_a_refusal_does_not_repeat_what_may_be_personal(  # type: ignore[no-untyped-def]
    cli_site: Path, run_cli, person: dict[str, object], said: str
) -> None:
    result = run_cli("case", "add", "--json", "-", data=cli_site,
                     stdin=json.dumps({**CASE, "persons": [person]}))
    assert result.returncode == 4
    assert result.stderr == f"haven-admin: {said}\n"


def test_a_move_with_a_field_that_is_no_field_name_does_not_repeat_it(  # type: ignore[no-untyped-def]
    cli_site: Path, run_cli
) -> None:
    ref = _add(run_cli, cli_site)
    result = run_cli("case", "advance", ref, "--to", "withdrawn", "--json", "-", data=cli_site,
                     stdin=json.dumps({"reason": "called off", "Ґжеґож Grzegorzyk": "x"}))
    assert result.returncode == 4
    assert result.stderr == (
        "haven-admin: fields not used by the move to 'withdrawn': 1 that is not a field name\n"
    )


def test_a_place_not_on_the_site_s_list_is_named_by_its_field_not_repeated(  # type: ignore[no-untyped-def]
    cli_site: Path, run_cli
) -> None:
    added = run_cli("case", "add", "--json", "-", data=cli_site, stdin=json.dumps(CASE))
    ref, codeword = added.stdout.strip(), added.stderr.split("codeword:")[1].split("(")[0]
    confirmed = run_cli("case", "advance", ref, "--to", "confirmed", "--json", "-",
                        data=cli_site, stdin=json.dumps(
                            {"codeword": codeword.strip(), "location": "там", "group_size": 1}))
    assert confirmed.returncode == 0, confirmed.stderr
    for kind in ("meeting-points", "receiving-units"):
        assert run_cli("places", kind, "--set", "Пункт А", data=cli_site).returncode == 0
    listed = {"meeting_point": "Пункт А", "receiving_unit": "Пункт А",
              "window_start": "2030-12-01T14:00+02:00", "window_end": "2030-12-01T16:00+02:00"}
    for field in ("meeting_point", "receiving_unit"):
        # A caller's name typed into the wrong field of a script's JSON.
        result = run_cli("case", "advance", ref, "--to", "handoff_arranged", "--json", "-",
                         data=cli_site, stdin=json.dumps({**listed, field: "Іваненко Петро"}))
        assert result.returncode == 4
        kind = field.replace("_", " ")
        assert result.stderr == f"haven-admin: '{field}' is not on the site's list of {kind}s\n"


def test_unknown_status_and_missing_fields_are_exit_4(cli_site: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    ref = _add(run_cli, cli_site)
    result = run_cli(
        "case", "advance", ref, "--to", "teleported", "--json", "-", data=cli_site, stdin="{}"
    )
    assert result.returncode == 4
    assert "unknown status" in result.stderr
    result = run_cli(
        "case",
        "advance",
        ref,
        "--to",
        "confirmed",
        "--json",
        "-",
        data=cli_site,
        stdin=json.dumps({"location": "там"}),
    )
    assert result.returncode == 4
    assert "codeword" in result.stderr
    assert "group_size" in result.stderr
    result = run_cli(
        "case", "advance", ref, "--to", "handed_off", "--json", "-", data=cli_site, stdin="{}"
    )
    assert result.returncode == 4
    # No --json and nothing on stdin (a script): no fields, so the fields it needs are named.
    result = run_cli("case", "advance", ref, "--to", "withdrawn", data=cli_site, stdin="")
    assert result.returncode == 4
    assert "reason" in result.stderr
    assert "JSON" not in result.stderr
    added = run_cli("case", "add", data=cli_site, stdin="")
    assert (added.returncode, added.stderr) == (
        4, "haven-admin: no JSON in standard input: give it with --json FILE, or on stdin\n"
    )
    missing = run_cli("case", "add", "--json", str(cli_site / "nope.json"), data=cli_site)
    assert (missing.returncode, missing.stderr) == (
        4, f"haven-admin: cannot read {cli_site / 'nope.json'}: No such file or directory\n"
    )
    shown = json.loads(run_cli("case", "show", ref, "--json", data=cli_site).stdout)
    assert shown["status"] == "registered"
    assert len(shown["history"]) == 1


def test_roles_are_checked(cli_site: Path, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(
        "user",
        "add",
        "olena",
        "--role",
        "operator",
        "--new-password-file",
        str(run_cli.password_file),
        data=cli_site,
    )
    assert result.returncode == 0, result.stderr
    denied = run_cli(
        "user",
        "add",
        "x",
        "--role",
        "admin",
        "--new-password-file",
        str(run_cli.password_file),
        data=cli_site,
        user="olena",
    )
    assert denied.returncode == 3
    assert "may not manage accounts" in denied.stderr
    assert run_cli("case", "list", data=cli_site, user="olena").returncode == 0
    users = json.loads(run_cli("user", "list", "--json", data=cli_site).stdout)
    assert {u["name"]: u["role"] for u in users} == {"admin": "admin", "olena": "operator"}
    refused = run_cli("site", "rekey", data=cli_site, user="olena")
    assert refused.returncode == 3
    assert "may not manage accounts" in refused.stderr
    disabled = run_cli("user", "disable", "olena", data=cli_site)
    assert disabled.returncode == 0, disabled.stderr
    assert "re-encrypted under a new key" in disabled.stdout
    assert run_cli("case", "list", data=cli_site, user="olena").returncode == 3
    rekeyed = run_cli("site", "rekey", data=cli_site)
    assert rekeyed.returncode == 0, rekeyed.stderr
    assert "new one, shown only once" not in rekeyed.stdout  # init's slots hold key pairs
    assert "sealed to the keyslots of admin and to the recovery slot" in rekeyed.stdout
    assert run_cli("case", "list", data=cli_site).returncode == 0


def test_usage_errors_are_exit_2_in_one_line(cli_site: Path, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("case", data=cli_site).returncode == 2
    assert run_cli("frobnicate", data=cli_site).returncode == 2
    wrong = run_cli("user", "add", "olena", "--role", "boss", data=cli_site)
    assert wrong.returncode == 2
    assert wrong.stderr.count("\n") == 1  # the usage is one --help away, not printed
    assert wrong.stderr.endswith("(see: haven-admin user add --help)\n")
    dash = run_cli("backup", "-o", "-", data=cli_site)  # it wrote a file named '-'
    assert dash.returncode == 2
    assert "-o/--output: name a file to write (- is no file here)" in dash.stderr
    assert not (REPO / "-").exists()
    unknown = run_cli("case", "list", "--status", "arranged", data=cli_site)
    assert unknown.returncode == 2
    assert "invalid choice: 'arranged'" in unknown.stderr
    assert "'handoff_arranged'" in unknown.stderr
    empty = tmp_path / "no-vault-here"
    empty.mkdir()
    nowhere = run_cli("case", "list", data=empty)
    assert (nowhere.returncode, nowhere.stderr) == (
        2, f"haven-admin: no vault in {empty}: give the site's data folder with --data (or"
        " HAVEN_DATA); a new site is made with 'haven-admin init'\n"
    )
    key_file = tmp_path / "recovery.txt"
    key_file.write_text("ABCDE\n")
    recovering = run_cli("recover", "admin", "--recovery-key-file", str(key_file),
                         "--new-password-file", str(run_cli.password_file), data=empty, user=None)
    assert (recovering.returncode, recovering.stderr) == (2, nowhere.stderr)
    leftover = run_cli("user", "disable", "olena", "--force", data=cli_site)
    assert leftover.returncode == 2
    assert leftover.stderr.endswith("(see: haven-admin COMMAND --help)\n")
    # A keyslot file without its database is no place to init, but a vault to restore.
    (empty / "keyslots.json").write_text((cli_site / "keyslots.json").read_text())
    half = run_cli("case", "list", data=empty)
    assert half.returncode == 1
    assert "is incomplete" in half.stderr
    assert "restore the latest backup" in half.stderr


def test_an_empty_data_folder_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from desktop import cli

    assert cli.main(["--data", "", "case", "list"]) == 2  # not the default folder, quietly
    assert "the data folder cannot be empty" in capsys.readouterr().err


def test_demo_takes_a_sensible_number_of_cases(cli_site: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    for count in ("0", "10000001"):
        result = run_cli("demo", "--cases", count, data=cli_site)
        assert result.returncode == 2, result.stderr
        assert "must be a whole number from 1 to 1000000" in result.stderr
    assert _case_count(cli_site) == 0


def test_a_password_file_saved_with_a_byte_order_mark_logs_in(  # type: ignore[no-untyped-def]
    cli_site: Path, run_cli, tmp_path: Path
) -> None:
    notepad = tmp_path / "notepad.txt"
    notepad.write_bytes(b"\xef\xbb\xbf" + PASSWORD.encode() + b"\r\n")
    result = run_cli("case", "list", data=cli_site, password_file_path=notepad)
    assert result.returncode == 0, result.stderr


def test_audit_verify_passes_then_detects_tampering(cli_site: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        _add(run_cli, cli_site)
    ok = run_cli("audit", "verify", data=cli_site)
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout

    vault = Vault.unlock(cli_site, "admin", PASSWORD)
    vault.conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    vault.close()
    edited = run_cli("audit", "verify", data=cli_site)
    assert edited.returncode == 4
    assert "entry 3 was altered" in edited.stderr


@pytest.mark.parametrize("tamper", ["delete", "reorder"])
def test_audit_verify_detects_removed_or_reordered_entries(  # type: ignore[no-untyped-def]
    cli_site: Path, run_cli, tamper: str
) -> None:
    for _ in range(3):
        _add(run_cli, cli_site)
    vault = Vault.unlock(cli_site, "admin", PASSWORD)
    if tamper == "delete":
        vault.conn.execute("DELETE FROM audit_log WHERE seq = 4")
    else:
        rows = vault.conn.execute(
            "SELECT seq, at, actor, action, case_id, detail, leaf_hash, chain_hash"
            " FROM audit_log WHERE seq IN (4, 5) ORDER BY seq"
        ).fetchall()
        vault.conn.execute("DELETE FROM audit_log WHERE seq IN (4, 5)")
        for (_seq, *rest), (other_seq, *_) in zip(rows, reversed(rows), strict=True):
            vault.conn.execute(
                "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (other_seq, *rest)
            )
    vault.close()
    result = run_cli("audit", "verify", data=cli_site)
    assert result.returncode == 4
    assert "audit log damaged" in result.stderr


def test_whole_workflow_through_the_cli(cli_site: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("case", "add", "--json", "-", data=cli_site, stdin=json.dumps(CASE))
    ref = result.stdout.strip()
    codeword = result.stderr.split("codeword:")[1].split("(")[0].strip()

    def advance(to: str, fields: dict) -> object:  # type: ignore[type-arg]
        return run_cli(
            "case",
            "advance",
            ref,
            "--to",
            to,
            "--json",
            "-",
            data=cli_site,
            stdin=json.dumps(fields),
        )

    wrong = advance(
        "confirmed", {"codeword": "щось не те", "location": "Запоріжжя", "group_size": 2}
    )
    assert wrong.returncode == 4
    assert "does not match" in wrong.stderr
    assert (
        advance(
            "confirmed",
            {
                "codeword": codeword.upper(),
                "location": "Запоріжжя",
                "group_size": 2,
                "condition": "задовільний",
            },
        ).returncode
        == 0
    )
    bad_window = advance(
        "handoff_arranged",
        {
            "meeting_point": "Пункт А",
            "receiving_unit": "Група 1",
            "window_start": "2026-12-01T14:00+02:00",
            "window_end": "2026-12-01T12:00+02:00",
        },
    )
    assert bad_window.returncode == 4
    assert "window_end" in bad_window.stderr
    assert (
        advance(
            "handoff_arranged",
            {
                "meeting_point": "Пункт А",
                "receiving_unit": "Група 1",
                "window_start": "2026-12-01T14:00+02:00",
                "window_end": "2026-12-01T16:00+02:00",
            },
        ).returncode
        == 0
    )
    assert advance("handed_off", {"received_by": "капітан Мельник"}).returncode == 0
    assert advance("closed", {"outcome": "prisoner_exchange"}).returncode == 0
    shown = json.loads(run_cli("case", "show", ref, "--json", data=cli_site).stdout)
    assert shown["status"] == "closed"
    assert shown["outcome"] == "prisoner_exchange"
    assert [h["to"] for h in shown["history"]] == [
        "registered",
        "confirmed",
        "handoff_arranged",
        "handed_off",
        "closed",
    ]
    assert all("codeword" not in h["fields"] for h in shown["history"])


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (["backup", "--passphrase-file", "{passphrase}"], "haven.db"),
        (["site", "key-card"], "keyslots.json"),
    ],
)
def test_a_file_that_exists_is_not_written_over(  # type: ignore[no-untyped-def]
    cli_site: Path, run_cli, tmp_path: Path, command: list[str], target: str
) -> None:
    passphrase = tmp_path / "passphrase.txt"
    passphrase.write_text("a long backup passphrase\n")
    _add(run_cli, cli_site)
    vault_file = cli_site / target
    argv = [part.format(passphrase=passphrase) for part in command]
    result = run_cli(*argv, "-o", str(vault_file), data=cli_site)
    assert result.returncode == 4
    assert result.stderr == f"haven-admin: {vault_file} exists; choose a new file name\n"
    assert _case_count(cli_site) == 1  # the vault still opens, its case in it


@pytest.mark.parametrize(
    "command",
    [["user", "add", "olena", "--role", "operator"], ["user", "passwd", "admin"], ["init"]],
)
def test_a_new_password_without_a_terminal_names_its_flag(  # type: ignore[no-untyped-def]
    cli_site: Path, run_cli, tmp_path: Path, command: list[str]
) -> None:
    if command == ["init"]:
        result = run_cli("init", "--site-name", "X", "--admin", "admin",
                         data=tmp_path / "new", user=None, stdin="")
    else:
        result = run_cli(*command, data=cli_site, stdin="")
    assert (result.returncode, result.stderr) == (
        2, "haven-admin: no terminal to ask for a password: use --new-password-file\n"
    )
    assert not (tmp_path / "new").exists()
    users = json.loads(run_cli("user", "list", "--json", data=cli_site).stdout)
    assert [u["name"] for u in users] == ["admin"]


def _run_bytes(data: Path, password_file: Path, *args: str, stdin: bytes = b"",
               argv_tail: tuple[bytes, ...] = ()) -> subprocess.CompletedProcess[bytes]:
    """haven-admin with bytes on stdin and the command line, as a shell passes them on."""
    command = [os.fsencode(sys.executable), b"-m", b"desktop.cli", b"--data", os.fsencode(data),
               b"--user", b"admin", b"--password-file", os.fsencode(password_file),
               *(a.encode() for a in args), *argv_tail]
    return subprocess.run(command, input=stdin, capture_output=True, env=cli_env(), cwd=REPO,
                          timeout=120, check=False)


LONE_SURROGATE = (
    "invalid JSON: a string holds half of a character (a lone surrogate, such as \\ud800)"
)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"kind": "surrender", "channel": "phone", "persons": [{"full_name": "\\ud800"}]}',
         LONE_SURROGATE),
        (json.dumps({**CASE, "notes": "x"}).replace('"x"', '"\\udfff"'), LONE_SURROGATE),
    ],
)
def test_a_lone_surrogate_in_case_json_is_exit_4(  # type: ignore[no-untyped-def]
    cli_site: Path, run_cli, payload: str, message: str
) -> None:
    result = run_cli("case", "add", "--json", "-", data=cli_site, stdin=payload)
    assert (result.returncode, result.stderr) == (4, f"haven-admin: {message}\n")
    assert _case_count(cli_site) == 0


def test_bytes_that_are_not_utf8_are_refused_in_one_line(  # type: ignore[no-untyped-def]
    cli_site: Path, run_cli, tmp_path: Path
) -> None:
    piped = _run_bytes(cli_site, run_cli.password_file, "case", "add", "--json", "-",
                       stdin=b'{"kind": "surrender", "channel": "phone",'
                             b' "persons": [{"full_name": "A\xff"}]}')
    assert (piped.returncode, piped.stderr) == (
        4, b"haven-admin: cannot read standard input: it is not UTF-8 text\n")
    argv = _run_bytes(cli_site, run_cli.password_file, "case", "list", "--search",
                      argv_tail=(b"\xff",))
    assert (argv.returncode, argv.stderr) == (
        2, b"haven-admin: the command line holds bytes that are not UTF-8 text\n")
    password = tmp_path / "latin1.txt"
    password.write_bytes(PASSWORD.encode() + b"\xe9\n")
    result = run_cli("case", "list", data=cli_site, password_file_path=password)
    assert (result.returncode, result.stderr) == (
        2, "haven-admin: the password file is not UTF-8 text\n")
    assert _case_count(cli_site) == 0


@pytest.mark.parametrize(
    ("to", "fields", "message"),
    [
        ("confirmed", {"codeword": "x", "location": "y", "group_size": "²"},
         "'group_size' must be a whole number from 1 to 500"),
        ("confirmed", {"codeword": "x", "location": "y", "group_size": "9" * 5000},
         "'group_size' must be a whole number from 1 to 500"),
        ("withdrawn", {"reason": "\ud800"}, LONE_SURROGATE),
    ],
)
def test_bad_transition_fields_are_exit_4(  # type: ignore[no-untyped-def]
    cli_site: Path, run_cli, to: str, fields: dict, message: str  # type: ignore[type-arg]
) -> None:
    ref = _add(run_cli, cli_site)
    result = run_cli("case", "advance", ref, "--to", to, "--json", "-", data=cli_site,
                     stdin=json.dumps(fields))
    assert (result.returncode, result.stderr) == (4, f"haven-admin: {message}\n")
    shown = json.loads(run_cli("case", "show", ref, "--json", data=cli_site).stdout)
    assert shown["status"] == "registered"


@pytest.mark.parametrize(
    "window_start", ["0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00"]
)
def test_a_window_outside_what_utc_holds_is_exit_4(  # type: ignore[no-untyped-def]
    cli_site: Path, run_cli, window_start: str
) -> None:
    result = run_cli("case", "add", "--json", "-", data=cli_site, stdin=json.dumps(CASE))
    ref = result.stdout.strip()
    codeword = result.stderr.split("codeword:")[1].split("(")[0].strip()
    confirmed = run_cli("case", "advance", ref, "--to", "confirmed", "--json", "-",
                        data=cli_site, stdin=json.dumps(
                            {"codeword": codeword, "location": "Суми", "group_size": 1}))
    assert confirmed.returncode == 0, confirmed.stderr
    result = run_cli("case", "advance", ref, "--to", "handoff_arranged", "--json", "-",
                     data=cli_site, stdin=json.dumps({
                         "meeting_point": "Пункт А", "receiving_unit": "Група 1",
                         "window_start": window_start,
                         "window_end": "2026-12-01T16:00+02:00"}))
    assert (result.returncode, result.stderr) == (
        4, "haven-admin: 'window_start' must be a date and time such as"
        " 2026-12-01T14:00+02:00\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["case", "list", "--limit", "0"], "argument --limit: must be a whole number from 1 to"
         " 1000000"),
        (["case", "list", "--limit", "99999999999999999999"],
         "argument --limit: must be a whole number from 1 to 1000000"),
        (["init", "--site-name", "X", "--admin", "a", "--kdf-memory", "99999999"],
         "argument --kdf-memory: must be a whole number from 19 to 4096"),
        (["init", "--site-name", "X", "--admin", "a", "--kdf-passes", "999999999999"],
         "argument --kdf-passes: must be a whole number from 2 to 100"),
    ],
)
def test_numbers_out_of_range_on_the_command_line_are_exit_2(  # type: ignore[no-untyped-def]
    cli_site: Path, run_cli, tmp_path: Path, args: list[str], message: str
) -> None:
    data = tmp_path / "new" if args[0] == "init" else cli_site
    result = run_cli(*args, data=data)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"haven-admin: {message} (see: haven-admin {args[0]}")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "new").exists()


def test_an_unknown_reference_is_not_echoed(cli_site: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    ref = _add(run_cli, cli_site)
    shown = run_cli("case", "show", "Zzyzxqk Petrov", data=cli_site)
    assert (shown.returncode, shown.stderr) == (4, "haven-admin: no case with that reference\n")
    duplicate = run_cli("case", "advance", ref, "--to", "duplicate", "--json", "-",
                        data=cli_site, stdin=json.dumps({"duplicate_of": "Zzyzxqk Petrov"}))
    assert (duplicate.returncode, duplicate.stderr) == (
        4, "haven-admin: no case with that reference\n")


def _with_stdout_closed(run_cli, *args: str, data: Path, stdin: str | None = None):  # type: ignore[no-untyped-def]
    """haven-admin run as `haven-admin ARGS >&-` would be."""
    command = [sys.executable, "-m", "desktop.cli", "--data", str(data), "--user", "admin",
               "--password-file", str(run_cli.password_file), *args]
    return subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", *command], input=stdin,
                          stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=REPO,
                          timeout=120, check=False)


def test_a_closed_stdout_stops_the_command_before_it_does_anything(
    cli_site: Path, run_cli, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    added = _with_stdout_closed(run_cli, "case", "add", "--json", "-", data=cli_site,
                                stdin=json.dumps(CASE))
    assert added.returncode == 2
    assert added.stderr == "haven-admin: standard output is closed; nothing was done\n"
    assert _case_count(cli_site) == 0  # its reference would have been printed nowhere

    # init would show the recovery key once, to nobody.
    made = _with_stdout_closed(run_cli, "init", "--site-name", "X", "--admin", "admin",
                               "--new-password-file", str(run_cli.password_file),
                               data=tmp_path / "other")
    assert made.returncode == 2
    assert "standard output is closed" in made.stderr
    assert not (tmp_path / "other").exists()


def test_init_whose_recovery_key_cannot_be_written_creates_no_site(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    command = [sys.executable, "-m", "desktop.cli", "--data", str(target), "init",
               "--site-name", "X", "--admin", "admin", "--new-password-file",
               str(run_cli.password_file), "--kdf-memory", "19", "--kdf-passes", "2"]
    with open("/dev/full", "w") as full:  # a full medium the output was sent to
        made = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True,
                              env=cli_env(), cwd=REPO, timeout=120, check=False)
    assert made.returncode == 1
    assert made.stderr == (
        "haven-admin: the recovery key could not be written to standard output (No space left"
        " on device); the site was not created: run init again with an output that takes it\n")
    assert not target.exists()  # so init can run again


def test_ctrl_d_at_a_password_prompt_is_a_usage_error_in_one_line(cli_site: Path) -> None:
    """At a terminal, Ctrl+D instead of a password: said so, exit 2 (it was a traceback's
    'unexpected failure (EOFError)', exit 1)."""
    code, output = run_at_terminal(
        [sys.executable, "-m", "desktop.cli", "--data", str(cli_site), "--user", "admin",
         "user", "list"], answering({b"Password for admin: ": b"\x04"}),  # Ctrl+D
        env=cli_env(), timeout=60)
    text = output.decode(errors="replace")
    assert code == 2, text
    assert "haven-admin: nothing was typed: the input ended (Ctrl+D)" in text
    assert "EOFError" not in text


def test_user_disable_asks_at_a_terminal_and_a_no_changes_nothing(
    cli_site: Path, run_cli
) -> None:  # type: ignore[no-untyped-def]
    added = run_cli("user", "add", "olena", "--role", "operator", "--new-password-file",
                    str(run_cli.password_file), data=cli_site)
    assert added.returncode == 0, added.stderr

    def replies(reply: bytes) -> dict[bytes, bytes]:
        return {b"Password for admin: ": PASSWORD.encode() + b"\n",
                b"Disable 'olena'? [y/N] ": reply}

    command = [sys.executable, "-m", "desktop.cli", "--data", str(cli_site), "--user", "admin",
               "user", "disable", "olena"]
    code, output = run_at_terminal(command, answering(replies(b"\n")), env=cli_env(),
                                   timeout=60)
    assert code == 1, output
    assert b"cannot be undone" in output
    assert b"not confirmed; nothing was changed" in output
    assert _disabled(run_cli, cli_site) == {"admin": False, "olena": False}
    code, output = run_at_terminal(command, answering(replies(b"y\n")), env=cli_env(),
                                   timeout=120)
    assert code == 0, output
    assert b"User 'olena' disabled" in output
    assert _disabled(run_cli, cli_site) == {"admin": False, "olena": True}


def _disabled(run_cli, data: Path) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    listed = run_cli("user", "list", "--json", data=data)
    return {user["name"]: user["disabled"] for user in json.loads(listed.stdout)}


def test_case_show_tells_what_became_of_the_case(cli_site: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    """sheet verify sends the reader to case show for a withdrawn or closed case."""
    first, second = _add(run_cli, cli_site), _add(run_cli, cli_site)
    withdrawn = run_cli("case", "advance", first, "--to", "withdrawn", "--json", "-",
                        data=cli_site, stdin='{"reason": "абонент відмовився"}')
    assert withdrawn.returncode == 0, withdrawn.stderr
    shown = run_cli("case", "show", first, data=cli_site).stdout.splitlines()
    assert "  reason: абонент відмовився" in shown
    assert shown[-2].endswith(" registered by admin")
    assert shown[-1].endswith(" withdrawn by admin (reason: абонент відмовився)")
    marked = run_cli("case", "advance", second, "--to", "duplicate", "--json", "-",
                     data=cli_site, stdin=json.dumps({"duplicate_of": first}))
    assert marked.returncode == 4  # a withdrawn case takes no duplicate


def test_case_show_gives_a_steps_window_as_its_window_line_does(  # type: ignore[no-untyped-def]
    cli_site: Path, run_cli
) -> None:
    """Start before end, in this workstation's time: not the stored UTC text, end first;
    and every step's fields as its form asks for them, as the desk's history shows them."""
    result = run_cli("case", "add", "--json", "-", data=cli_site, stdin=json.dumps(CASE))
    ref = result.stdout.strip()
    codeword = result.stderr.split("codeword:")[1].split("(")[0].strip()
    assert run_cli("case", "advance", ref, "--to", "confirmed", "--json", "-", data=cli_site,
                   stdin=json.dumps({"codeword": codeword, "notes": "дзвонив сам",
                                     "condition": "втомлений", "location": "Суми",
                                     "group_size": 1})).returncode == 0
    start, end = "2026-12-01T14:00+02:00", "2026-12-01T16:30+02:00"
    assert run_cli("case", "advance", ref, "--to", "handoff_arranged", "--json", "-",
                   data=cli_site, stdin=json.dumps({
                       "meeting_point": "Пункт А", "receiving_unit": "Група 1",
                       "window_start": start, "window_end": end})).returncode == 0

    shown = run_cli("case", "show", ref, data=cli_site).stdout.splitlines()
    local = [f"{datetime.fromisoformat(moment).astimezone():%Y-%m-%d %H:%M}"
             for moment in (start, end)]
    assert shown[-2].endswith(" confirmed by admin (location: Суми; group_size: 1;"
                              " condition: втомлений; notes: дзвонив сам)")
    assert shown[-1].endswith(
        " handoff_arranged by admin (meeting_point: Пункт А; receiving_unit: Група 1;"
        f" window_start: {local[0]}; window_end: {local[1]})")


def test_case_add_at_a_terminal_says_what_it_waits_for(cli_site: Path) -> None:
    typed = json.dumps(CASE, ensure_ascii=False).encode() + b"\n\x04"
    code, output = run_at_terminal(
        [sys.executable, "-m", "desktop.cli", "--data", str(cli_site), "--user", "admin",
         "case", "add"],
        answering({b"Password for admin: ": PASSWORD.encode() + b"\n",
                   b"on a line of its own:\r\n": typed}),
        env=cli_env(), timeout=60)
    text = output.decode(errors="replace")
    assert code == 0, text
    assert "Type or paste the case as JSON (its fields are in the README)" in text
    assert "codeword:" in text
