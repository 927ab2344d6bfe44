"""Intake errors land next to their field, with the focus there, and nothing typed is lost."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from db.records import CaseKind, Channel, NewCase, Person
from tests.conftest import Site, SmallDisk
from tests.ui.conftest import WAIT_MS, focused, type_text
from tests.ui.test_case_flow import CTRL, open_intake
from ui.main_window import MainWindow
from ui.tasks import TaskRunner


def test_an_empty_name_is_refused_next_to_the_field(
    desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    intake = open_intake(qtbot, desk)
    person = intake.persons[0]
    type_text(person.edits["phone"], "+380671112233")
    type_text(intake.location_edit, "Zaporizhzhia oblast")
    qtbot.keyClick(intake.location_edit, Qt.Key.Key_Return, CTRL)

    error = intake.errors.label("persons[0].full_name")
    assert error is not None
    assert error.isVisible()
    assert error.text() == "Required."
    assert focused() is person.edits["full_name"]
    assert person.edits["phone"].text() == "+380671112233"
    assert intake.location_edit.text() == "Zaporizhzhia oblast"
    assert intake.pages.currentIndex() == 0
    assert runner.idle()  # nothing was sent to the vault


def _second_person(qtbot, intake):  # type: ignore[no-untyped-def]
    """Шевчук Олег, then by Ctrl+Shift+P a second person, Шевчук Іван; the second's form."""
    type_text(intake.persons[0].edits["full_name"], "Шевчук Олег")
    qtbot.keyClick(focused(), Qt.Key.Key_P, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert len(intake.persons) == 2
    second = intake.persons[1]
    assert focused() is second.edits["full_name"]
    type_text(second.edits["full_name"], "Шевчук Іван")
    return second


def test_a_bad_birth_date_of_the_second_person_is_shown_there(
    desk: MainWindow, qtbot  # type: ignore[no-untyped-def]
) -> None:
    intake = open_intake(qtbot, desk)
    second = _second_person(qtbot, intake)
    type_text(second.edits["birth_date"], "31.02.1990")
    qtbot.keyClick(focused(), Qt.Key.Key_Return, CTRL)

    error = intake.errors.label("persons[1].birth_date")
    assert error is not None
    assert error.isVisible()
    assert error.text() == "There is no such day; check the day and the month."
    assert focused() is second.edits["birth_date"]
    assert second.edits["birth_date"].text() == "31.02.1990"
    assert intake.persons[0].edits["full_name"].text() == "Шевчук Олег"


def test_every_bad_field_is_shown_at_once_with_the_focus_on_the_first(
    desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    intake = open_intake(qtbot, desk)
    second = _second_person(qtbot, intake)
    first = intake.persons[0]
    type_text(first.edits["phone"], "12")
    type_text(second.edits["birth_date"], "31.02.1990")
    type_text(intake.callback_edit, "x" * 201)
    qtbot.keyClick(focused(), Qt.Key.Key_Return, CTRL)

    shown = {
        key: label.text()
        for key in ("persons[0].full_name", "persons[0].phone", "persons[1].full_name",
                    "persons[1].birth_date", "location", "callback")
        if (label := intake.errors.label(key)) is not None and label.isVisible()
    }
    assert set(shown) == {"persons[0].phone", "persons[1].birth_date", "callback"}
    assert shown["persons[1].birth_date"] == "There is no such day; check the day and the month."
    assert focused() is first.edits["phone"]  # the first on the form, top to bottom
    assert runner.idle()  # nothing was sent to the vault

    # Mending one field takes its message away; the others stay until they are mended.
    first.edits["phone"].selectAll()
    type_text(first.edits["phone"], "+380671112233")
    assert not intake.errors.label("persons[0].phone").isVisible()
    assert intake.errors.label("persons[1].birth_date").isVisible()
    assert intake.errors.label("callback").isVisible()


def test_a_phone_with_an_extension_is_refused_with_what_to_do(
    desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    intake = open_intake(qtbot, desk)
    person = intake.persons[0]
    type_text(person.edits["full_name"], "Шевчук Олег")
    type_text(person.edits["phone"], "044 123 45 67 доб. 2")
    qtbot.keyClick(focused(), Qt.Key.Key_Return, CTRL)

    error = intake.errors.label("persons[0].phone")
    assert error is not None
    assert error.isVisible()
    assert error.text() == (
        "An extension cannot be stored with the number: enter the number alone and write"
        " the extension in the notes."
    )
    assert focused() is person.edits["phone"]
    assert person.edits["phone"].text() == "044 123 45 67 доб. 2"
    assert runner.idle()  # nothing was sent to the vault


def test_possible_duplicates_appear_while_typing(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    earlier = site.session.register_case(NewCase(
        kind=CaseKind.SURRENDER, channel=Channel.PHONE,
        persons=(Person(full_name="Мельник Богдан", birth_date="1988-03-04",
                        phone="+380501234567"),),
    ))
    intake = open_intake(qtbot, desk)
    type_text(intake.persons[0].edits["phone"], "+380 50 123 45 67")
    qtbot.waitUntil(lambda: intake.duplicates_list.count() == 1, timeout=WAIT_MS)
    text = intake.duplicates_list.item(0).text()
    assert earlier.ref in text
    assert "same phone" in text
    # From the keyboard: Ctrl+D goes to the list, Enter opens the case beside the intake.
    qtbot.keyClick(focused(), Qt.Key.Key_D, CTRL)
    assert focused() is intake.duplicates_list
    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: [v.case_id for v in desk.case_views()] == [earlier.case_id],
                    timeout=WAIT_MS)
    assert intake.persons[0].edits["phone"].text() == "+380 50 123 45 67"
    # The case came up in the desk; Ctrl+I goes back to the intake, where it was left.
    desk.activateWindow()
    qtbot.waitUntil(desk.isActiveWindow, timeout=WAIT_MS)
    qtbot.keyClick(desk, Qt.Key.Key_I, CTRL)
    qtbot.waitUntil(intake.isActiveWindow, timeout=WAIT_MS)
    assert focused() is intake.duplicates_list


def test_in_a_group_each_possible_duplicate_says_which_person_it_is_like(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    by_name = site.session.register_case(NewCase(
        kind=CaseKind.SURRENDER, channel=Channel.PHONE,
        persons=(Person(full_name="Пʼятницький Ігор Олегович", birth_date="1990-05-12"),),
    )).ref
    by_phone = site.session.register_case(NewCase(
        kind=CaseKind.SURRENDER, channel=Channel.PHONE,
        persons=(Person(full_name="Шевченко Василь", phone="+380671560047"),),
    )).ref
    intake = open_intake(qtbot, desk)
    # Two of the group born the same day; the first one called before, the third one's
    # phone is in another case.
    for number, (name, born, phone) in enumerate((
        ("Pyatnytskyi Ihor", "12.05.1990", ""),
        ("Дзюба-Квітчинська Олександра", "12.05.1990", ""),
        ("«Малий»", "", "067 156 00 47"),
    )):
        if number:
            qtbot.keyClick(focused(), Qt.Key.Key_P, CTRL | Qt.KeyboardModifier.ShiftModifier)
        person = intake.persons[number]
        for field, text in (("full_name", name), ("birth_date", born), ("phone", phone)):
            type_text(person.edits[field], text)
    qtbot.waitUntil(lambda: intake.duplicates_list.count() == 2 and runner.idle(),
                    timeout=WAIT_MS)
    hints = [intake.duplicates_list.item(row).text() for row in range(2)]
    assert hints[0].startswith(f"Person 1: {by_name} · ")
    assert "similar name, same birth date" in hints[0]
    assert hints[1].startswith(f"Person 3: {by_phone} · Шевченко Василь")
    assert "same phone" in hints[1]


def test_the_result_page_says_who_of_the_group_was_registered(
    desk: MainWindow, qtbot  # type: ignore[no-untyped-def]
) -> None:
    intake = open_intake(qtbot, desk)
    names = ("Шевчук-Ярошенко Олег Дмитрович", "Д'яченко Юрій", "«Малий»")
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)  # past the kind and the channel
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    for number, name in enumerate(names):
        if number:
            qtbot.keyClick(focused(), Qt.Key.Key_P, CTRL | Qt.KeyboardModifier.ShiftModifier)
        type_text(focused(), name)
    # One block too many, added by mistake and left empty: it is not saved.
    qtbot.keyClick(focused(), Qt.Key.Key_P, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert len(intake.persons) == 4
    with qtbot.waitSignal(intake.registered, timeout=WAIT_MS):
        qtbot.keyClick(focused(), Qt.Key.Key_Return, CTRL)
    shown = intake.findChild(QLabel, "result_persons")
    assert shown is not None
    assert shown.isVisible()
    assert shown.text() == ("3 persons registered: Шевчук-Ярошенко Олег Дмитрович;"
                            " Д'яченко Юрій; «Малий»")


def test_ctrl_f_in_the_intake_searches_the_desk_and_ctrl_i_comes_back(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    earlier = site.session.register_case(NewCase(
        kind=CaseKind.SURRENDER, channel=Channel.PHONE,
        persons=(Person(full_name="Пʼятницький Ігор"),))).ref
    intake = open_intake(qtbot, desk)
    name = intake.persons[0].edits["full_name"]
    name.setFocus()
    type_text(name, "Пʼятницький Іг")
    # The caller says he called before and reads a reference: look it up mid-intake.
    qtbot.keyClick(focused(), Qt.Key.Key_F, CTRL)
    qtbot.waitUntil(lambda: desk.isActiveWindow() and focused() is desk.queue.search_edit,
                    timeout=WAIT_MS)
    type_text(focused(), earlier[3:])
    qtbot.waitUntil(lambda: desk.queue.search_model.rowCount() == 1 and runner.idle(),
                    timeout=WAIT_MS)
    assert intake.isVisible()
    qtbot.keyClick(focused(), Qt.Key.Key_I, CTRL)
    qtbot.waitUntil(intake.isActiveWindow, timeout=WAIT_MS)
    assert focused() is name
    assert name.text() == "Пʼятницький Іг"


def test_a_persons_features_are_typed_in_the_intake_and_shown_in_the_case(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    intake = open_intake(qtbot, desk)
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)  # past the kind and the channel
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    type_text(focused(), "«Малий»")  # a call sign is all the caller knows of him
    for _field in ("birth date", "phone", "rank", "unit", "mobilization", "features"):
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused() is intake.persons[0].edits["notes"]
    features = "шрам на лівій щоці, років 20, зелена куртка"
    type_text(focused(), features)
    with qtbot.waitSignal(intake.registered, timeout=WAIT_MS) as registered:
        qtbot.keyClick(focused(), Qt.Key.Key_Return, CTRL)
    case_id = registered.args[0].case_id
    [person] = site.session.get_case(case_id, audit_view=False).persons
    assert (person.full_name, person.notes) == ("«Малий»", features)
    view = desk.open_case(case_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.case is not None and runner.idle(), timeout=WAIT_MS)
    table = view.persons_table
    assert table.item(0, 0).text() == "«Малий»"
    assert table.item(1, 0).text() == f"Features: {features}"  # under him, across the table
    assert table.columnSpan(1, 0) == table.columnCount()


def test_closing_an_unsaved_intake_asks_first(
    desk: MainWindow, qtbot  # type: ignore[no-untyped-def]
) -> None:
    intake = open_intake(qtbot, desk)
    type_text(intake.persons[0].edits["full_name"], "Бойко Тарас")
    asked: list[str] = []

    def answer(button: QMessageBox.StandardButton) -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        asked.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Cancel))
    qtbot.keyClick(intake.persons[0].edits["full_name"], Qt.Key.Key_Escape)
    assert asked
    assert "not saved" in asked[0]
    assert intake.isVisible()
    assert intake.persons[0].edits["full_name"].text() == "Бойко Тарас"

    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Cancel))
    desk.close()
    assert desk.isVisible(), "the window closed over unsaved input"
    assert len(asked) == 2

    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Discard))
    intake.reject()
    assert not intake.isVisible()


