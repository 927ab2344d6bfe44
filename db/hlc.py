"""A hybrid logical clock (Kulkarni et al., 2014) for stamping changes.

A stamp is ``"<ms:13 digits>:<counter:4 digits>:<site id>"``: wall-clock milliseconds,
a counter that orders stamps within one millisecond, and the site that made it. Text
order is stamp order, so SQL can sort and compare stamps as strings. Each new stamp is
greater than every stamp the site has issued or received, even when its wall clock
steps back; that is what lets "the newest edit wins" mean the same at every site.

The clock keeps no state of its own: every stamp a site issued or received is stored
with its case's ops, so the largest stored stamp is exactly where the clock stands (see
db.oplog, which reads it from an index).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

MAX_COUNTER = 9999
_STAMP = re.compile(r"(\d{13}):(\d{4}):([0-9a-z][0-9a-z_-]{0,63})")


class BadStamp(ValueError):
    """Text that is not a clock stamp."""


@dataclass(frozen=True, slots=True, order=True)
class Stamp:
    """One parsed stamp; orders like its text."""

    ms: int
    counter: int
    site: str

    def __str__(self) -> str:
        return f"{self.ms:013d}:{self.counter:04d}:{self.site}"


def parse(text: str) -> Stamp:
    """Parse a stamp, or raise BadStamp."""
    match = _STAMP.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise BadStamp("not a clock stamp")
    return Stamp(int(match.group(1)), int(match.group(2)), match.group(3))


def is_stamp(text: object) -> bool:
    """Whether a value is a well-formed clock stamp."""
    return isinstance(text, str) and _STAMP.fullmatch(text) is not None


def wall_ms() -> int:
    """The wall clock in milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def next_stamp(latest: str | None, site: str, now_ms: int | None = None) -> str:
    """The stamp for a new local event, given the largest stamp seen so far."""
    wall = wall_ms() if now_ms is None else now_ms
    if latest is None:
        return str(Stamp(wall, 0, site))
    last_ms, counter = int(latest[:13]), int(latest[14:18])
    if wall > last_ms:
        return str(Stamp(wall, 0, site))
    if counter >= MAX_COUNTER:
        return str(Stamp(last_ms + 1, 0, site))
    return str(Stamp(last_ms, counter + 1, site))
