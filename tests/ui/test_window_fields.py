"""The meeting window is typed from the keyboard: one Tab per field, the hour first, and a
window that has already ended is refused next to its field."""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QDateTime, QPoint, Qt
from PySide6.QtWidgets import QApplication, QDateTimeEdit

from db.records import Status
from desktop.workflow import TRANSITIONS
from tests.ui.conftest import focused, type_text
from ui.transition_form import TransitionForm

ARRANGE = next(t for t in TRANSITIONS if t.target == Status.HANDOFF_ARRANGED)


def _form(qtbot) -> TransitionForm:  # type: ignore[no-untyped-def]
    form = TransitionForm(ARRANGE, {"meeting_point": [], "receiving_unit": []})
    qtbot.addWidget(form)
    form.show()
    form.activateWindow()
    qtbot.waitActive(form)
    return form


def test_tab_goes_from_field_to_field_and_typing_starts_at_the_hour(qtbot) -> None:  # type: ignore[no-untyped-def]
    form = _form(qtbot)
    form.fields["receiving_unit"].setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is form.fields["receiving_unit"])
    start, end = form.fields["window_start"], form.fields["window_end"]
    assert isinstance(start, QDateTimeEdit)
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused() is start
    assert start.currentSection() == QDateTimeEdit.Section.HourSection
    day = start.date()
    type_text(start, "2315")
    assert start.time().hour() == 23
    assert start.time().minute() == 15
    assert start.date() == day
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused() is end  # one Tab, not one per part of the date
    qtbot.keyClick(focused(), Qt.Key.Key_Backtab)
    assert focused() is start


def test_a_window_that_has_ended_is_refused_next_to_its_end(qtbot) -> None:  # type: ignore[no-untyped-def]
    form = _form(qtbot)
    for name in ("meeting_point", "receiving_unit"):
        form.fields[name].setEditText("Point Oak")  # type: ignore[attr-defined]
    end = form.fields["window_end"]
    assert isinstance(end, QDateTimeEdit)
    assert form.check_required()  # the default window lies ahead
    yesterday = datetime.now().astimezone() - timedelta(days=1)
    end.setDateTime(QDateTime(yesterday))
    assert not form.check_required()
    error = form.errors.label("window_end")
    assert error is not None
    assert error.text() == "This time has already passed; check the date and the hour."
    qtbot.waitUntil(lambda: QApplication.focusWidget() is end)
    end.setDateTime(QDateTime(yesterday + timedelta(days=2)))
    assert form.check_required()


def test_after_a_refusal_the_hour_is_retyped_and_page_keys_change_the_day(qtbot) -> None:  # type: ignore[no-untyped-def]
    form = _form(qtbot)
    for name in ("meeting_point", "receiving_unit"):
        form.fields[name].setEditText("Point Oak")  # type: ignore[attr-defined]
    start, end = form.fields["window_start"], form.fields["window_end"]
    assert isinstance(start, QDateTimeEdit)
    assert isinstance(end, QDateTimeEdit)
    now = datetime.now().astimezone().replace(second=0, microsecond=0)
    start.setDateTime(QDateTime(now - timedelta(hours=3)))
    end.setDateTime(QDateTime(now - timedelta(hours=2)))
    assert not form.check_required()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is end)
    assert end.currentSection() == QDateTimeEdit.Section.HourSection  # not the whole field
    day = end.date()
    qtbot.keyClick(end, Qt.Key.Key_Up)  # steps the hour, never the year
    assert end.date().year() == day.year()
    before = end.date()
    qtbot.keyClick(end, Qt.Key.Key_PageUp)  # the next day, the hour still chosen
    assert end.date() == before.addDays(1)
    assert end.currentSection() == QDateTimeEdit.Section.HourSection
    # From 3 hours ago to tomorrow: longer than a day, most likely a wrong date.
    assert not form.check_required()
    error = form.errors.label("window_end")
    assert error is not None
    assert error.text() == "The window is longer than a day: check the day of both times."
    qtbot.keyClick(end, Qt.Key.Key_PageDown)
    start.setDateTime(QDateTime(now + timedelta(hours=1)))
    end.setDateTime(QDateTime(now + timedelta(hours=3)))
    assert form.check_required()


