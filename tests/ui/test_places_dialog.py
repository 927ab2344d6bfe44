"""The site's lists of meeting points and receiving units, as a manager first fills them."""

from __future__ import annotations

import pytest

from db.records import CaseKind, Channel, NewCase, Person, Status
from desktop.errors import InputRejected
from tests.conftest import Site
from tests.ui.conftest import WAIT_MS, type_text
from ui.places import PlacesDialog
from ui.tasks import TaskRunner


def test_the_dialog_says_that_a_list_narrows_the_arrange_step_to_it(
    site: Site, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    dialog = PlacesDialog(site.session, runner)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.meeting_edit.isEnabled() and runner.idle(), timeout=WAIT_MS)
    assert dialog.hint.isVisible()
    assert dialog.hint.text() == (
        "Operators arrange a handoff with these names. While a list is empty they type any"
        " place; once it has names, only a listed one can be chosen.")

    type_text(dialog.meeting_edit, "КПП-3")
    type_text(dialog.units_edit, "в/ч А1234")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        dialog.save()
    # What the hint says: a place not on the list is refused from now on.
    result = site.session.register_case(NewCase(CaseKind.SURRENDER, Channel.PHONE,
                                                (Person(full_name="Мельник Остап"),)))
    site.session.advance(result.case_id, Status.CONFIRMED,
                         {"codeword": result.codeword, "location": "Суми", "group_size": 1})
    with pytest.raises(InputRejected, match="not on the site's list"):
        site.session.advance(result.case_id, Status.HANDOFF_ARRANGED, {
            "meeting_point": "Школа №3", "receiving_unit": "в/ч А1234",
            "window_start": "2026-12-01T14:00+02:00", "window_end": "2026-12-01T16:00+02:00"})
