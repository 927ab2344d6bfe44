"""The hybrid logical clock: stamps only go up, whatever the wall clock does."""

from __future__ import annotations

import pytest

from db import hlc

SITE = "a" * 32


def test_stamps_follow_the_wall_clock_when_it_is_ahead() -> None:
    assert hlc.next_stamp(None, SITE, now_ms=1_700_000_000_000) == f"1700000000000:0000:{SITE}"
    latest = f"1700000000000:0005:{'b' * 32}"
    assert hlc.next_stamp(latest, SITE, now_ms=1_700_000_000_001) == f"1700000000001:0000:{SITE}"


def test_stamps_keep_rising_when_the_wall_clock_steps_back() -> None:
    latest = f"1700000000500:0007:{'b' * 32}"
    stamp = hlc.next_stamp(latest, SITE, now_ms=1_600_000_000_000)
    assert stamp == f"1700000000500:0008:{SITE}"
    assert stamp > latest


def test_a_full_counter_moves_to_the_next_millisecond() -> None:
    latest = f"1700000000500:9999:{SITE}"
    assert hlc.next_stamp(latest, SITE, now_ms=0) == f"1700000000501:0000:{SITE}"


def test_text_order_is_stamp_order() -> None:
    stamps = [f"{ms:013d}:{counter:04d}:{site * 32}"
              for ms in (1, 10, 200) for counter in (0, 9, 10) for site in "0af"]
    assert sorted(stamps) == sorted(stamps, key=hlc.parse)


@pytest.mark.parametrize("text", ["", "1:2:3", "170000000000:0000:" + SITE, "x" * 50, 5])
def test_bad_stamps_are_refused(text: object) -> None:
    with pytest.raises(hlc.BadStamp):
        hlc.parse(text)  # type: ignore[arg-type]
    assert not hlc.is_stamp(text)
