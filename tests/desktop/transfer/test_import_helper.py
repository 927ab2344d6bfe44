"""A large payload is checked by a helper process while Haven writes: same outcome, same refusals.

The payload-level refusals of test_refusals run again here with every payload sent through
the helper (they are imported below, so pytest collects them in this module too).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from db import cases
from db.records import Channel, CodewordAttempt, ContactEntry, ContactStage, Status, StatusChange
from desktop.transfer import importer
from desktop.transfer.checking import CheckerStopped
from tests.conftest import PASSWORD
from tests.desktop.transfer.sites import (
    HavenSite,
    canonical_dump,
    forge,
    header_line,
    make_sites,
    new_case,
    vault_digest,
)
from tests.desktop.transfer.test_peer_status_moves import (  # noqa: F401 - again, with the helper
    test_a_case_line_without_its_creation_is_refused,
    test_a_status_jump_is_refused_naming_the_field,
)
from tests.desktop.transfer.test_peer_text import (  # noqa: F401 - again, with the helper
    test_a_case_with_hidden_or_unprintable_text_is_refused_naming_the_field,
)
from tests.desktop.transfer.test_refusals import (  # noqa: F401 - collected again, with the helper
    _case_record,
    _copies,
    _genuine_lines,
    test_a_bad_record_after_good_ones_changes_nothing,
    test_a_file_of_several_batches_is_applied_whole_or_not_at_all,
    test_a_good_file_imports,
    test_malformed_or_oversized_records,
    test_payload_not_encrypted_to_us,
    world,
)


@pytest.fixture(autouse=True)
def helper(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every payload, however small, goes through the helper process."""
    monkeypatch.setattr(importer, "HELPER_FROM_BYTES", 0)


def helpers_running(parent_pid: int | None = None) -> list[int]:
    """Process ids of the checking helpers that this process (or another) started."""
    parent_pid = os.getpid() if parent_pid is None else parent_pid
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == parent_pid and b"helper_main" in command:
            found.append(int(entry.name))
    return found


@pytest.fixture
def trio(tmp_path: Path) -> Iterator[tuple[HavenSite, HavenSite, HavenSite, HavenSite]]:
    """Four sites, each a peer of the others: North and West edit, Here and There receive."""
    north, west, here, there = make_sites(tmp_path, ["north", "west", "here", "there"])
    yield north, west, here, there
    for site in (north, west, here, there):
        site.close()


def _moment(minute: int) -> datetime:
    return datetime(2026, 11, 27, 10, minute, tzinfo=UTC)