def test_an_intake_on_a_full_disk_keeps_what_was_typed_and_saves_once_there_is_room(
    small_disk: SmallDisk, qapp: QApplication, qtbot  # type: ignore[no-untyped-def]
) -> None:
    from desktop.session import Session
    from tests.conftest import FAST_KDF, PASSWORD
    from ui.settings import UiSettings

    data = small_disk.path / "site"
    session, _recovery = Session.create_site(data, "Site", "admin", PASSWORD, FAST_KDF)
    runner = TaskRunner()
    window = MainWindow(session, runner, UiSettings(data))
    try:
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(runner.idle, timeout=WAIT_MS)
        intake = open_intake(qtbot, window)
        type_text(intake.persons[0].edits["full_name"], "Мельник Тарас")
        type_text(intake.location_edit, "Оріхів")
        filler = small_disk.fill()
        qtbot.keyClick(intake.location_edit, Qt.Key.Key_Return, CTRL)
        qtbot.waitUntil(lambda: intake.general_error.isVisible() and runner.idle(),
                        timeout=WAIT_MS)

        assert intake.general_error.text() == (
            "The disk that holds the vault is full: nothing was changed. Free some space,"
            " then try again."
        )
        assert intake.persons[0].edits["full_name"].text() == "Мельник Тарас"
        assert intake.location_edit.text() == "Оріхів"
        assert session.count_cases() == 0

        filler.unlink()
        with qtbot.waitSignal(intake.registered, timeout=WAIT_MS):
            qtbot.keyClick(intake.location_edit, Qt.Key.Key_Return, CTRL)
        [found] = session.search("Мельник")
        assert found.ref
    finally:
        window.close_without_asking()
        runner.cancel_all()
        runner.wait_for_done()
        QApplication.processEvents()
        session.close()


