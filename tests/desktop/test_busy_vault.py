"""A change made while another Haven holds the vault's write lock waits, then says so plainly."""

from __future__ import annotations

import pytest

from db.records import CaseKind, Channel, NewCase, Person
from db.vault import VaultBusy
from desktop.session import Session
from tests.conftest import PASSWORD, Site

NEW = NewCase(kind=CaseKind.SURRENDER, channel=Channel.PHONE,
              persons=(Person(full_name="Петренко Іван"),))


def test_a_change_while_another_haven_saves_is_refused_then_made(site: Site) -> None:
    other = Session.open(site.data, "admin", PASSWORD)
    try:
        other.vault.conn.execute("PRAGMA busy_timeout = 50")  # a change waits 5 s by default
        before = other.count_cases()
        with site.session.vault.transaction(), pytest.raises(
            VaultBusy, match="another Haven on this computer is saving"
        ):
            other.register_case(NEW)
        assert other.count_cases() == before
        other.register_case(NEW)
        assert other.count_cases() == before + 1
    finally:
        other.close()
