"""A refused transfer file is explained in the interface language, with what to do about it."""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from desktop.errors import InputRejected
from desktop.transfer.checking import CheckerStopped
from tests.desktop.transfer.sites import (
    HavenSite,
    make_site,
    make_sites,
    new_case,
    pair,
    vault_digest,
)
from ui.language import apply_language
from ui.refusals import refusal_text
from ui.tasks import TaskRunner
from ui.transfer_dialog import ImportDialog

REFUSED = "Файл відхилено; нічого не змінено.\n"


@pytest.fixture
def trio(tmp_path: Path, qapp: QApplication) -> Iterator[tuple[list[HavenSite], TaskRunner]]:
    """Sites a, b and c, all peers, with the interface in Ukrainian."""
    sites = make_sites(tmp_path, ["a", "b", "c"])
    new_case(sites[0], "Бондар Ганна")
    tasks = TaskRunner()
    apply_language("uk")
    yield sites, tasks
    apply_language("en")
    tasks.cancel_all()
    tasks.wait_for_done()
    QApplication.processEvents()
    for site in sites:
        site.close()


def _payload_offset(path: Path) -> int:
    with tarfile.open(path) as archive:
        return archive.getmember("payload.age").offset_data


def _flip_payload_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[_payload_offset(path) + 200] ^= 0x01
    path.write_bytes(bytes(data))


def _cut_in_half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _shown_refusal(qtbot, site: HavenSite, runner: TaskRunner, source: Path) -> str:  # type: ignore[no-untyped-def]
    from tests.ui.test_transfer_gui import open_import_dialog

    dialog: ImportDialog = open_import_dialog(qtbot, site, runner, source)
    assert dialog.error.isVisible()
    assert not dialog.import_button.isEnabled()
    return dialog.error.text()


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (_flip_payload_bit, "Файл пошкоджено або змінено, або це не файл передачі Haven."),
        (_cut_in_half, "Файл неповний: його обрізано, можливо, під час копіювання. Скопіюйте"
                       " його ще раз з носія пункту-відправника."),
    ],
    ids=["a flipped bit in the payload", "cut in half"],
)
def test_a_spoiled_file_is_explained_in_ukrainian(
    qtbot, trio, tmp_path: Path, spoil: Callable[[Path], None], reason: str,  # type: ignore[no-untyped-def]
) -> None:
    (a, b, _c), runner = trio
    path = tmp_path / "to-b.haven"
    a.service.export(["b"], path, full=False)
    spoil(path)
    before = vault_digest(b)
    assert _shown_refusal(qtbot, b, runner, path) == REFUSED + reason
    assert vault_digest(b) == before