def test_enter_at_remove_person_keeps_what_was_typed(
    desk: MainWindow, qtbot  # type: ignore[no-untyped-def]
) -> None:
    intake = open_intake(qtbot, desk)
    second = _second_person(qtbot, intake)
    answered: list[str] = []

    def press_enter() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        answered.append(box.text())
        qtbot.keyClick(box, Qt.Key.Key_Return)

    QTimer.singleShot(0, press_enter)
    intake.remove_person(second)
    assert answered == ["Remove Шевчук Іван?"]
    assert len(intake.persons) == 2  # a tired Enter does not delete a filled-in person
    assert intake.persons[1].edits["full_name"].text() == "Шевчук Іван"


def test_the_duplicates_list_is_left_by_keyboard_back_to_the_field(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    site.session.register_case(NewCase(
        kind=CaseKind.SURRENDER, channel=Channel.PHONE,
        persons=(Person(full_name="Мельник Богдан", phone="+380501234567"),),
    ))
    intake = open_intake(qtbot, desk)
    phone = intake.persons[0].edits["phone"]
    phone.setFocus()
    qtbot.keyClick(phone, Qt.Key.Key_D, CTRL)  # nothing found yet: it says so
    assert focused() is phone
    assert intake.duplicates_hint.text() == "No possible duplicates so far."
    type_text(phone, "+380 50 123 45 67")
    qtbot.waitUntil(lambda: intake.duplicates_list.count() == 1, timeout=WAIT_MS)
    qtbot.keyClick(phone, Qt.Key.Key_D, CTRL)
    assert focused() is intake.duplicates_list
    qtbot.keyClick(focused(), Qt.Key.Key_Escape)  # back to the field, the intake stays
    assert focused() is phone
    assert intake.isVisible()
    qtbot.keyClick(phone, Qt.Key.Key_D, CTRL)
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused() is phone
    # Once the case is registered the list is gone: Ctrl+D does not reach it.
    type_text(intake.persons[0].edits["full_name"], "Мельник Богдан")
    qtbot.keyClick(focused(), Qt.Key.Key_Return, CTRL)
    qtbot.waitUntil(lambda: intake.pages.currentIndex() == 1 and runner.idle(), timeout=WAIT_MS)
    qtbot.keyClick(focused(), Qt.Key.Key_D, CTRL)
    assert focused() is not intake.duplicates_list


def _registered(qtbot, desk: MainWindow):  # type: ignore[no-untyped-def]
    """An intake of one person saved with Ctrl+Enter: the dialog on its result page, and
    the registration it shows."""
    intake = open_intake(qtbot, desk)
    type_text(intake.persons[0].edits["full_name"], "Мельник Тарас")
    with qtbot.waitSignal(intake.registered, timeout=WAIT_MS) as registered:
        qtbot.keyClick(focused(), Qt.Key.Key_Return, CTRL)
    return intake, registered.args[0]


def test_the_codeword_page_stays_until_the_operator_says_it_was_read_out(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    intake, result = _registered(qtbot, desk)
    codeword = result.codeword
    assert focused() is intake.read_check
    # A tired Enter, Esc or Alt+C right after saving leaves the codeword on the screen.
    for key, modifier in ((Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier),
                          (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
                          (Qt.Key.Key_C, Qt.KeyboardModifier.AltModifier)):
        qtbot.keyClick(focused(), key, modifier)
        assert intake.isVisible()
        assert intake.codeword_label.text() == codeword
    assert desk.has_unsaved_input()  # quitting Haven would ask first
    qtbot.keyClick(focused(), Qt.Key.Key_Space)  # "I have read both to the caller"
    assert intake.read_check.isChecked()
    assert not desk.has_unsaved_input()
    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not desk.intakes, timeout=WAIT_MS)


def test_enter_on_open_the_case_opens_it(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    intake, result = _registered(qtbot, desk)
    qtbot.keyClick(focused(), Qt.Key.Key_Space)
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused() is intake.open_button
    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: (view := desk.current_case()) is not None
                    and view.case_id == result.case_id, timeout=WAIT_MS)


def test_a_birth_date_written_with_the_year_abbreviated_after_it_is_read(
    site: Site, desk: MainWindow, runner: TaskRunner, qtbot  # type: ignore[no-untyped-def]
) -> None:
    intake = open_intake(qtbot, desk)
    person = intake.persons[0]
    type_text(person.edits["full_name"], "Шевчук Олег")
    type_text(person.edits["birth_date"], "12.05.1990р.")
    with qtbot.waitSignal(intake.registered, timeout=WAIT_MS) as registered:
        qtbot.keyClick(focused(), Qt.Key.Key_Return, CTRL)
    case = site.session.get_case(registered.args[0].case_id, audit_view=False)
    assert case.persons[0].birth_date == "1990-05-12"


def test_a_birth_date_in_words_is_told_the_form_not_a_length(
    desk: MainWindow, qtbot  # type: ignore[no-untyped-def]
) -> None:
    intake = open_intake(qtbot, desk)
    type_text(intake.persons[0].edits["full_name"], "Шевчук Олег")
    type_text(intake.persons[0].edits["birth_date"], "12 травня 1990")
    qtbot.keyClick(focused(), Qt.Key.Key_Return, CTRL)
    error = intake.errors.label("persons[0].birth_date")
    assert error is not None
    assert error.text() == "Enter the date as DD.MM.YYYY or YYYY-MM-DD."


def test_a_birth_year_alone_is_told_where_it_goes(
    desk: MainWindow, qtbot  # type: ignore[no-untyped-def]
) -> None:
    intake = open_intake(qtbot, desk)
    type_text(intake.persons[0].edits["full_name"], "«Малий»")
    birth = intake.persons[0].edits["birth_date"]
    type_text(birth, "1990")
    qtbot.keyClick(focused(), Qt.Key.Key_Return, CTRL)
    error = intake.errors.label("persons[0].birth_date")
    assert error is not None
    assert error.text() == (
        "Only the year or the month is known? Leave the date empty and write it under Features.")
    assert focused() is birth
    assert birth.text() == "1990"
