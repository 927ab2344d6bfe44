"""One translation mechanism: the catalogues are complete, and the window speaks Ukrainian."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from db.records import CaseKind, Channel, ContactStage, Mobilization, Outcome, Role, Status
from desktop import i18n
from tests.ui.conftest import WAIT_MS
from ui import labels
from ui.language import apply_language
from ui.main_window import MainWindow


def test_every_string_in_the_code_is_translated() -> None:
    problems = i18n.catalogue_problems()
    assert not problems, "\n".join(str(problem) for problem in problems)


def test_ukrainian_plurals_and_fields() -> None:
    try:
        i18n.set_language("uk")
        forms = [i18n.ngettext("{count} case", "{count} cases", n).format(count=n)
                 for n in (1, 3, 5, 21)]
        assert forms == ["1 справа", "3 справи", "5 справ", "21 справа"]
        assert i18n._("Queue") == "Черга"
    finally:
        i18n.set_language("en")
    assert i18n._("Queue") == "Queue"


def test_system_language_follows_the_environment() -> None:
    assert i18n.system_language({"LANG": "uk_UA.UTF-8"}) == "uk"
    assert i18n.system_language({"LANGUAGE": "de:uk", "LANG": "C"}) == "uk"
    assert i18n.system_language({"LANG": "fr_FR.UTF-8"}) == "en"
    assert i18n.system_language({}) == "en"


def test_compile_writes_mo_files_that_gettext_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(i18n.LOCALE_DIR, tmp_path / "i18n")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "i18n")
    for stale in (tmp_path / "i18n").rglob("*.mo"):
        stale.unlink()
    compiled = i18n.compile_catalogues()
    assert [path.relative_to(tmp_path) for path in compiled] == [
        Path("i18n/uk/LC_MESSAGES/haven.mo")
    ]
    try:
        i18n.set_language("uk")
        assert i18n._("Queue") == "Черга"
    finally:
        i18n.set_language("en")


def test_the_window_and_qt_dialogs_in_ukrainian(desk: MainWindow, site, runner, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QCoreApplication, Qt

    apply_language("uk")
    window = MainWindow(site.session, runner, desk.settings)
    qtbot.addWidget(window)
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
    assert window.tabs.tabText(0) == "Черга"
    assert window.queue.queue_model.headerData(0, Qt.Orientation.Horizontal) == "Номер"
    # Qt's own strings (standard buttons) come from qtbase_uk.qm.
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Скасувати"
    window.close_without_asking()


def test_every_kind_channel_and_outcome_reads_as_itself() -> None:
    """'other' is a kind, a channel and an outcome: each reads as its own."""
    enums = (Status, CaseKind, Channel, Mobilization, Outcome, ContactStage, Role)
    for enum in enums:
        shown = [labels.label(member) for member in enum]
        assert len(set(shown)) == len(shown), enum
    assert labels.label(CaseKind.OTHER) == "other"
    assert labels.label(Channel.OTHER) == "other channel"
    assert labels.label(Outcome.OTHER) == "other outcome"


def test_a_language_switch_mid_shift_keeps_the_cases_open(site, qtbot) -> None:  # type: ignore[no-untyped-def]
    from db.records import NewCase, Person
    from ui.app import DeskApp

    case_ids = [site.session.register_case(NewCase(
        CaseKind.SURRENDER, Channel.PHONE, (Person(full_name=name),))).case_id
        for name in ("Бойко Іван", "Ткачук Ігор")]
    app = DeskApp(site.data)
    app.show_desk(site.session)
    window = app.window
    assert window is not None
    for case_id in case_ids:
        window.open_case(case_id)
    window.tabs.setCurrentIndex(1)  # the first case in front
    qtbot.waitUntil(app.runner.idle, timeout=WAIT_MS)
    try:
        app.settings.language = "uk"
        app.switch_language("uk")
        rebuilt = app.window
        assert rebuilt is not None
        assert rebuilt is not window
        assert rebuilt.tabs.tabText(0) == "Черга"
        assert [view.case_id for view in rebuilt.case_views()] == case_ids
        front = rebuilt.current_case()
        assert front is not None
        assert front.case_id == case_ids[0]
        qtbot.waitUntil(app.runner.idle, timeout=WAIT_MS)
    finally:
        if app.window is not None:
            app.window.close_without_asking()
        app.runner.cancel_all()
        app.runner.wait_for_done()
