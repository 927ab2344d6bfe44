"""A handoff sheet waits while two sites disagree on what it would print."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.errors import InputRejected
from desktop.printing import print_handoff_sheet
from tests.desktop.transfer.sites import HavenSite, rearranged_at_both


def test_no_sheet_is_printed_while_its_meeting_point_is_in_conflict(
    north_and_south: tuple[HavenSite, HavenSite], tmp_path: Path
) -> None:
    north, south = north_and_south
    case_id = rearranged_at_both(north, south, tmp_path)
    assert {"arrangement", "status"} <= set(north.session.conflicted_groups(case_id))

    with pytest.raises(InputRejected, match="changed at two sites without either seeing"):
        print_handoff_sheet(north.session, case_id)

    for conflict in north.service.list_conflicts():
        north.service.resolve_conflict(conflict.id, "local")
    assert north.session.conflicted_groups(case_id) == []
    printed = print_handoff_sheet(north.session, case_id)
    assert printed.pdf.startswith(b"%PDF")
    assert north.session.get_case(case_id, audit_view=False).meeting_point == "Old bus station"
