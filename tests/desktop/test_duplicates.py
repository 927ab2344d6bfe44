"""Marking a case a duplicate names the case it duplicates: never itself, never a duplicate."""

from __future__ import annotations

import pytest

from db.records import CaseKind, Channel, Mobilization, NewCase, Person, Status
from desktop import workflow
from tests.conftest import Site


def register(site: Site, name: str) -> str:
    return str(site.session.register_case(NewCase(
        kind=CaseKind.SURRENDER, channel=Channel.PHONE,
        persons=(Person(full_name=name, mobilization=Mobilization.UNKNOWN),),
    )).case_id)


def mark_duplicate(site: Site, case_id: str, original: str) -> None:
    site.session.advance(case_id, Status.DUPLICATE, {"duplicate_of": original})


def test_two_cases_cannot_name_each_other(site: Site) -> None:
    first, second, third = (register(site, f"Петренко {n}") for n in range(3))
    first_ref = site.session.get_case(first, audit_view=False).ref
    second_ref = site.session.get_case(second, audit_view=False).ref
    mark_duplicate(site, second, first_ref)
    with pytest.raises(workflow.TransitionRejected, match=f"case {second_ref} is itself"
                       f" marked a duplicate; name {first_ref} instead"):
        mark_duplicate(site, first, second_ref)
    assert site.session.get_case(first, audit_view=False).status == Status.REGISTERED
    # A third call from the same person is a duplicate of the first case, as asked.
    mark_duplicate(site, third, first_ref)
    assert site.session.get_case(third, audit_view=False).duplicate_of == first


def test_a_case_cannot_be_a_duplicate_of_itself(site: Site) -> None:
    case_id = register(site, "Петренко")
    ref = site.session.get_case(case_id, audit_view=False).ref
    with pytest.raises(workflow.TransitionRejected, match="duplicate of itself"):
        mark_duplicate(site, case_id, ref)

