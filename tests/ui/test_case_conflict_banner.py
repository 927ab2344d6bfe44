"""A case two sites changed without seeing each other says so where it is worked on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from tests.desktop.transfer.sites import HavenSite, make_sites, rearranged_at_both
from tests.ui.conftest import WAIT_MS
from ui.case_view import CaseView
from ui.tasks import TaskRunner


@pytest.fixture
def north_south_runner(tmp_path: Path, qapp: QApplication) -> Iterator[tuple[HavenSite, HavenSite,
                                                                           TaskRunner]]:
    north, south = make_sites(tmp_path, ["north", "south"])
    runner = TaskRunner()
    yield north, south, runner
    runner.cancel_all()
    runner.wait_for_done()
    QApplication.processEvents()
    north.close()
    south.close()


def _view(qtbot, site: HavenSite, runner: TaskRunner, case_id: str) -> CaseView:  # type: ignore[no-untyped-def]
    view = CaseView(site.session, runner, case_id)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    return view


def test_the_case_says_it_is_in_conflict_and_print_says_what_to_do(
    qtbot, north_south_runner, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    north, south, runner = north_south_runner
    case_id = rearranged_at_both(north, south, tmp_path)
    view = _view(qtbot, north, runner, case_id)

    assert view.conflict_label.isVisible()
    banner = view.conflict_label.text()
    assert "Changed at two sites without either seeing the other" in banner
    assert "Handoff arrangement" in banner
    assert "until a manager keeps one (Transfer → Conflicts…)." in banner
    assert "No handoff sheet is printed until then." in banner

    view.print_handoff()
    qtbot.waitUntil(lambda: runner.idle() and not view.busy.isVisible(), timeout=WAIT_MS)
    assert view.preview is None
    assert view.error.text() == (
        "Two sites changed what this sheet would show without seeing each other's change."
        " Keep one version under Transfer → Conflicts…, then print.")

    for conflict in north.service.list_conflicts():
        north.service.resolve_conflict(conflict.id, "local")
    view.load()
    qtbot.waitUntil(lambda: runner.idle() and not view.busy.isVisible(), timeout=WAIT_MS)
    assert not view.conflict_label.isVisible()
    # The status history tells of the resolution in words, not by the conflict's id.
    history = [view.history_list.item(n).text() for n in range(view.history_list.count())]
    assert history[-1].endswith("\nconflict between sites resolved: one version kept")
    assert not any(re.search(r"resolved: [0-9a-f]{16}", line) for line in history)
