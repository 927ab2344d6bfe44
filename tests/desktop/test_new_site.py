"""A new site's first week at the command line: what each step tells the IT officer next."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop import cli
from tests.conftest import PASSWORD, REPO, Site, answering, cli_env, run_at_terminal


def _haven_admin(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", *args],
        capture_output=True, text=True, env=env, timeout=120, check=False, cwd=REPO,
    )


def test_a_forgotten_data_folder_is_not_answered_with_init(tmp_path: Path) -> None:
    """The site lives in its own folder; a command run without --data must send the IT
    officer back to that folder, not on to create a second site in the default one."""
    password_file = tmp_path / "password.txt"
    password_file.write_text(PASSWORD + "\n")
    site = tmp_path / "north"
    env = cli_env(XDG_DATA_HOME=str(tmp_path / "default"), HOME=str(tmp_path / "home"))
    made = _haven_admin("--data", str(site), "init", "--site-name", "North", "--admin", "anna",
                        "--new-password-file", str(password_file), "--kdf-memory", "19",
                        "--kdf-passes", "2", env=env)
    assert made.returncode == 0, made.stderr

    forgot = _haven_admin("--user", "anna", "--password-file", str(password_file),
                          "user", "list", env=env)

    assert forgot.returncode == 2
    assert forgot.stderr.count("\n") == 1
    assert "give the site's data folder with --data (or HAVEN_DATA)" in forgot.stderr
    assert "run 'haven-admin init' first" not in forgot.stderr


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
              ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                yield (*path, name), command
                yield from _commands(command, (*path, name))


def test_every_commands_help_says_what_it_does() -> None:
    """At 4 a.m. 'haven-admin user add --help' is the manual: each command's help opens
    with what it does, and the options an IT officer has to choose say what they take."""
    parser = cli.build_parser()
    for path, command in _commands(parser):
        after_usage = command.format_help().partition("\n\n")[2]
        described = after_usage.split("\n\n")[0].strip()
        assert described, path
        assert not described.startswith(("options:", "positional")), path

    top = parser.format_help()
    assert "A new site: init, then 'user add' for each person" in top
    assert "Exit codes: 0 done; 1 unexpected failure; 2 usage error; 3" in top
    helps = dict(_commands(parser))
    assert "prints its recovery key, once" in helps["init",].format_help()
    role = " ".join(helps["user", "add"].format_help().split())
    assert "it: accounts, peers, transfer files and backups, no cases" in role
    advance = " ".join(helps["case", "advance"].format_help().split())
    assert "handoff_arranged, handed_off, closed, withdrawn, duplicate" in advance
    backup = " ".join(helps["backup",].format_help().split())
    assert "else it is asked twice" in backup


def test_an_empty_peer_list_says_how_to_add_the_first_peer(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password_file = tmp_path / "password.txt"
    password_file.write_text(PASSWORD + "\n")
    login = ["--data", str(site.data), "--user", "admin", "--password-file", str(password_file)]
    site.session.close()

    assert cli.main([*login, "peer", "list"]) == 0
    said = capsys.readouterr()
    # On stderr: a script reading the rows (name first) would take 'No' for a peer.
    assert said.out == ""
    assert said.err.startswith("No peers yet. Exchange key cards with the other site's IT"
                               " officer")
    assert "peer add NAME --card QR_TEXT --fingerprint FP" in said.err
    assert cli.main([*login, "peer", "list", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"  # scripts read the list, nothing else


def test_init_ends_with_the_next_command_which_works_as_printed(tmp_path: Path) -> None:
    password_file = tmp_path / "password.txt"
    password_file.write_text(PASSWORD + "\n")
    site = tmp_path / "site north"  # a folder name the shell would split
    made = _haven_admin("--data", str(site), "init", "--site-name", "North", "--admin", "anna",
                        "--new-password-file", str(password_file), "--kdf-memory", "19",
                        "--kdf-passes", "2", env=cli_env())
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[-2:][0].startswith("Recovery key")  # the key stays last
    last = made.stderr.splitlines()[-1]
    assert last.startswith("Next, an account for each person (ROLE: operator, manager, it or"
                           " admin): haven-admin --data ")

    line = last.partition("admin): ")[2]
    # Pasted into a shell as printed, it runs haven-admin alone: no pipe to other commands.
    words = list(shlex.shlex(line, posix=True, punctuation_chars=True))
    assert not set(words) & {"|", "||", "&", "&&", ";", "(", ")", "<", ">"}, words
    printed = shlex.split(line)
    assert printed[0] == "haven-admin"
    command = [sys.executable, "-m", "desktop.cli", *printed[1:]]
    command[command.index("NAME")] = "oleh"
    command[command.index("ROLE")] = "operator"
    code, output = run_at_terminal(command, answering({
        b"Password for anna: ": PASSWORD.encode() + b"\n",
        b"New password for oleh: ": b"oleh's long password\n",
        b"Repeat it: ": b"oleh's long password\n",
    }), env=cli_env(), timeout=120)
    assert code == 0, output
    assert b"User 'oleh' added with role operator." in output
