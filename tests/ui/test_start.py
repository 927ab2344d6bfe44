"""Start-up: the first-run assistant, the recovery key, and the unlock dialog."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from db.keyslots import KdfParams
from desktop.session import Session
from tests.conftest import FAST_KDF, PASSWORD, Site, SmallDisk
from tests.ui.conftest import WAIT_MS, focused, type_text
from ui.app import DeskApp
from ui.first_run import FirstRunDialog, RecoveryKeyDialog
from ui.tasks import TaskRunner
from ui.unlock import UnlockDialog, parse_demo_login


def _show(qtbot, dialog) -> None:  # type: ignore[no-untyped-def]
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)


def test_wrong_password_is_explained_next_to_the_field(
    site: Site, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    dialog = UnlockDialog(site.data, "Vault", runner)
    _show(qtbot, dialog)
    assert dialog.windowTitle().startswith("Haven")
    assert focused() is dialog.user_edit
    type_text(dialog.user_edit, site.admin)
    qtbot.keyClick(dialog.user_edit, Qt.Key.Key_Tab)
    assert focused() is dialog.password_edit
    type_text(dialog.password_edit, "not the password")
    qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    assert dialog.busy.isVisible()
    qtbot.waitUntil(lambda: dialog.password_error.isVisible(), timeout=WAIT_MS)

    assert "Wrong user name or password" in dialog.password_error.text()
    assert dialog.user_edit.text() == site.admin
    assert dialog.password_edit.text() == ""
    assert focused() is dialog.password_edit
    assert dialog.password_edit.property("invalid") is True

    type_text(dialog.password_edit, site.password)
    with qtbot.waitSignal(dialog.unlocked, timeout=WAIT_MS) as opened:
        qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    session = opened.args[0]
    try:
        assert isinstance(session, Session)
        assert session.user.name == site.admin
        assert not dialog.password_error.isVisible()
    finally:
        session.close()


def test_a_full_disk_is_said_at_unlock_and_the_login_then_works(
    small_disk: SmallDisk, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    data = small_disk.path / "site"
    session, _recovery = Session.create_site(data, "Site", "admin", PASSWORD, FAST_KDF)
    session.close()
    filler = small_disk.fill()
    dialog = UnlockDialog(data, "Vault", runner)
    _show(qtbot, dialog)
    type_text(dialog.user_edit, "admin")
    type_text(dialog.password_edit, PASSWORD)
    qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.password_error.isVisible(), timeout=WAIT_MS)
    assert dialog.password_error.text() == (
        "The disk that holds the vault is full: nothing was changed. Free some space, then try"
        " again."
    )
    assert dialog.password_edit.text() == PASSWORD  # nothing to retype once there is room

    filler.unlink()
    with qtbot.waitSignal(dialog.unlocked, timeout=WAIT_MS) as opened:
        qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    opened.args[0].close()


def test_empty_user_name_is_asked_for(site: Site, runner: TaskRunner, qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = UnlockDialog(site.data, "Vault", runner)
    _show(qtbot, dialog)
    qtbot.keyClick(dialog.user_edit, Qt.Key.Key_Return)
    assert dialog.user_error.isVisible()
    assert focused() is dialog.user_edit
    assert runner.idle()


def test_demo_login_is_shown_and_prefilled(site: Site, runner: TaskRunner, qtbot) -> None:  # type: ignore[no-untyped-def]
    login = parse_demo_login("demo:haven-demo-2026")
    assert login == ("demo", "haven-demo-2026")
    assert parse_demo_login("no-colon") is None
    dialog = UnlockDialog(site.data, "Vault", runner, login)
    _show(qtbot, dialog)
    hint = dialog.findChild(type(dialog.status), "demo_login")
    assert hint is not None
    assert "haven-demo-2026" in hint.text()
    assert dialog.user_edit.text() == "demo"
    assert focused() is dialog.password_edit


def test_first_run_creates_the_site_and_shows_the_key_once(
    tmp_path: Path, fast_kdf: KdfParams, qtbot  # type: ignore[no-untyped-def]
) -> None:
    runner = TaskRunner()
    data = tmp_path / "new-site"
    dialog = FirstRunDialog(data, runner, fast_kdf)
    _show(qtbot, dialog)
    assert focused() is dialog.site_edit
    for text in ("North desk", "chief", "long enough pw"):
        type_text(focused(), text)
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    type_text(focused(), "long enough typo")
    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    repeat_error = dialog.errors.label("repeat")
    assert repeat_error is not None
    assert repeat_error.isVisible()
    assert focused() is dialog.repeat_edit
    assert dialog.site_edit.text() == "North desk"
    assert dialog.password_edit.text() == "long enough pw"

    type_text(dialog.repeat_edit, "long enough pw")
    with qtbot.waitSignal(dialog.created, timeout=WAIT_MS) as created:
        qtbot.keyClick(dialog.repeat_edit, Qt.Key.Key_Return)
    session, recovery_key = created.args
    try:
        assert session.site.name == "North desk"
        assert session.user.name == "chief"
        key_dialog = RecoveryKeyDialog(recovery_key)
        _show(qtbot, key_dialog)
        shown = key_dialog.key_label.text().replace("\n", "-")
        assert shown == recovery_key
        assert not key_dialog.continue_button.isEnabled()
        key_dialog.reject()  # Escape must not skip the key
        assert key_dialog.isVisible()
        qtbot.keyClick(key_dialog.written, Qt.Key.Key_Space)
        assert key_dialog.continue_button.isEnabled()
    finally:
        runner.wait_for_done()
        session.close()


def test_app_starts_with_the_unlock_dialog_when_a_vault_exists(
    site: Site, qtbot  # type: ignore[no-untyped-def]
) -> None:
    app = DeskApp(site.data, demo_login=("admin", site.password))
    app.start()
    dialog = app.start_dialog
    assert isinstance(dialog, UnlockDialog)
    qtbot.addWidget(dialog)
    type_text(dialog.password_edit, site.password)
    qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: app.window is not None, timeout=WAIT_MS)
    window = app.window
    assert window is not None
    qtbot.addWidget(window)
    assert window.windowTitle().startswith("Haven")
    qtbot.waitUntil(app.runner.idle, timeout=WAIT_MS)
    window.close_without_asking()
    app.shutdown()


def test_a_slow_unlock_says_why(tmp_path: Path, runner: TaskRunner, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A real slow unlock: the KDF cost of a production vault (about a second here).
    kdf = KdfParams(memory_kib=256 * 1024, iterations=3, lanes=4)
    session, _ = Session.create_site(tmp_path / "slow", "Slow", "admin", "pw pw pw pw 12", kdf)
    session.close()
    monkeypatch.setattr(UnlockDialog, "SLOW_HINT_MS", 100)
    dialog = UnlockDialog(tmp_path / "slow", "Slow", runner)
    _show(qtbot, dialog)
    type_text(dialog.user_edit, "admin")
    type_text(dialog.password_edit, "pw pw pw pw 12")
    with qtbot.waitSignal(dialog.unlocked, timeout=WAIT_MS) as opened:
        qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
        assert dialog.status.text() == "Unlocking the vault…"
        qtbot.waitUntil(lambda: "Still unlocking" in dialog.status.text(), timeout=WAIT_MS)
        assert dialog.busy.isVisible()
    opened.args[0].close()
    assert dialog.status.text() == ""
