"""Fixtures of the transfer tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desktop.transfer.sites import HavenSite, make_sites


@pytest.fixture
def north_and_south(tmp_path: Path) -> Iterator[tuple[HavenSite, HavenSite]]:
    """Two peers: North (in the refusal tests a captured site, its key still trusted) sends
    to South."""
    north, south = make_sites(tmp_path, ["north", "south"])
    yield north, south
    north.close()
    south.close()
