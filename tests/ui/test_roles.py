"""Roles shape the window: steps a role may not take are not offered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db.records import CaseKind, Channel, NewCase, Person, Role, Status
from desktop.session import Session
from tests.conftest import FAST_KDF, Site
from tests.ui.conftest import WAIT_MS
from ui.main_window import MainWindow
from ui.settings import UiSettings
from ui.tasks import TaskRunner

PASSWORD = "another long password"


def _handed_off_case(session: Session) -> str:
    result = session.register_case(
        NewCase(CaseKind.SURRENDER, Channel.PHONE, (Person(full_name="Кравченко Ігор"),))
    )
    start = datetime.now(UTC) + timedelta(hours=1)
    session.advance(result.case_id, Status.CONFIRMED,
                    {"codeword": result.codeword, "location": "here", "group_size": 1})
    session.advance(result.case_id, Status.HANDOFF_ARRANGED,
                    {"meeting_point": "Point A", "receiving_unit": "Unit 1",
                     "window_start": start, "window_end": start + timedelta(hours=2)})
    session.advance(result.case_id, Status.HANDED_OFF, {"received_by": "Sgt. Oliinyk"})
    return result.case_id


@pytest.mark.parametrize(
    ("role", "may_close", "may_edit_lists"),
    [(Role.OPERATOR, False, False), (Role.MANAGER, True, True)],
)
def test_steps_follow_the_role(
    site: Site, runner: TaskRunner, qtbot, role: Role, may_close: bool,  # type: ignore[no-untyped-def]
    may_edit_lists: bool,
) -> None:
    case_id = _handed_off_case(site.session)
    site.session.add_user("worker", role, PASSWORD, FAST_KDF)
    session = Session.open(site.data, "worker", PASSWORD)
    try:
        window = MainWindow(session, runner, UiSettings(site.data))
        qtbot.addWidget(window)
        window.show()
        assert window.places_action.isVisible() is may_edit_lists
        assert window.new_intake_action.isEnabled()
        view = window.open_case(case_id)
        assert view is not None
        qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
        assert (Status.CLOSED in view.transition_buttons) is may_close
        assert Status.WITHDRAWN in view.transition_buttons
        window.close_without_asking()
    finally:
        runner.wait_for_done()
        session.close()


def test_an_it_officers_desk_says_where_its_work_is_instead_of_an_empty_queue(
    site: Site, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    from PySide6.QtWidgets import QLabel

    site.session.add_user("ivan", Role.IT, PASSWORD, FAST_KDF)
    session = Session.open(site.data, "ivan", PASSWORD)
    failures: list[BaseException] = []
    runner.task_failed.connect(failures.append)
    try:
        window = MainWindow(session, runner, UiSettings(site.data))
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
        assert window.tabs.indexOf(window.queue) == -1
        note = window.tabs.widget(0)
        assert isinstance(note, QLabel)
        assert note.text().startswith("Cases are not part of the IT officer role.")
        assert failures == []  # nothing asked for cases, so nothing was refused
        window.close_without_asking()
    finally:
        runner.wait_for_done()
        session.close()
