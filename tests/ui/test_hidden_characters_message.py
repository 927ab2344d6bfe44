"""A refused hidden character is explained at its field, in the interface language."""

from __future__ import annotations

import pytest

from desktop import case_json
from ui.language import apply_language
from ui.messages import explain


def test_the_field_with_a_pasted_zero_width_space_says_what_to_do() -> None:
    with pytest.raises(case_json.CaseInputError) as refused:
        case_json.parse_new_case({"kind": "surrender", "channel": "phone",
                                  "persons": [{"full_name": "Пет\u200bренко"}]})
    apply_language("uk")  # the autouse fixture restores English
    problem = explain(refused.value)
    assert problem.field == "persons[0].full_name"
    assert problem.text == ("Приберіть керівний або невидимий символ (він міг потрапити разом"
                            " зі вставленим текстом).")
