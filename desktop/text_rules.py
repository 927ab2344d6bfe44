"""Which characters a name or a note may hold: none that is not shown as itself.

A control character in a name reaches whoever prints it (an escape sequence in a
terminal), and a zero-width space or a direction override makes one name look like
another. Such characters usually come with pasted text; they are refused where text
enters Haven, with a message that says so.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from importlib import resources

# Controls, format characters (zero-width, direction overrides), surrogates, private
# use, unassigned code points, and line or paragraph separators other than the newline.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
HIDDEN_CHARACTERS = "holds a control or invisible character"
# For text the handoff sheet prints (names, ranks, features): a character its fonts lack.
UNPRINTABLE = "holds a character the handoff sheet cannot print"


def holds_hidden_characters(text: str, *, lines: bool = False) -> bool:
    """Whether ``text`` holds such a character; ``lines`` allows line breaks and tabs."""
    if text.isprintable():  # the usual case, checked in C
        return False
    allowed = "\n\t" if lines else ""
    return any(unicodedata.category(ch) in _HIDDEN and ch not in allowed for ch in text)


def printable(text: str) -> bool:
    """Whether the handoff sheet's font has a glyph for every character of ``text`` (line
    breaks aside): else the paper would show empty boxes where a name should be."""
    return _uncovered().search(text) is None


@functools.cache
def _uncovered() -> re.Pattern[str]:
    """A character the font lacks, as one character class: an import checks every printed
    field of a payload with it, so it runs in re's C loop, not a Python loop per character."""
    listing = resources.files("resources").joinpath("fonts", "sheet-coverage.txt").read_text()
    ranges = [line.split("-") for line in listing.splitlines() if not line.startswith("#")]
    covered = "".join(f"\\U{int(first, 16):08x}-\\U{int(last, 16):08x}" for first, last in ranges)
    return re.compile(f"[^\\n\\t{covered}]")


def visible(text: str) -> str:
    """``text`` for a terminal: each such character, but line breaks and tabs, as U+FFFD.

    For what came from elsewhere: another site's file, or a vault older than these rules.
    """
    if text.isprintable():
        return text
    return "".join(
        "\ufffd" if unicodedata.category(ch) in _HIDDEN and ch not in "\n\t" else ch
        for ch in text
    )


_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")


def field_names(names: Iterable[str]) -> str:
    """Unknown fields for an error message: those that look like field names, by name; the
    others only counted, since a key that is no field name may be personal data."""
    shown = sorted(name for name in names if _FIELD_NAME.fullmatch(name))
    others = sum(1 for name in names if not _FIELD_NAME.fullmatch(name))
    if others:
        what = "is not a field name" if others == 1 else "are not field names"
        shown.append(f"{others} {'more ' if shown else ''}that {what}")
    return ", ".join(shown)