def test_a_replayed_file_is_explained_in_ukrainian(qtbot, trio, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (a, b, _c), runner = trio
    path = tmp_path / "to-b.haven"
    a.service.export(["b"], path, full=False)
    b.service.import_file(path)
    before = vault_digest(b)
    assert _shown_refusal(qtbot, b, runner, path) == (
        REFUSED + "Файл №1 від a уже імпортовано; жоден файл не імпортується двічі."
    )
    assert vault_digest(b) == before


def test_a_file_from_a_revoked_peer_is_explained_in_ukrainian(qtbot, trio, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (a, b, _c), runner = trio
    path = tmp_path / "to-b.haven"
    a.service.export(["b"], path, full=False)
    b.service.revoke_peer("a")
    assert _shown_refusal(qtbot, b, runner, path) == (
        REFUSED + "Файл надійшов від a, чиї ключі відкликано."
    )


def test_a_file_for_another_site_is_explained_in_ukrainian(qtbot, trio, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (a, b, _c), runner = trio
    path = tmp_path / "to-c.haven"
    a.service.export(["c"], path, full=False)
    assert _shown_refusal(qtbot, b, runner, path) == (
        REFUSED + "Файл адресовано іншим пунктам, а не цьому: він для 'c'. Віднесіть його туди."
    )



def test_a_file_for_a_site_not_known_here_names_it_in_ukrainian(  # type: ignore[no-untyped-def]
    qtbot, trio, tmp_path: Path
) -> None:
    (a, b, _c), runner = trio
    far = make_site(tmp_path, "d")  # a peer of a's, never heard of at b
    try:
        pair(a, far)
        path = tmp_path / "to-d.haven"
        a.service.export(["d"], path, full=False)
        far_id = far.site_id
    finally:
        far.close()
    assert _shown_refusal(qtbot, b, runner, path) == (
        REFUSED + f"Файл адресовано іншим пунктам, а не цьому: він для пункту {far_id}."
        " Віднесіть його туди."
    )

def test_a_file_from_a_stranger_says_how_to_add_its_site(qtbot, trio, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (_a, b, _c), runner = trio
    stranger = make_site(tmp_path, "d")  # it knows b; b has never heard of it
    try:
        keys = b.service.site_identity()
        stranger.service.add_peer("b", keys.signing_key, keys.age_recipient, keys.fingerprint)
        path = tmp_path / "to-b.haven"
        stranger.service.export(["b"], path, full=False)
    finally:
        stranger.close()
    assert _shown_refusal(qtbot, b, runner, path) == (
        REFUSED + "Файл підписав пункт, що не є партнером цього пункту. Додайте його в меню"
        " Передача → Партнери та ключі…, щойно його відбиток звірено, і знову імпортуйте файл."
    )


# Refusals that take more to provoke than a spoiled file, as the transfer core words them.
@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("the transfer file holds changes stamped more than a day ahead of this computer's"
         " clock; check the clocks of both sites",
         "Файл містить зміни з позначкою часу, що випереджає годинник цього комп’ютера більш"
         " ніж на добу; перевірте годинники обох пунктів."),
        ("the transfer file holds an invalid record (at ops[0].at)",
         "Те, що пункт-відправник записав у файл, порушує формат Haven (недійсний запис або"
         " заголовок), тому весь файл відхилено. Повідомте ІТ-фахівця того пункту."),
        ("the sender's audit log does not extend the one it showed before (12 entries): its"
         " history was rewritten. If 'north' was restored from a backup, confirm it with that"
         " site, then run: haven-admin peer reset-checkpoint north",
         "Журнал аудиту пункту-відправника не продовжує той, який він показував раніше: його"
         " історію переписано.\nЯкщо north відновлено з резервної копії, підтвердьте це з тим"
         " пунктом, потім виконайте: haven-admin peer reset-checkpoint north"),
        ("the sender's audit log of 12 entries differs from the one it showed before: its"
         " history was rewritten. 'north' was not restored from a backup (its file numbering"
         " goes on): tell its IT officer, and do not reset its checkpoint",
         "Журнал аудиту пункту-відправника не продовжує той, який він показував раніше: його"
         " історію переписано.\nnorth не відновлювали з резервної копії (нумерація його"
         " файлів триває): повідомте його ІТ-фахівця і не скидайте його контрольну точку."),
        ("the file carries no proof that the sender's audit log extends the 12 entries"
         " accepted before. Send 'north' a file from this site: its next file then carries"
         " the proof",
         "Файл не містить доказу, що журнал аудиту пункту-відправника продовжує той, який він"
         " показував раніше.\nНадішліть north файл із цього пункту: тоді його наступний файл"
         " міститиме доказ."),
        ("the sender's audit log has 9 entries, fewer than it showed in its file #1: its last"
         " entries were cut off. 'north' was not restored from a backup (its file numbering"
         " goes on): tell its IT officer, and do not reset its checkpoint",
         "Журнал аудиту пункту-відправника коротший, ніж у файлі, який той записав раніше:"
         " його останні записи вирізано.\nnorth не відновлювали з резервної копії (нумерація"
         " його файлів триває): повідомте його ІТ-фахівця і не скидайте його контрольну"
         " точку."),
        ("the payload is not encrypted to this site's key",
         "Файл зашифровано не для ключа цього пункту."),
        ("a case in the file has the reference code of another case here (case 7K-M3P-Q9R-X)",
         "Справа у файлі має реєстраційний номер 7K-M3P-Q9R-X іншої справи цього пункту."),
        ("the file creates a case that already exists here (case 7K-M3P-Q9R-X)",
         "Файл знову створює справу 7K-M3P-Q9R-X, яка вже є на цьому пункті."),
        ("the file creates a case twice", "Справу у файлі створено двічі."),
        ("the file holds a change that differs from the one held here in kind or field group"
         " (case 7K-M3P-Q9R-X)",
         "Файл перетворює збережену тут зміну справи 7K-M3P-Q9R-X на зміну іншого виду або"
         " переносить її до інших полів."),
        ("a case in the file would hold 40 versions of its intake fields in conflict, more than"
         " one change can replace (32) (case 7K-M3P-Q9R-X)",
         "Справа 7K-M3P-Q9R-X мала б у конфлікті більше версій тих самих полів, ніж може замінити"
         " одне розв’язання (32). Весь файл відхилено; повідомте ІТ-фахівця"
         " пункту-відправника."),
        ("the file holds two different changes with one id",
         "Файл містить зміну, що суперечить збереженій тут (одна зміна, різний вміст)."),
        ("the file holds one case on two lines",
         "Те, що пункт-відправник записав у файл, порушує формат Haven (недійсний запис або"
         " заголовок), тому весь файл відхилено. Повідомте ІТ-фахівця того пункту."),
        ("a case would grow beyond what one transfer file can carry (10,000 changes, 8 MiB)",
         "Справа з файлу стала б більшою, ніж може вмістити один файл передачі, і цей пункт не"
         " зміг би передати її далі. Весь файл відхилено; повідомте ІТ-фахівця"
         " пункту-відправника."),
        ("the file was written by this site: carry it to the sites it is for",
         "Цей файл записав цей пункт: віднесіть його до пунктів, для яких він призначений."),
        ("the file is not a Haven transfer file (not a tar archive)",
         "Це не файл передачі Haven. Перевірте, що ви вибрали файл, який записав"
         " пункт-відправник (його назва закінчується на .haven)."),
        ("the transfer file is truncated",
         "Файл неповний: його обрізано, можливо, під час копіювання. Скопіюйте його ще раз з"
         " носія пункту-відправника."),
    ],
    ids=["clock ahead", "invalid record", "rewritten audit log", "rewritten, not restored",
         "no proof yet", "cut short", "not for our key",
         "reference used twice", "a case created again", "a case created twice",
         "a change of another kind", "a conflict too wide", "one change, two contents",
         "a case on two lines", "a case too large to pass on",
         "our own file", "not a transfer file", "truncated"],
)
def test_refusals_read_in_ukrainian(qapp: QApplication, message: str, reason: str) -> None:
    try:
        apply_language("uk")
        shown = refusal_text(InputRejected(message))
    finally:
        apply_language("en")
    assert shown == REFUSED + reason


def test_a_stopped_check_is_not_called_a_refusal(qapp: QApplication) -> None:
    error = CheckerStopped(
        "the import stopped: the process checking the file was stopped before it was done"
        " (nothing was changed); try again"
    )
    assert refusal_text(error) == (
        "The import stopped: the process checking the file was stopped before it was done."
        " Nothing was changed; try again."
    )


def test_a_refusal_not_listed_is_shown_as_written(qapp: QApplication) -> None:
    assert refusal_text(InputRejected("the moon is in the wrong phase")) == (
        "The file was refused; nothing was changed.\nthe moon is in the wrong phase"
    )
