"""The op-log: every change to a case, as the operation that travels between sites.

An op is one of:

- ``create``: a new case with its persons, codeword digest and first field values;
- ``set``: new values for one field group of a case (always the whole group), naming the
  version(s) it replaced as ``parents``; the status is the group ``status``;
- ``contact``: one entry of the contact log;
- ``codeword``: one codeword check.

Its id is the hybrid logical clock stamp of the site that made it (see db.hlc): unique,
and ordered in time. The log keeps one row per case (table ``case_ops``): the case's ops
as a JSON array in stamp order, which is also how a case travels in a transfer file,
and ``lseq``, the position of the case's latest change in this site's order of changes,
which is what acknowledgements between sites count. ``versions`` remembers which op each
edited group shows, so a local edit knows what it replaces without reading the ops.

The array is stored compressed (see :func:`pack_ops`): most of it is keys, stamps and
codes that repeat from op to op, and a vault of a million cases holds it a million times.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import zstandard

from db import hlc

CREATE = "create"
SET = "set"
CONTACT = "contact"
CODEWORD = "codeword"
KINDS = (CREATE, SET, CONTACT, CODEWORD)

STATUS_GROUP = "status"
# Fields that change together are one group, so a meeting point never travels
# without its window; each group merges as one last-writer-wins register.
FIELD_GROUPS: Mapping[str, tuple[str, ...]] = {
    "intake": ("location", "callback", "notes"),
    "confirmation": ("group_size", "condition"),
    "arrangement": ("meeting_point", "receiving_unit", "window_start", "window_end"),
    "outcome": ("outcome", "outcome_notes"),
    "exit": ("duplicate_of", "reason"),
}
GROUPS = (*FIELD_GROUPS, STATUS_GROUP)
# The most versions one ``set`` may replace: the transfer format's limit on its parents,
# and so on the versions of a group in conflict (resolving it replaces all of them).
MAX_PARENTS = 32
GROUP_OF_FIELD: Mapping[str, str] = {
    name: group for group, names in FIELD_GROUPS.items() for name in names
}
CASE_FIELDS = tuple(GROUP_OF_FIELD)


class Op(NamedTuple):
    """One operation of a case; ``values`` holds its kind's fields (see the module docstring).

    A named tuple rather than a dataclass: an import builds a million of them.
    """

    id: str
    case_id: str
    kind: str
    at: str
    by: str | None
    values: Mapping[str, Any]
    group: str | None = None
    parents: tuple[str, ...] = ()

    @property
    def origin(self) -> str:
        """The site that made the op, from its stamp."""
        return self.id.split(":", 2)[2]

    def to_json(self) -> dict[str, Any]:
        """The op as it is stored and travels (its case is said once, beside the array)."""
        document: dict[str, Any] = {
            "op": self.id,
            "kind": self.kind,
            "at": self.at,
            "by": self.by,
            "values": dict(self.values),
        }
        if self.kind == SET:
            document["group"] = self.group
            document["parents"] = list(self.parents)
        return document


# One encoder for every call: json.dumps with options builds a new one each time, which
# costs more than encoding a small value.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text as is."""
    return _CANONICAL.encode(value)


def op_from_json(case_id: str, document: Mapping[str, Any]) -> Op:
    """An op from its stored (or already validated) JSON form."""
    kind = document["kind"]
    if kind == SET:
        return Op(
            document["op"], case_id, kind, document["at"], document.get("by"),
            document["values"], document["group"], tuple(document["parents"]),
        )
    return Op(document["op"], case_id, kind, document["at"], document.get("by"),
              document["values"])


def ops_json(ops: Sequence[Op]) -> str:
    """A case's ops as their JSON array, in stamp order."""
    return canonical_json([op.to_json() for op in sorted(ops, key=lambda op: op.id)])


def parse_ops(case_id: str, text: str | bytes) -> list[Op]:
    """A case's ops from their JSON array."""
    return [op_from_json(case_id, document) for document in json.loads(text)]


# --- the stored form ---------------------------------------------------------------------------
#
# A stored array is a version byte and a zstd frame, compressed with a dictionary of the
# JSON that op arrays are made of (keys, kinds, groups, enum values; nothing of anyone's
# case). Stored arrays depend on the dictionary byte for byte: it never changes, and a
# new one would come with a new version byte. Arrays written as text (by schema 2's
# upgrade) are read as they are.

