"""An arranged meeting whose window has ended stands out in the case view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db.records import CaseKind, Channel, NewCase, Person, Status
from tests.conftest import Site
from tests.ui.conftest import WAIT_MS
from ui.main_window import MainWindow
from ui.tasks import TaskRunner

LATE = "passed: arrange the handoff again"


def _arranged(site: Site, ends: datetime) -> str:
    session = site.session
    result = session.register_case(NewCase(
        CaseKind.SURRENDER, Channel.PHONE, (Person(full_name="Мельник Тарас"),)))
    session.advance(result.case_id, Status.CONFIRMED,
                    {"codeword": result.codeword, "location": "Суми", "group_size": 1})
    session.advance(result.case_id, Status.HANDOFF_ARRANGED,
                    {"meeting_point": "Point A", "receiving_unit": "Unit 1",
                     "window_start": ends - timedelta(hours=2), "window_end": ends})
    return result.case_id


def _end_text(qtbot, desk: MainWindow, runner: TaskRunner, case_id: str) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    view = desk.open_case(case_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    label = view.detail_labels["window_end"]
    return label.text(), label.property("role")


def test_a_window_that_ended_without_a_handoff_says_so(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    ahead = _arranged(site, datetime.now(UTC) + timedelta(hours=3))
    text, role = _end_text(qtbot, desk, runner, ahead)
    assert LATE not in text
    assert role is None

    # Arranged from the command line with an hour that had already gone by.
    late = _arranged(site, datetime.now(UTC) - timedelta(minutes=5))
    text, role = _end_text(qtbot, desk, runner, late)
    assert text.endswith(f" — {LATE}")
    assert role == "warning"

    site.session.advance(late, Status.HANDED_OFF, {"received_by": "Lt. Bondar"})
    view = desk.open_case(late)
    assert view is not None
    view.load()
    qtbot.waitUntil(lambda: view.case is not None and view.case.status == Status.HANDED_OFF
                    and runner.idle(), timeout=WAIT_MS)
    assert LATE not in view.detail_labels["window_end"].text()
