"""A refused duplicate mark tells the operator, in the desk's language, which case to name."""

from __future__ import annotations

import pytest

from db.records import Status
from desktop import workflow
from tests.conftest import Site
from tests.desktop.test_duplicates import mark_duplicate, register
from tests.ui.conftest import WAIT_MS
from ui.language import apply_language
from ui.messages import explain


def test_the_desk_says_which_case_to_name_instead(site: Site) -> None:
    first, second, third = (register(site, f"Петренко {n}") for n in range(3))
    refs = [site.session.get_case(c, audit_view=False).ref for c in (first, second)]
    mark_duplicate(site, second, refs[0])
    with pytest.raises(workflow.TransitionRejected) as refused:
        mark_duplicate(site, third, refs[1])
    apply_language("uk")  # the autouse fixture restores English
    problem = explain(refused.value)
    assert problem.field == "duplicate_of"
    assert problem.text == f"{refs[1]} сама є дублікатом {refs[0]}; вкажіть натомість {refs[0]}."


def test_a_withdrawn_case_takes_no_new_request_as_its_duplicate(site: Site) -> None:
    """Both cases would leave the open queue: the caller's new request with them."""
    old, new = register(site, "Петренко 1"), register(site, "Петренко 2")
    site.session.advance(old, Status.WITHDRAWN, {"reason": "абонент відмовився"})
    ref = site.session.get_case(old, audit_view=False).ref
    with pytest.raises(workflow.TransitionRejected) as refused:
        mark_duplicate(site, new, ref)
    assert site.session.get_case(new, audit_view=False).status == Status.REGISTERED
    apply_language("uk")
    problem = explain(refused.value)
    assert problem.field == "duplicate_of"
    assert problem.text == (
        f"Справу {ref} відкликано: нове звернення не є її дублікатом. Залиште цю справу"
        " відкритою.")


def test_a_duplicate_names_its_original_by_reference(  # type: ignore[no-untyped-def]
    site: Site, desk, runner, qtbot
) -> None:
    first, second = register(site, "Петренко 1"), register(site, "Петренко 2")
    ref = site.session.get_case(first, audit_view=False).ref
    mark_duplicate(site, second, ref)
    view = desk.open_case(second)
    assert view is not None
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    assert view.detail_labels["duplicate_of"].text() == ref  # not the case's internal id
    history = view.history_list.item(view.history_list.count() - 1).text()
    assert ref in history
    assert first not in history


def test_a_duplicate_step_reads_as_its_form_asks_case_first_then_the_reason(  # type: ignore[no-untyped-def]
    site: Site, desk, runner, qtbot
) -> None:
    first, second = register(site, "Петренко 1"), register(site, "Петренко 2")
    ref = site.session.get_case(first, audit_view=False).ref
    site.session.advance(second, Status.DUPLICATE,
                         {"duplicate_of": ref, "reason": "той самий абонент"})
    view = desk.open_case(second)
    assert view is not None
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    history = view.history_list.item(view.history_list.count() - 1).text()
    # As 'case show' gives it, and as the Mark duplicate form asks: the case, then why.
    assert history.endswith(f"\nDuplicate of (reference): {ref}; Reason: той самий абонент")
