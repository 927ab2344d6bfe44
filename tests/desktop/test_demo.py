"""Demo data: synthetic cases that show the desk as it is used."""

from __future__ import annotations

import pytest

from db.records import Status
from desktop import demo
from tests.conftest import Site


@pytest.mark.parametrize("seed", [1, 7])
def test_as_few_cases_as_there_are_statuses_show_every_status(site: Site, seed: int) -> None:
    demo.make_demo_cases(site.session, len(Status), seed=seed)
    counts = site.session.count_cases(list(Status))
    assert counts == len(Status)
    for status in Status:
        assert site.session.count_cases([status]) == 1, status
    assert site.session.verify_audit().ok
