"""Which characters a name or a note may hold: none that is not shown as itself.

A control character in a name reaches whoever prints it (an escape sequence in a
terminal), and a zero-width space or a direction override makes one name look like
another. Such characters usually come with pasted text; they are refused where text
enters Haven, with a message that says so.
"""

from __future__ import annotations

import unicodedata

# Controls, format characters (zero-width, direction overrides), surrogates, private
# use, unassigned code points, and line or paragraph separators other than the newline.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
HIDDEN_CHARACTERS = "holds a control or invisible character"


def holds_hidden_characters(text: str, *, lines: bool = False) -> bool:
    """Whether ``text`` holds such a character; ``lines`` allows line breaks and tabs."""
    if text.isprintable():  # the usual case, checked in C
        return False
    allowed = "\n\t" if lines else ""
    return any(unicodedata.category(ch) in _HIDDEN and ch not in allowed for ch in text)


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
