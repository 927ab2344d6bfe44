"""haven-admin export and import on a terminal: a percentage on stderr while they run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desktop.transfer.sites import HavenSite, make_sites, new_case
from tests.desktop.transfer.test_restored_peer import _Terminal, admin


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[HavenSite, HavenSite]]:
    north, south = make_sites(tmp_path, ["north", "south"])
    yield north, south
    north.close()
    south.close()


def test_a_terminal_shows_how_far_an_import_is(
    pair: tuple[HavenSite, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    north, south = pair
    for index in range(40):
        new_case(south, f"Гнатюк {index}")
    path = tmp_path / "to-north.haven"
    code, _, err = admin(south, capsys, "export", "--to", "north", "-o", str(path))
    assert (code, err) == (0, "")  # not a terminal: no progress line
    code, _, err = admin(north, capsys, "import", "--dry-run", str(path))
    assert (code, err) == (0, "")
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    code, _, _ = admin(south, capsys, "export", "--to", "north", "-o", str(tmp_path / "b"))
    assert code == 0
    assert terminal.getvalue().startswith("\rWriting the file… 0%")
    assert "\rWriting the file… 100%" in terminal.getvalue()
    terminal.seek(0)
    terminal.truncate()
    code, out, _ = admin(north, capsys, "import", str(path))
    assert code == 0
    assert "40 new cases" in out
    shown = terminal.getvalue()
    assert shown.startswith("\rImporting… 0%")
    assert "\rImporting… 100%" in shown
    assert shown.endswith("\r" + " " * len("Importing… 100%") + "\r")  # the line is cleared
