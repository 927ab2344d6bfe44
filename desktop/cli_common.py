"""What every haven-admin command module shares: usage errors, output, and secret files."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import sys
from collections.abc import Iterator
from typing import Any

from desktop.errors import HavenError
from desktop.text_rules import visible

PROG = "haven-admin"


class UsageError(HavenError):
    """A command line that cannot be carried out as given."""

    exit_code = 2


def output_file(text: str) -> str:
    """An -o argument: a file to write. '-' is no file here (nothing is written to stdout,
    where it would pass through a terminal or a pipe unencrypted or mixed with messages)."""
    if text.strip() in ("", "-"):
        raise argparse.ArgumentTypeError("name a file to write (- is no file here)")
    return text


def confirmed(question: str) -> bool:
    """Ask a yes/no question at the terminal; anything but y or yes (or the end of input)
    is no."""
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def go_on(args: argparse.Namespace, what_it_does: str, question: str) -> bool:
    """Whether to carry out a step that cannot be undone: with --yes, or without a terminal
    (a script) at once; at a terminal once the person answers yes, having read what it does."""
    if args.yes or not sys.stdin.isatty():
        return True
    out(what_it_does)
    if confirmed(question):
        return True
    warn("not confirmed; nothing was changed")
    return False


def ask_hidden(prompt: str) -> str:
    """What is typed at the terminal, not echoed; Ctrl+D (the end of input) gives nothing."""
    try:
        return getpass.getpass(prompt)
    except EOFError:
        sys.stderr.write("\n")
        raise UsageError("nothing was typed: the input ended (Ctrl+D)") from None


def out(text: str = "") -> None:
    sys.stdout.write(visible(text) + "\n")


def warn(text: str) -> None:
    sys.stderr.write(f"{PROG}: {visible(text)}\n")


def dump(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def data_folder(text: str) -> str:
    """An argparse type for --data: empty would quietly mean the default folder instead."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the data folder cannot be empty")
    return text


def read_first_line(source: str, what: str) -> str:
    """The first line of a file ('-' = stdin): how passwords and passphrases are passed."""
    try:
        if source == "-":
            raw = sys.stdin.buffer.readline()
        else:
            with open(source, "rb") as handle:
                raw = handle.readline()
    except OSError as exc:
        raise UsageError(f"cannot read the {what} file: {exc.strerror}") from None
    try:
        # A file saved by Notepad starts with a byte order mark that is not the password's.
        line = raw.decode("utf-8").removeprefix("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError:
        raise UsageError(f"the {what} file is not UTF-8 text") from None
    if not line:
        raise UsageError(f"the {what} file is empty")
    return line


class TerminalProgress:
    """How far a long command is, as a percentage rewritten in place on stderr."""

    def __init__(self, doing: str) -> None:
        self._doing = doing
        self._shown = ""

    def __call__(self, done: int, total: int) -> None:
        text = f"{self._doing}… {100 * done // total if total > 0 else 100}%"
        if text != self._shown:
            sys.stderr.write("\r" + text)
            sys.stderr.flush()
            self._shown = text

    def close(self) -> None:
        """Clear the line, so what follows starts at its beginning."""
        if self._shown:
            sys.stderr.write("\r" + " " * len(self._shown) + "\r")
            sys.stderr.flush()


@contextlib.contextmanager
def progress_line(doing: str) -> Iterator[TerminalProgress | None]:
    """A progress line on stderr when it is a terminal; None for scripts and logs."""
    if not sys.stderr.isatty():
        yield None
        return
    progress = TerminalProgress(doing)
    try:
        yield progress
    finally:
        progress.close()