_PACKED_V1 = b"\x01"
_DICTIONARY_V1 = (
    '"values":{"flag_after":3,"success":false}},{"at":"","by":"","kind":"codeword","op":"",'
    '"values":{"flag_after":3,"success":true}},'
    '"outcome":"prisoner_exchange","outcome":"detention","outcome":"stay_in_country",'
    '"outcome":"emigration","outcome_notes":null},'
    '"values":{"duplicate_of":null,"reason":null}},{"at":"","by":"","group":"exit",'
    '"values":{"condition":null,"group_size":1}},{"at":"","by":"","group":"confirmation",'
    '"values":{"callback":null,"location":null,"notes":null}},{"at":"","by":"","group":"intake",'
    '"values":{"meeting_point":"","receiving_unit":"","window_end":"","window_start":""}},'
    '{"at":"","by":"","group":"arrangement","kind":"set","op":"","parents":[""],'
    '"status":"closed"}},"status":"withdrawn"}},"status":"duplicate"}},'
    '"from":"handoff_arranged","status":"handed_off"}},'
    '"from":"confirmed","status":"handoff_arranged"}},'
    '{"at":"","by":"","group":"status","kind":"set","op":"","parents":[""],'
    '"values":{"fields":{},"from":"registered","status":"confirmed"}},'
    '"stage":"confirmation","stage":"handoff","stage":"follow_up",'
    '{"at":"","by":"","kind":"contact","op":"","values":{"channel":"messenger",'
    '"stage":"first_contact","summary":""}},'
    '"mobilization":"partially_mobilized","mobilization":"not_mobilized",'
    '"mobilization":"contract","mobilization":"unknown",'
    '[{"at":"2026-01-01T00:00:00.000Z","by":"operator","kind":"create",'
    '"op":"1700000000000:0000:00000000000000000000000000000000","values":{"callback":null,'
    '"channel":"phone","codeword_digest":"","codeword_salt":"","condition":null,'
    '"duplicate_of":null,"group_size":null,"kind":"surrender","kind":"consultation",'
    '"location":null,"meeting_point":null,"notes":null,"outcome":null,"outcome_notes":null,'
    '"persons":[{"birth_date":"1990-01-01","full_name":"","mobilization":"mobilized",'
    '"notes":null,"phone":"+380","rank":null,"unit":null}],"reason":null,"receiving_unit":null,'
    '"ref":"","window_end":null,"window_start":null}},'
).encode("ascii")
_CODECS = threading.local()  # zstd contexts are not shared between threads


def _codecs() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    codecs: tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor] | None = getattr(
        _CODECS, "codecs", None
    )
    if codecs is None:
        dictionary = zstandard.ZstdCompressionDict(
            _DICTIONARY_V1, dict_type=zstandard.DICT_TYPE_RAWCONTENT
        )
        dictionary.precompute_compress(level=1)
        codecs = (
            zstandard.ZstdCompressor(level=1, dict_data=dictionary),
            zstandard.ZstdDecompressor(dict_data=dictionary),
        )
        _CODECS.codecs = codecs
    return codecs


def pack_ops(array: bytes) -> bytes:
    """A case's op array (JSON, UTF-8) in its stored form."""
    return _PACKED_V1 + _codecs()[0].compress(array)


def unpack_ops(stored: str | bytes) -> bytes:
    """A case's op array (JSON, UTF-8) from its stored form."""
    if isinstance(stored, str):
        return stored.encode("utf-8")
    if stored[:1] != _PACKED_V1:
        raise ValueError("an op array of a format this Haven does not read")
    return _codecs()[1].decompress(stored[1:])


# --- local changes ---------------------------------------------------------------------------

# One query for everything a local change needs: where the clock stands (the largest
# stamp held, from the index), this site's id, and for a field group the version shown
# now (absent from versions: the create op, cases.hlc) and whether it is in conflict.
_BEFORE_CHANGE = (
    "SELECT (SELECT max(newest) FROM case_ops), (SELECT site_id FROM site),"
    " (SELECT coalesce(json_extract(o.versions, '$.' || ?1), c.hlc)"
    "   FROM cases c LEFT JOIN case_ops o ON o.case_id = c.id WHERE c.id = ?2),"
    " EXISTS (SELECT 1 FROM conflicts WHERE case_id = ?2 AND grp = ?1)"
)


@dataclass(frozen=True, slots=True)
class Recorded:
    """A local op just logged, and whether its group has an open conflict to re-derive."""

    op: Op
    in_conflict: bool


