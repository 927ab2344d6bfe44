"""Demo data: synthetic cases that show the desk as it is used."""

from __future__ import annotations

import pytest

from db.records import Status
from db.vault import now_utc
from desktop import demo, workflow
from tests.conftest import Site


@pytest.mark.parametrize("seed", [1, 7])
def test_as_few_cases_as_there_are_statuses_show_every_status(site: Site, seed: int) -> None:
    demo.make_demo_cases(site.session, len(Status), seed=seed)
    counts = site.session.count_cases(list(Status))
    assert counts == len(Status)
    for status in Status:
        assert site.session.count_cases([status]) == 1, status
    assert site.session.verify_audit().ok


def test_every_status_change_records_what_its_move_requires(site: Site) -> None:
    """As the desk records a move (a peer refuses one without its fields): handed off says
    who received them, a duplicate names the case it duplicates."""
    demo.make_demo_cases(site.session, 3 * len(Status), seed=3)
    moves = {(source, t.target): t for t in workflow.TRANSITIONS for source in t.source}
    seen = set()
    for case in list(site.session.cases_full()):
        for change in site.session.status_history(case.id)[1:]:
            assert change.from_status is not None
            move = moves[(change.from_status, change.to_status)]
            assert set(move.required) - {"codeword"} <= set(change.fields), change
            seen.add(change.to_status)
    assert seen == set(Status) - {Status.REGISTERED}


def test_nothing_in_the_demo_happened_in_the_future(site: Site) -> None:
    demo.make_demo_cases(site.session, 60, seed=1)
    now = now_utc()
    for case in site.session.cases_full():
        history = site.session.status_history(case.id)
        contacts = site.session.contacts(case.id)
        assert all(change.at <= now for change in history), case.ref
        assert all(contact.at <= now for contact in contacts), case.ref
