"""Synthetic demo cases: realistic Ukrainian and Russian names, groups, every status."""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from db import audit, cases, users
from db.records import (
    CaseKind,
    Channel,
    ContactEntry,
    ContactStage,
    Mobilization,
    NewCase,
    Outcome,
    Person,
    Status,
    StatusChange,
)
from db.vault import now_utc
from desktop import refcode
from desktop.permissions import Action, require
from desktop.session import Session, hlc_stamp

BATCH = 2000

SURNAMES_UK = [
    "Коваленко",
    "Шевченко",
    "Бондаренко",
    "Ткаченко",
    "Кравченко",
    "Олійник",
    "Шевчук",
    "Поліщук",
    "Бойко",
    "Мельник",
    "Лисенко",
    "Марченко",
    "Руденко",
    "Савченко",
    "Петренко",
    "Мороз",
    "Павленко",
    "Кузьменко",
    "Клименко",
    "Гончаренко",
    "Іваненко",
    "Харченко",
    "Сидоренко",
    "Захарченко",
    "Литвиненко",
    "Романенко",
    "Яковенко",
    "Гнатюк",
    "Костенко",
    "Федоренко",
]
SURNAMES_RU = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьёв",
]
GIVEN_UK = [
    "Олександр",
    "Андрій",
    "Сергій",
    "Дмитро",
    "Іван",
    "Микола",
    "Володимир",
    "Олег",
    "Юрій",
    "Віктор",
    "Петро",
    "Тарас",
    "Богдан",
    "Євген",
    "Максим",
    "Артем",
    "Григорій",
    "Василь",
    "Роман",
    "Ярослав",
    "Марʼяна",
    "Оксана",
    "Наталія",
    "Ірина",
]
GIVEN_RU = [
    "Александр",
    "Алексей",
    "Сергей",
    "Дмитрий",
    "Иван",
    "Николай",
    "Владимир",
    "Олег",
    "Юрий",
    "Виктор",
    "Пётр",
    "Андрей",
    "Максим",
    "Евгений",
    "Артём",
    "Григорий",
    "Василий",
    "Роман",
    "Михаил",
    "Павел",
    "Денис",
    "Антон",
    "Кирилл",
    "Игорь",
]
PATRONYMICS_UK = [
    "Олександрович",
    "Іванович",
    "Петрович",
    "Миколайович",
    "Сергійович",
    "Васильович",
]
PATRONYMICS_RU = ["Александрович", "Иванович", "Петрович", "Николаевич", "Сергеевич", "Васильевич"]
RANKS = ("рядовий", "молодший сержант", "сержант", "старший солдат", "лейтенант", "капітан", None)
UNITS = (*tuple(f"в/ч {n}" for n in (11931, 29760, 35390, 41450, 52892, 61899, 73612, 85306)), None)
PLACES = (
    "Херсонська обл.",
    "Запорізька обл.",
    "Донецька обл.",
    "Бєлгородська обл.",
    "Курська обл.",
    "Луганська обл.",
    "Брянська обл.",
)
MEETING_POINTS = ("Пункт А «Береза»", "Пункт Б «Дуб»", "Пункт В «Явір»", "Пункт Г «Липа»")
RECEIVING_UNITS = ("Група приймання 1", "Група приймання 2", "Група приймання 3")
CONDITIONS = ("задовільний", "поранений, може йти", "виснажений", "потребує медичної допомоги")

# Lifecycle stage reached, by share of cases (the rest of kinds and exits come below).
_STAGES = (
    (Status.REGISTERED, 0.30),
    (Status.CONFIRMED, 0.15),
    (Status.HANDOFF_ARRANGED, 0.10),
    (Status.HANDED_OFF, 0.08),
    (Status.CLOSED, 0.27),
    (Status.WITHDRAWN, 0.07),
    (Status.DUPLICATE, 0.03),
)
_PATH = (
    Status.REGISTERED,
    Status.CONFIRMED,
    Status.HANDOFF_ARRANGED,
    Status.HANDED_OFF,
    Status.CLOSED,
)