def test_the_helper_and_this_process_import_the_same(
    trio: tuple[HavenSite, HavenSite, HavenSite, HavenSite], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    north, west, here, there = trio
    ids = [new_case(north, f"Особа {n}", f"+38067{n:07d}") for n in range(30)]
    with north.session.vault.transaction() as conn:
        for n, case_id in enumerate(ids[:20]):
            cases.set_status(conn, case_id, StatusChange(
                case_id, Status.REGISTERED, Status.CONFIRMED, _moment(n), "operator",
                {"location": "Херсон", "group_size": "2"}))
            cases.add_contact(conn, ContactEntry(case_id, _moment(n), Channel.PHONE, "operator",
                                                 ContactStage.FOLLOW_UP, f"дзвінок {n}"))
            cases.record_codeword_attempt(
                conn, CodewordAttempt(case_id, _moment(n), "operator", n % 3 == 0), 3)
    north.service.export(["west"], tmp_path / "to-west.haven", full=True)
    west.service.import_file(tmp_path / "to-west.haven")
    # The same group edited on both sides without seeing each other: a conflict.
    for site, place in ((north, "Північ"), (west, "Захід")):
        with site.session.vault.transaction() as conn:
            cases.update_fields(conn, ids[0], {"location": place}, _moment(40), by="operator")
    west.service.export(["north"], tmp_path / "to-north.haven", full=False)
    north.service.import_file(tmp_path / "to-north.haven")
    path = tmp_path / "both.haven"
    north.service.export(["here", "there"], path, full=True)

    seen: list[list[int]] = []
    by_helper = here.service.import_file(path, progress=lambda done, total: seen.append(
        helpers_running()))
    monkeypatch.setattr(importer, "HELPER_FROM_BYTES", 8 * 1024 * 1024)
    seen_here: list[list[int]] = []
    in_process = there.service.import_file(path, progress=lambda done, total: seen_here.append(
        helpers_running()))

    assert any(seen)
    assert not any(seen_here)
    assert by_helper.cases_new == in_process.cases_new == 30
    assert by_helper.conflicts_new == in_process.conflicts_new == 1
    assert (by_helper.ops_new, by_helper.audit_new) == (in_process.ops_new, in_process.audit_new)
    assert canonical_dump(here) == canonical_dump(there) == canonical_dump(north)
    assert [c.case_id for c in here.service.list_conflicts()] == [ids[0]]


def _large_file(sites: dict[str, HavenSite], tmp_path: Path, count: int = 5_000) -> Path:
    """Cases from North to South: more than the helper's pipe holds, so it waits."""
    north, south = sites["north"], sites["south"]
    lines = _genuine_lines(sites, tmp_path)
    copies = _copies(_case_record(lines), count)
    payload = header_line(north, [south], 9) + b"\n".join(copies) + b"\n"
    payload += json.dumps({"cases": len(copies), "type": "end"}).encode() + b"\n"
    path = tmp_path / "large.haven"
    forge(path, north, [south], payload, sequence=9)
    return path


def test_a_killed_helper_stops_the_import_and_changes_nothing(
    world: dict[str, HavenSite], tmp_path: Path  # noqa: F811 - the fixture imported above
) -> None:
    south = world["south"]
    path = _large_file(world, tmp_path)
    before = vault_digest(south)
    killed: list[int] = []

    def kill_the_helper(done: int, total: int) -> None:
        if done and not killed:
            killed.extend(helpers_running())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    with pytest.raises(CheckerStopped, match="was stopped before it was done"):
        south.service.import_file(path, progress=kill_the_helper)
    assert len(killed) == 1
    assert vault_digest(south) == before
    assert helpers_running() == []

    report = south.service.import_file(path)
    assert report.cases_new == 5_000


def test_without_a_helper_the_import_is_checked_here(
    world: dict[str, HavenSite], tmp_path: Path,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    north, south = world["north"], world["south"]
    path = tmp_path / "plain.haven"
    north.service.export(["south"], path, full=True)
    # No interpreter to start the helper with (as when processes or memory run out).
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    seen: list[list[int]] = []

    report = south.service.import_file(path, progress=lambda done, total: seen.append(
        helpers_running()))

    assert report.cases_new == 2
    assert not any(seen)
    assert canonical_dump(south)["cases"] == canonical_dump(north)["cases"]


def test_a_killed_import_leaves_no_helper_and_the_vault_unchanged(
    world: dict[str, HavenSite], tmp_path: Path,  # noqa: F811 - the fixture imported above
) -> None:
    south = world["south"]
    # Another process imports: large enough for its helper at the usual threshold.
    path = _large_file(world, tmp_path, count=12_000)
    assert path.stat().st_size > 8 * 1024 * 1024
    before = vault_digest(south)
    password_file = tmp_path / "password.txt"
    password_file.write_text(PASSWORD + "\n")
    importer_process = subprocess.Popen(
        [sys.executable, "-c", "from desktop.cli import main; raise SystemExit(main())",
         "--data", str(south.data), "--user", "admin", "--password-file", str(password_file),
         "import", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    helpers: list[int] = []
    deadline = time.monotonic() + 60
    while not helpers and importer_process.poll() is None and time.monotonic() < deadline:
        helpers = helpers_running(importer_process.pid)
        time.sleep(0.01)
    assert helpers, "the import ended before its helper was seen"

    importer_process.kill()  # as when the machine's owner pulls the plug on Haven
    importer_process.wait()

    def helper_runs() -> bool:  # gone, or a zombie waiting for init to reap it
        with contextlib.suppress(OSError):
            return not Path(f"/proc/{helpers[0]}/stat").read_text().split(") ")[1].startswith("Z")
        return False

    deadline = time.monotonic() + 10
    while helper_runs() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not helper_runs(), "the helper outlived the import"
    assert vault_digest(south) == before
    assert south.service.import_file(path).cases_new == 12_000


class _Stop(Exception):
    pass


def test_an_import_stopped_halfway_changes_nothing_and_leaves_no_helper(
    world: dict[str, HavenSite], tmp_path: Path  # noqa: F811 - the fixture imported above
) -> None:
    north, south = world["north"], world["south"]
    for n in range(200):
        new_case(north, f"Особа {n}", f"+38067{n:07d}")
    path = tmp_path / "to-south.haven"
    north.service.export(["south"], path, full=True)
    before = vault_digest(south)
    told: list[int] = []

    def stop_halfway(done: int, total: int) -> None:  # what the desk's Stop button does
        told.append(done)
        if done >= total // 2:
            raise _Stop

    with pytest.raises(_Stop):
        south.service.import_file(path, progress=stop_halfway)
    assert 0 < told[-1] < path.stat().st_size  # it was stopped on the way
    assert vault_digest(south) == before
    assert helpers_running() == []
    report = south.service.import_file(path)
    assert report.cases_new == 202  # and the two the world began with
