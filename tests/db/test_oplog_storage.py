"""A case's op array is stored compressed, read back exactly, and old text arrays still read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db import cases, oplog
from db.records import Channel, ContactEntry, ContactStage
from tests.desktop.transfer.sites import HavenSite, make_site, new_case

_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.lists(st.dictionaries(st.text(), _values, max_size=6), min_size=1, max_size=8))
def test_any_array_comes_back_byte_for_byte(ops: list[dict[str, object]]) -> None:
    array = oplog.canonical_json(ops).encode("utf-8")
    packed = oplog.pack_ops(array)
    assert oplog.unpack_ops(packed) == array


def test_an_unknown_stored_form_is_refused() -> None:
    packed = oplog.pack_ops(b'[{"kind":"create"}]')
    with pytest.raises(ValueError, match="format"):
        oplog.unpack_ops(b"\x02" + packed[1:])


@pytest.fixture
def site(tmp_path: Path) -> Iterator[HavenSite]:
    site = make_site(tmp_path, "north")
    yield site
    site.close()


def _stored(site: HavenSite, case_id: str) -> tuple[str, int]:
    with site.session.vault.reading() as conn:
        kind, size = conn.execute(
            "SELECT typeof(ops), length(ops) FROM case_ops WHERE case_id = ?", (case_id,)
        ).fetchone()
    return str(kind), int(size)


def _add_contact(site: HavenSite, case_id: str, summary: str) -> None:
    with site.session.vault.transaction() as conn:
        cases.add_contact(conn, ContactEntry(case_id, datetime(2026, 11, 27, 3, 0, tzinfo=UTC),
                                             Channel.PHONE, "admin", ContactStage.FOLLOW_UP,
                                             summary))


def test_a_case_s_ops_are_stored_compressed_and_edits_append(site: HavenSite) -> None:
    case_id = new_case(site, "Коваленко Андрій Петрович", "+380671112233")
    for number in range(3):
        _add_contact(site, case_id, f"дзвінок {number}: домовилися про місце зустрічі")
    with site.session.vault.reading() as conn:
        ops = oplog.ops_for_case(conn, case_id)
    # Registering a case logs its first contact too.
    assert [op.kind for op in ops] == ["create", "contact", "contact", "contact", "contact"]
    assert [op.values.get("summary") for op in ops[2:]] == [
        f"дзвінок {n}: домовилися про місце зустрічі" for n in range(3)
    ]
    kind, size = _stored(site, case_id)
    assert kind == "blob"
    assert size < len(oplog.ops_json(ops).encode("utf-8")) / 2


def test_an_array_stored_as_text_is_read_and_edited(site: HavenSite) -> None:
    case_id = new_case(site)
    with site.session.vault.transaction() as conn:
        text = oplog.ops_json(oplog.ops_for_case(conn, case_id))
        conn.execute("UPDATE case_ops SET ops = ? WHERE case_id = ?", (text, case_id))
    assert _stored(site, case_id)[0] == "text"  # as schema 2's upgrade wrote them

    _add_contact(site, case_id, "повторний дзвінок")

    with site.session.vault.reading() as conn:
        ops = oplog.ops_for_case(conn, case_id)
        exported = dict(oplog.cases_after(conn, 0, oplog.last_lseq(conn)))
    assert [op.kind for op in ops] == ["create", "contact", "contact"]
    assert ops[-1].values["summary"] == "повторний дзвінок"
    assert json.loads(exported[case_id]) == json.loads(oplog.ops_json(ops))
    assert _stored(site, case_id)[0] == "blob"