def _person(rng: random.Random) -> Person:
    if rng.random() < 0.55:
        surname, given, patronymic = (
            rng.choice(SURNAMES_UK),
            rng.choice(GIVEN_UK),
            rng.choice(PATRONYMICS_UK),
        )
    else:
        surname, given, patronymic = (
            rng.choice(SURNAMES_RU),
            rng.choice(GIVEN_RU),
            rng.choice(PATRONYMICS_RU),
        )
    name = f"{surname} {given}" + (f" {patronymic}" if rng.random() < 0.6 else "")
    born = f"{rng.randint(1965, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    phone = None
    if rng.random() < 0.7:
        prefix = rng.choice(("+38067", "+38050", "+38093", "+7916", "+7903", "+7985"))
        phone = prefix + "".join(str(rng.randint(0, 9)) for _ in range(7))
    return Person(
        full_name=name,
        birth_date=born,
        phone=phone,
        rank=rng.choice(RANKS),
        unit=rng.choice(UNITS),
        mobilization=rng.choice(tuple(Mobilization)),
        notes=rng.choice((None, None, "шрам на лівій руці", "окуляри", "татуювання на плечі")),
    )


def _group_size(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.75:
        return 1
    if roll < 0.93:
        return rng.randint(2, 4)
    return rng.randint(5, 12)


def _final_status(rng: random.Random) -> Status:
    roll = rng.random()
    for status, share in _STAGES:
        if roll < share:
            return status
        roll -= share
    return Status.CLOSED


_EVERY_STATUS = tuple(Status)


_SPAN = timedelta(days=60)  # demo cases were created over the last 60 days


def make_demo_cases(
    session: Session, count: int, seed: int, progress: Callable[[str], None] | None = None
) -> None:
    """Add `count` synthetic cases, committing in batches and reporting each commit."""
    require(session.role, Action.MAKE_DEMO_DATA)
    rng = random.Random(seed)
    # scrypt per case would take hours for a million cases; demo cases share a few codewords.
    pool = []
    for _ in range(8):
        word = refcode.new_codeword(rng)
        salt = secrets.token_bytes(16)
        pool.append((salt, refcode.codeword_digest(word, salt)))
    site = session.site
    with session.vault.transaction() as conn:
        if not users.site_places(conn, "meeting_point"):
            users.set_site_places(conn, "meeting_point", list(MEETING_POINTS))
            users.set_site_places(conn, "receiving_unit", list(RECEIVING_UNITS))
    done = 0
    start = now_utc() - _SPAN
    original: str | None = None  # the case a duplicate names: the last one that is none
    while done < count:
        batch = min(BATCH, count - done)
        with session.vault.transaction() as conn:
            used: set[str] = set()
            for index in range(done, done + batch):
                # The first cases take every status once, so a small demo shows them all.
                every = _EVERY_STATUS[index] if index < len(_EVERY_STATUS) else None
                original = _insert_one(
                    conn, rng, session.user.name, site.site_id, site.ref_prefix, pool, start, used,
                    every, original,
                )
            audit.append(conn, session.user.name, "demo_cases_added", detail=str(batch))
        done += batch
        if progress is not None:
            progress(f"committed {done} cases")


def _insert_one(
    conn: Any,
    rng: random.Random,
    operator: str,
    site_id: str,
    prefix: str,
    pool: list[tuple[bytes, bytes]],
    start: datetime,
    used: set[str],
    status: Status | None = None,
    original: str | None = None,
) -> str | None:
    """One synthetic case, in ``status`` if given, else in one drawn at random; a duplicate
    names ``original`` (else it is withdrawn). Returns the case a later duplicate names."""
    consultation = status is None and rng.random() < 0.12
    final = status or _final_status(rng)
    if consultation and final not in (Status.REGISTERED, Status.CLOSED):
        final = Status.CLOSED
    if final == Status.DUPLICATE and original is None:
        final = Status.WITHDRAWN
    persons = tuple(_person(rng) for _ in range(1 if consultation else _group_size(rng)))
    created = start + timedelta(seconds=rng.randint(0, int(_SPAN.total_seconds())))
    while True:
        ref = refcode.new_reference(prefix, rng)
        if ref not in used and not cases.ref_exists(conn, ref):
            used.add(ref)
            break
    salt, digest = rng.choice(pool)
    case_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
    channel = rng.choice(tuple(Channel))
    new = NewCase(
        kind=CaseKind.CONSULTATION
        if consultation
        else rng.choice((CaseKind.SURRENDER,) * 9 + (CaseKind.OTHER,)),
        channel=channel,
        persons=persons,
        location=rng.choice(PLACES),
        callback=persons[0].phone,
        notes=None,
    )
    cases.insert_case(
        conn,
        new,
        cases.CaseInsert(
            id=case_id,
            ref=ref,
            codeword_salt=salt,
            codeword_digest=digest,
            created_at=created,
            created_by=operator,
            origin_site=site_id,
            hlc=hlc_stamp(created, site_id),
        ),
    )
    cases.add_contact(
        conn,
        ContactEntry(
            case_id, created, channel, operator, ContactStage.FIRST_CONTACT, "перший контакт"
        ),
    )
    moment = created
    previous = Status.REGISTERED
    steps: list[tuple[Status, dict[str, Any]]] = []
    if consultation:
        if final == Status.CLOSED:
            steps.append((Status.CLOSED, {"outcome_notes": "надано консультацію"}))
    elif final == Status.WITHDRAWN:
        steps.append((final, {"reason": "абонент відмовився"}))
    elif final == Status.DUPLICATE:
        steps.append((final, {"duplicate_of": original, "reason": "повторне звернення"}))
    else:
        for status in _PATH[1 : _PATH.index(final) + 1]:
            steps.append((status, _fields_for(status, rng, moment, len(persons))))
    for status, fields in steps:
        # A case made lately has its later steps when the demo began at the latest (60 days
        # after ``start``), never in the future.
        moment = min(moment + timedelta(hours=rng.randint(2, 96)), start + _SPAN)
        stage = ContactStage.CONFIRMATION if status == Status.CONFIRMED else ContactStage.FOLLOW_UP
        if status in (Status.CONFIRMED, Status.HANDOFF_ARRANGED):
            cases.add_contact(
                conn, ContactEntry(case_id, moment, channel, operator, stage, "повторний контакт")
            )
        # As a transition at the desk records it: received_by goes into the history only.
        case_fields = {k: v for k, v in fields.items() if k != "received_by"}
        cases.update_fields(conn, case_id, case_fields, moment, by=operator)
        cases.set_status(
            conn,
            case_id,
            StatusChange(
                case_id, previous, status, moment, operator, {k: str(v) for k, v in fields.items()}
            ),
        )
        previous = status
    return None if final == Status.DUPLICATE else case_id


def _fields_for(status: Status, rng: random.Random, moment: datetime, size: int) -> dict[str, Any]:
    if status == Status.CONFIRMED:
        return {
            "location": rng.choice(PLACES),
            "group_size": size,
            "condition": rng.choice(CONDITIONS),
        }
    if status == Status.HANDOFF_ARRANGED:
        begin = moment + timedelta(days=rng.randint(1, 3))
        return {
            "meeting_point": rng.choice(MEETING_POINTS),
            "receiving_unit": rng.choice(RECEIVING_UNITS),
            "window_start": begin,
            "window_end": begin + timedelta(hours=2),
        }
    if status == Status.HANDED_OFF:
        # Who signed for them; no draw from rng, so the cases after it stay as they were.
        return {"received_by": RECEIVING_UNITS[size % len(RECEIVING_UNITS)]}
    if status == Status.CLOSED:
        return {"outcome": rng.choice(tuple(Outcome))}
    return {}