def record(
    conn: Any,
    case_id: str,
    kind: str,
    at: str,
    by: str | None,
    values: Mapping[str, Any],
    group: str | None = None,
    replaces: Sequence[str] | None = None,
) -> Recorded:
    """Stamp and log a change made here, inside the caller's write transaction.

    A ``set`` replaces the version of its group that the user saw (the current one),
    unless ``replaces`` names the versions (resolving a conflict replaces all of them).
    """
    latest, site, current, in_conflict = conn.execute(
        _BEFORE_CHANGE, (group or "none", case_id)
    ).fetchone()
    stamp = hlc.next_stamp(latest, site)
    parents: tuple[str, ...] = ()
    if kind == SET:
        if replaces is not None:
            parents = tuple(sorted(replaces))
            if len(parents) > MAX_PARENTS:  # no site could take it: every file refused
                raise ValueError(
                    f"a change may replace at most {MAX_PARENTS} versions, not {len(parents)}"
                )
        elif current is not None:
            parents = (current,)
    op = Op(stamp, case_id, kind, at, by, values, group, parents)
    body = canonical_json(op.to_json()).encode("utf-8")
    if kind == CREATE:
        conn.execute(
            "INSERT INTO case_ops (case_id, lseq, newest, versions, ops) VALUES"
            " (?1, (SELECT coalesce(max(lseq), 0) + 1 FROM case_ops), ?2, '{}', ?3)",
            (case_id, stamp, pack_ops(b"[" + body + b"]")),
        )
        return Recorded(op, False)
    row = conn.execute("SELECT ops FROM case_ops WHERE case_id = ?", (case_id,)).fetchone()
    if row is None:
        raise LookupError(f"no op-log for case {case_id}")
    # The new op has the newest stamp this site knows, so appending keeps stamp order.
    array = unpack_ops(row[0])
    cursor = conn.execute(
        "UPDATE case_ops SET ops = ?1, newest = ?2, lseq = (SELECT max(lseq) + 1 FROM case_ops),"
        " versions = CASE WHEN ?3 IS NULL THEN versions"
        "  ELSE json_set(versions, '$.' || ?3, ?2) END"
        " WHERE case_id = ?4",
        (pack_ops(array[:-1] + b"," + body + b"]"), stamp, group, case_id),
    )
    if cursor.rowcount != 1:
        raise LookupError(f"no op-log for case {case_id}")
    return Recorded(op, bool(in_conflict))


# --- reading and merging ---------------------------------------------------------------------


def ops_for_case(conn: Any, case_id: str) -> list[Op]:
    """Every op held for one case, in stamp order."""
    row = conn.execute("SELECT ops FROM case_ops WHERE case_id = ?", (case_id,)).fetchone()
    return [] if row is None else parse_ops(case_id, unpack_ops(row[0]))


def stored_ops(conn: Any, case_ids: Sequence[str]) -> dict[str, tuple[int, bytes]]:
    """Of those of these cases that have any: their lseq, and their op array (JSON, UTF-8)."""
    found: dict[str, tuple[int, bytes]] = {}
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"SELECT case_id, lseq, ops FROM case_ops WHERE case_id IN ({marks})",  # noqa: S608
            chunk,
        ):
            found[str(row[0])] = (int(row[1]), unpack_ops(row[2]))
    return found


def last_lseq(conn: Any) -> int:
    """The position of the latest change in this site's order of changes."""
    row = conn.execute("SELECT max(lseq) FROM case_ops").fetchone()
    return int(row[0] or 0)


def store_merged(conn: Any, rows: Sequence[tuple[str, int, str, str, bytes]]) -> None:
    """Write (case id, lseq, newest stamp, versions JSON, packed ops) rows of merged cases."""
    conn.executemany(
        "INSERT INTO case_ops (case_id, lseq, newest, versions, ops) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (case_id) DO UPDATE SET lseq = excluded.lseq, newest = excluded.newest,"
        " versions = excluded.versions, ops = excluded.ops",
        rows,
    )


def count_after(conn: Any, after_lseq: int, upto_lseq: int) -> int:
    """How many cases :func:`cases_after` gives for the same bounds."""
    row = conn.execute(
        "SELECT count(*) FROM case_ops WHERE lseq > ? AND lseq <= ?", (after_lseq, upto_lseq)
    ).fetchone()
    return int(row[0])


def cases_after(conn: Any, after_lseq: int, upto_lseq: int) -> Iterator[tuple[str, bytes]]:
    """(case id, op array) of cases whose latest change is in (after, upto], in that order."""
    cursor = conn.execute(
        "SELECT case_id, ops FROM case_ops WHERE lseq > ? AND lseq <= ? ORDER BY lseq",
        (after_lseq, upto_lseq),
    )
    while rows := cursor.fetchmany(1000):
        for row in rows:
            yield str(row[0]), unpack_ops(row[1])
