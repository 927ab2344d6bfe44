"""No personal detail reaches the disk in plaintext: a whole case's life, from intake to a
second site and a restored backup, with every per-user folder and the temp folder inside the
test's own, leaves no file there that holds a canary, in any encoding a reader would try."""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from db.records import Channel, ContactStage, Status
from db.vault import now_utc
from desktop import case_json
from desktop.errors import InputRejected
from desktop.printing import print_handoff_sheet
from desktop.transfer.service import restore
from tests.conftest import PASSWORD
from tests.desktop.transfer.sites import HavenSite, make_sites

# Values found nowhere else, one per kind of personal field.
NAME = "Гаврилюк-Зозулястий Вседар Остапович"
PHONE_TYPED, PHONE = "067 913 27 48", "+380679132748"
UNIT = "Кобзарська бригада 4471"
LOCATION = "Хутір Сивоволівка"
NOTES = "Сховок під старим млином Пелюстківка"
CONTACT = "Дзвонив з Перепелиці, просив передзвонити"
CONDITION = "Поранений Ярчук, кульгає"
CALLBACK = "Signal @zozuliastyi_vsedar"
CANARIES = ["Зозулястий", "Вседар", "Zozuliastyi", "Кобзарська", "Сивоволівка", "Пелюстківка",
            "Перепелиці", "Ярчук", "zozuliastyi_vsedar", PHONE, "679132748", "913 27 48"]
ENCODINGS = ["utf-8", "utf-16-le", "utf-16-be", "cp1251", "koi8-u"]


def _patterns() -> list[tuple[str, bytes]]:
    found = []
    for canary in CANARIES:
        for form in {canary, canary.lower(), canary.upper()}:
            found += [(f"{canary} ({encoding})", form.encode(encoding))
                      for encoding in ENCODINGS]
            escaped = json.dumps(form)[1:-1]
            if escaped != form:  # Python's json.dumps writes Cyrillic as \\uXXXX
                found.append((f"{canary} (JSON escapes)", escaped.encode("ascii")))
    return found


def _holding_canaries(folder: Path) -> list[str]:
    patterns = _patterns()
    held = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        held += [f"{path.relative_to(folder)}: {what}" for what, pattern in patterns
                 if pattern in data]
    return held


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Home, XDG folders and the temp folder of this test, all inside ``tmp_path``."""
    for variable, name in (("HOME", "home"), ("XDG_CONFIG_HOME", "config"),
                           ("XDG_CACHE_HOME", "cache"), ("XDG_DATA_HOME", "share"),
                           ("XDG_RUNTIME_DIR", "runtime"), ("TMPDIR", "tmp")):
        (tmp_path / name).mkdir(mode=0o700)
        monkeypatch.setenv(variable, str(tmp_path / name))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return tmp_path


def _intake(north: HavenSite) -> tuple[str, str]:
    """The case as an operator's script gives it to haven-admin: its id and codeword."""
    document = case_json.loads(json.dumps({
        "kind": "surrender", "channel": "phone", "location": LOCATION, "notes": NOTES,
        "persons": [{"full_name": NAME, "birth_date": "1990-04-17", "phone": PHONE_TYPED,
                     "unit": UNIT, "mobilization": "mobilized", "notes": CALLBACK}],
    }, ensure_ascii=False))
    result = north.session.register_case(case_json.parse_new_case(document))
    return result.case_id, result.codeword


def _confirm_and_arrange(north: HavenSite, case_id: str, codeword: str) -> None:
    session = north.session
    assert not session.verify_codeword(case_id, NAME).matched  # a name said for the codeword
    session.advance(case_id, Status.CONFIRMED, {
        "codeword": codeword, "location": LOCATION, "group_size": 1, "condition": CONDITION})
    session.set_site_places("meeting_point", ["Пункт А"])
    session.set_site_places("receiving_unit", ["Група 1"])
    start = now_utc() + timedelta(days=1)
    window = {"window_start": start.isoformat(),
              "window_end": (start + timedelta(hours=2)).isoformat()}
    with pytest.raises(InputRejected) as refused:  # a name typed into the wrong field
        session.advance(case_id, Status.HANDOFF_ARRANGED, {
            **window, "meeting_point": NAME, "receiving_unit": "Група 1"})
    assert not any(canary in str(refused.value) for canary in CANARIES)
    session.advance(case_id, Status.HANDOFF_ARRANGED, {
        **window, "meeting_point": "Пункт А", "receiving_unit": "Група 1"})


def test_a_case_s_whole_life_leaves_no_personal_detail_in_any_file(scratch: Path) -> None:
    north, south = make_sites(scratch / "sites", ["north", "south"])
    case_id, codeword = _intake(north)
    assert [found.id for found in north.session.search("Зозуляст")] == [case_id]
    assert [found.id for found in north.session.search("Havryliuk-Zozuliastyi")] == [case_id]
    assert [found.id for found in north.session.search("0679132")] == [case_id]
    north.session.add_contact(case_id, Channel.PHONE, ContactStage.FIRST_CONTACT, CONTACT)
    _confirm_and_arrange(north, case_id, codeword)
    assert print_handoff_sheet(north.session, case_id).pdf  # printed: kept in memory only

    transfer = scratch / "stick" / "north-south.haven"
    transfer.parent.mkdir()
    north.service.export(["south"], transfer, full=False)
    south.service.import_file(transfer)
    assert south.session.get_case(case_id).persons[0].unit == UNIT
    backup = scratch / "stick" / "north.backup"
    north.service.backup(backup, "a long backup passphrase", work_factor=10)
    # While both vaults are open their write-ahead logs hold the latest pages.
    assert (north.data / "haven.db-wal").stat().st_size > 0
    assert (south.data / "haven.db-wal").stat().st_size > 0
    assert _holding_canaries(scratch) == []

    north.close()
    south.close()
    restore(backup, scratch / "restored", "a long backup passphrase", "admin", PASSWORD)
    restored = HavenSite("restored", scratch / "restored",
                         north.session.open(scratch / "restored", "admin", PASSWORD))
    assert restored.session.get_case(case_id).persons[0].full_name == NAME
    restored.close()
    assert _holding_canaries(scratch) == []
