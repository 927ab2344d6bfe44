"""A refused duplicate mark tells the operator, in the desk's language, which case to name."""

from __future__ import annotations

import pytest

from desktop import workflow
from tests.conftest import Site
from tests.desktop.test_duplicates import mark_duplicate, register
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