def _focused_start(qtbot) -> tuple[TransitionForm, QDateTimeEdit]:  # type: ignore[no-untyped-def]
    """A form, and its window's start with the keyboard focus."""
    form = _form(qtbot)
    start = form.fields["window_start"]
    assert isinstance(start, QDateTimeEdit)
    start.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is start)
    return form, start


def test_f4_opens_the_calendar_where_the_arrows_and_enter_pick_a_day(qtbot) -> None:  # type: ignore[no-untyped-def]
    _form_kept, start = _focused_start(qtbot)
    day, time = start.date(), start.time()

    qtbot.keyClick(start, Qt.Key.Key_F4)
    calendar = start.calendarWidget()
    assert calendar.window().isVisible()
    assert calendar.selectedDate() == day
    qtbot.keyClick(focused(), Qt.Key.Key_Right)
    qtbot.keyClick(focused(), Qt.Key.Key_Right)
    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not calendar.window().isVisible())
    assert start.date() == day.addDays(2)
    assert start.time() == time  # the hour typed stays
    assert focused() is start

    qtbot.keyClick(start, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert calendar.window().isVisible()
    qtbot.keyClick(focused(), Qt.Key.Key_Right)
    qtbot.keyClick(focused(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not calendar.window().isVisible())
    qtbot.waitUntil(lambda: start.date() == day.addDays(2))  # Esc puts back the day there was
    qtbot.wait(50)
    assert start.date() == day.addDays(2)
    assert start.time() == time


def test_2400_is_midnight_at_the_end_of_the_day(qtbot) -> None:  # type: ignore[no-untyped-def]
    _form_kept, start = _focused_start(qtbot)
    day = start.date()
    type_text(start, "2400")
    assert (start.date(), start.time().hour(), start.time().minute()) == (day.addDays(1), 0, 0)

    qtbot.keyClick(start, Qt.Key.Key_PageDown)  # back to the day it was
    start.selectAll()
    type_text(start, "2359")
    assert (start.date(), start.time().hour(), start.time().minute()) == (day, 23, 59)

    start.selectAll()
    type_text(start, "2430")  # no such time: the 3 is refused, the minutes stay 00
    assert (start.date(), start.time().hour(), start.time().minute()) == (day.addDays(1), 0, 0)

    # 24 typed, then Tab away and back: the time is typed anew, any digits.
    start.selectAll()
    type_text(start, "24")
    qtbot.keyClick(start, Qt.Key.Key_Tab)
    qtbot.keyClick(focused(), Qt.Key.Key_Backtab)
    assert focused() is start
    type_text(start, "1530")
    assert (start.time().hour(), start.time().minute()) == (15, 30)


def test_esc_puts_back_the_day_in_a_calendar_opened_by_a_click(qtbot) -> None:  # type: ignore[no-untyped-def]
    _form_kept, start = _focused_start(qtbot)
    day = start.date()
    arrow = QPoint(start.width() - 4, start.height() // 2)
    qtbot.mouseClick(start, Qt.MouseButton.LeftButton, pos=arrow)
    calendar = start.calendarWidget()
    qtbot.waitUntil(lambda: calendar.window().isVisible())
    calendar.setFocus()
    qtbot.keyClick(focused(), Qt.Key.Key_Right)
    qtbot.keyClick(focused(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not calendar.window().isVisible())
    qtbot.waitUntil(lambda: start.date() == day)


def test_the_room_of_a_mended_error_is_given_back(qtbot) -> None:  # type: ignore[no-untyped-def]
    form = _form(qtbot)
    for name in ("meeting_point", "receiving_unit"):
        form.fields[name].setEditText("Point Oak")  # type: ignore[attr-defined]
    form.resize(form.sizeHint())
    qtbot.wait(20)
    before = form.height()
    end = form.fields["window_end"]
    assert isinstance(end, QDateTimeEdit)
    yesterday = datetime.now().astimezone() - timedelta(days=1)
    end.setDateTime(QDateTime(yesterday))
    assert not form.check_required()
    assert form.height() > before  # the message is shown whole, not clipped
    end.setDateTime(QDateTime(yesterday + timedelta(days=2)))
    assert form.check_required()
    assert form.height() == before
