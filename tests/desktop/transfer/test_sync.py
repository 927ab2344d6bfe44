"""Exchanging files: exports shrink as sites confirm, late files still fit, conflicts are kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from db import cases
from db.records import Channel, CodewordAttempt, ContactEntry, ContactStage, Status, StatusChange
from db.vault import now_utc
from desktop.errors import InputRejected, PermissionDenied
from desktop.transfer.importer import ReplayRejected
from tests.desktop.transfer.sites import (
    HavenSite,
    canonical_dump,
    edited_everywhere,
    make_sites,
    new_case,
    vault_digest,
)


@pytest.fixture
def three(tmp_path: Path) -> Iterator[list[HavenSite]]:
    sites = make_sites(tmp_path, ["north", "south", "west"])
    yield sites
    for site in sites:
        site.close()


def send(sender: HavenSite, recipient: HavenSite, folder: Path, full: bool = False) -> Path:
    path = folder / f"{sender.name}-{recipient.name}-{len(list(folder.glob('*.haven')))}.haven"
    sender.service.export([recipient.name], path, full=full)
    return path


def test_exports_shrink_once_the_other_side_confirms(three: list[HavenSite],
                                                      tmp_path: Path) -> None:
    north, south, _ = three
    for index in range(3):
        new_case(north, f"Коваленко {index}")
    first = send(north, south, tmp_path)
    assert south.service.import_file(first).cases_new == 3
    # Until South says what it holds, North sends everything again.
    assert north.service.export(["south"], tmp_path / "again.haven", full=False).cases == 3
    assert south.service.import_file(tmp_path / "again.haven").ops_new == 0
    north.service.import_file(send(south, north, tmp_path))
    new_case(north, "Новий Випадок")
    result = north.service.export(["south"], tmp_path / "small.haven", full=False)
    assert result.cases == 1
    assert north.service.export(["south"], tmp_path / "all.haven", full=True).cases == 4


def test_a_gap_is_reported_and_the_late_file_still_imports(three: list[HavenSite],
                                                           tmp_path: Path) -> None:
    north, south, _ = three
    new_case(north, "Перший")
    first = send(north, south, tmp_path)
    new_case(north, "Другий")
    second = send(north, south, tmp_path)
    report = south.service.import_file(second)
    assert report.missing == (1,)
    assert report.cases_new == 2  # the second file carries all that was unconfirmed
    late = south.service.import_file(first)
    assert late.missing == ()
    assert late.cases_new == 0
    assert late.ops_new == 0
    assert canonical_dump(north) == canonical_dump(south)


def test_importing_the_same_changes_again_changes_nothing(three: list[HavenSite],
                                                          tmp_path: Path) -> None:
    north, south, _ = three
    new_case(north, "Іваненко Петро", "+380671234567")
    south.service.import_file(send(north, south, tmp_path))
    before = canonical_dump(south)
    report = south.service.import_file(send(north, south, tmp_path, full=True))
    assert (report.ops_new, report.cases_new, report.cases_updated) == (0, 0, 0)
    assert canonical_dump(south) == before
    with pytest.raises(ReplayRejected):
        south.service.import_file(tmp_path / "north-south-0.haven")


def test_dry_run_reports_what_an_import_does_and_changes_nothing(three: list[HavenSite],
                                                                 tmp_path: Path) -> None:
    north, south, _ = three
    case_id = new_case(north, "Іваненко Петро")
    south.service.import_file(send(north, south, tmp_path))
    new_case(north, "Смирнов Алексей")
    with north.session.vault.transaction() as conn:
        cases.update_fields(conn, case_id, {"location": "Запоріжжя"}, now_utc())
    path = send(north, south, tmp_path)
    before = vault_digest(south)
    dry = south.service.import_file(path, dry_run=True)
    assert vault_digest(south) == before
    assert (dry.cases_new, dry.cases_updated, dry.dry_run) == (1, 1, True)
    real = south.service.import_file(path)
    assert (real.cases_new, real.cases_updated, real.ops_new) == (1, 1, dry.ops_new)


def test_imported_people_are_found_in_any_script(three: list[HavenSite], tmp_path: Path) -> None:
    north, south, _ = three
    new_case(north, "Іваненко Петро Сергійович", "+380671234567")
    south.service.import_file(send(north, south, tmp_path))
    for query in ("Ivanenko", "Иваненко", "Іваненко", "0671234567"):
        assert [hit.names for hit in south.session.search(query)] == [
            "Іваненко Петро Сергійович"
        ], query


def test_a_peers_reference_heard_without_its_site_prefix_finds_the_case(
    three: list[HavenSite], tmp_path: Path
) -> None:
    north, south, _ = three
    ref = north.session.get_case(new_case(north, "Бойко Іван"), audit_view=False).ref
    south.service.import_file(send(north, south, tmp_path))
    # North's prefix lost on the line: "4TX-7PA-9" of KM-4TX-7PA-9, typed at South.
    assert [hit.ref for hit in south.session.search(ref[3:])] == [ref]


def test_relayed_changes_reach_a_site_that_never_heard_from_their_origin(
    three: list[HavenSite], tmp_path: Path
) -> None:
    north, south, west = three
    new_case(north, "Через Посередника")
    south.service.import_file(send(north, south, tmp_path))
    west.service.import_file(send(south, west, tmp_path))
    assert canonical_dump(west) == canonical_dump(north)


def test_concurrent_edits_become_the_same_conflict_everywhere(three: list[HavenSite],
                                                              tmp_path: Path) -> None:
    north, south, _ = three
    case_id = new_case(north, "Спірний Випадок")
    south.service.import_file(send(north, south, tmp_path))
    later = now_utc() + timedelta(seconds=1)
    for site, place in ((north, "Пункт А"), (south, "Пункт Б")):
        with site.session.vault.transaction() as conn:
            cases.update_fields(conn, case_id, {"location": place}, later, by="operator")
    south.service.import_file(send(north, south, tmp_path))
    north.service.import_file(send(south, north, tmp_path))
    assert canonical_dump(north) == canonical_dump(south)
    [seen_north] = north.service.list_conflicts()
    [seen_south] = south.service.list_conflicts()
    assert seen_north.id == seen_south.id
    assert seen_north.group == "intake"
    places = {v.values["location"]: v.local for v in seen_north.versions}
    assert places == {"Пункт А": True, "Пункт Б": False}
    # A manager at North keeps North's version; the decision travels like any change.
    north.service.resolve_conflict(seen_north.id, "local")
    assert north.service.list_conflicts() == []
    assert north.session.get_case(case_id, audit_view=False).location == "Пункт А"
    south.service.import_file(send(north, south, tmp_path))
    assert south.service.list_conflicts() == []
    assert south.session.get_case(case_id, audit_view=False).location == "Пункт А"
    assert canonical_dump(north) == canonical_dump(south)


def test_a_status_conflict_resolved_with_the_incoming_version(three: list[HavenSite],
                                                              tmp_path: Path) -> None:
    north, south, _ = three
    case_id = new_case(north, "Два Статуси")
    south.service.import_file(send(north, south, tmp_path))
    original = new_case(north, "Перший Випадок")
    moves = ((north, Status.WITHDRAWN, {"reason": "north"}),
             (south, Status.DUPLICATE, {"duplicate_of": original, "reason": "south"}))
    for site, target, fields in moves:
        with site.session.vault.transaction() as conn:
            cases.set_status(conn, case_id, StatusChange(
                case_id, Status.REGISTERED, target, now_utc(), "operator", fields))
    north.service.import_file(send(south, north, tmp_path))
    [conflict] = north.service.list_conflicts()
    assert conflict.group == "status"
    north.service.resolve_conflict(conflict.id, "incoming")
    case = north.session.get_case(case_id, audit_view=False)
    assert case.status == Status.DUPLICATE
    history = [(h.to_status, h.fields.get("resolved"))
               for h in north.session.status_history(case_id)]
    assert (Status.WITHDRAWN, None) in history
    assert (Status.DUPLICATE, conflict.id) in history


def test_three_sites_edit_at_once_and_any_version_can_be_kept(three: list[HavenSite],
                                                               tmp_path: Path) -> None:
    north = three[0]
    case_id = edited_everywhere(three, ["Пункт А", "Пункт Б", "Пункт В"], tmp_path)
    [conflict] = north.service.list_conflicts()
    places = {v.values["location"]: (v.site, v.local) for v in conflict.versions}
    assert places == {"Пункт А": ("this site", True), "Пункт Б": ("south", False),
                      "Пункт В": ("west", False)}
    # "incoming" keeps the newer of the two incoming versions; the older is kept by its id.
    other = min((v for v in conflict.versions if not v.local), key=lambda v: v.op_id)
    before = vault_digest(north)
    with pytest.raises(InputRejected, match="not a version of conflict"):
        north.service.resolve_conflict(conflict.id, conflict.versions[0].op_id[:-1] + "x")
    with pytest.raises(InputRejected, match="'local', 'incoming' or the id of a version"):
        north.service.resolve_conflict(conflict.id, "both")
    assert vault_digest(north) == before
    north.service.resolve_conflict(conflict.id, " " + other.op_id + " ")
    assert north.service.list_conflicts() == []
    assert north.session.get_case(case_id, audit_view=False).location == other.values["location"]


def test_resolving_needs_a_manager(three: list[HavenSite], tmp_path: Path) -> None:
    from db.records import Role
    from desktop.session import Session
    from desktop.transfer.service import TransferService
    from tests.conftest import FAST_KDF, PASSWORD

    north = three[0]
    north.session.add_user("clerk", Role.OPERATOR, PASSWORD, FAST_KDF)
    clerk = Session.open(north.data, "clerk", PASSWORD)
    try:
        with pytest.raises(PermissionDenied):
            TransferService(clerk).resolve_conflict("0" * 16, "local")
        with pytest.raises(PermissionDenied):
            TransferService(clerk).export(["south"], tmp_path / "x.haven", full=True)
    finally:
        clerk.close()


def test_contacts_and_codeword_checks_merge_as_unions(three: list[HavenSite],
                                                      tmp_path: Path) -> None:
    north, south, _ = three
    case_id = new_case(north, "Кодове Слово")
    south.service.import_file(send(north, south, tmp_path))
    moment = now_utc()
    for site, offset in ((north, 0), (south, 1)):
        with site.session.vault.transaction() as conn:
            for tick in range(2):
                at = moment + timedelta(seconds=offset + 2 * tick)
                cases.record_codeword_attempt(conn, CodewordAttempt(case_id, at, "op", False), 3)
            cases.add_contact(conn, ContactEntry(case_id, moment, Channel.PHONE, "op",
                                                 ContactStage.CONFIRMATION, site.name))
    south.service.import_file(send(north, south, tmp_path))
    north.service.import_file(send(south, north, tmp_path))
    assert canonical_dump(north) == canonical_dump(south)
    case = south.session.get_case(case_id, audit_view=False)
    assert case.failed_codeword_attempts == 4  # four failures in a row, once merged
    assert case.flagged
    assert len(south.session.codeword_attempts(case_id)) == 4
    assert {c.summary for c in south.session.contacts(case_id)} >= {"north", "south"}


def test_a_site_refuses_to_add_itself_or_a_peer_twice(three: list[HavenSite]) -> None:
    north, south, _ = three
    mine = north.service.site_identity()
    with pytest.raises(InputRejected, match="own keys"):
        north.service.add_peer("me", mine.signing_key, mine.age_recipient, mine.fingerprint)
    theirs = south.service.site_identity()
    with pytest.raises(InputRejected, match="already known"):
        north.service.add_peer("south2", theirs.signing_key, theirs.age_recipient,
                               theirs.fingerprint)


def test_a_full_copy_of_a_demo_site_is_identical(tmp_path: Path) -> None:
    """Every kind of local write (demo cases reach every status) derives the same at a peer."""
    from desktop import demo

    north, south = make_sites(tmp_path, ["north", "south"])
    try:
        demo.make_demo_cases(north.session, 300, seed=3)
        south.service.import_file(send(north, south, tmp_path, full=True))
        assert canonical_dump(north) == canonical_dump(south)
        assert south.service.list_conflicts() == []
    finally:
        north.close()
        south.close()


def test_a_huge_sequence_number_is_only_reported(three: list[HavenSite], tmp_path: Path) -> None:
    from tests.desktop.transfer.sites import forge, header_line

    north, south, _ = three
    sequence = 2**40
    payload = header_line(north, [south], sequence) + b'{"cases":0,"type":"end"}\n'
    forge(tmp_path / "far.haven", north, [south], payload, sequence=sequence)
    report = south.service.import_file(tmp_path / "far.haven")
    assert report.missing == tuple(range(1, 21))
    assert report.missing_count == sequence - 1


def test_export_and_import_tell_how_far_they_are(three: list[HavenSite], tmp_path: Path) -> None:
    north, south, _ = three
    for index in range(250):
        new_case(north, f"Коваленко {index}")
    written: list[tuple[int, int]] = []
    path = tmp_path / "progress.haven"
    north.service.export(["south"], path, full=False,
                         progress=lambda done, total: written.append((done, total)))
    assert written[0] == (0, 250)
    assert written[-1] == (250, 250)
    assert [done for done, _ in written] == sorted(done for done, _ in written)
    assert len(written) <= 102  # a step each hundredth of the way, not each case

    for dry_run in (True, False):
        read: list[tuple[int, int]] = []

        def note(done: int, total: int, into: list[tuple[int, int]] = read) -> None:
            into.append((done, total))

        south.service.import_file(path, dry_run=dry_run, progress=note)
        payload = read[-1][1]
        assert read[-1] == (payload, payload)
        assert len({total for _, total in read}) == 1
        assert [done for done, _ in read] == sorted(done for done, _ in read)
        assert len(read) > 1
    assert south.session.count_cases() == 250
