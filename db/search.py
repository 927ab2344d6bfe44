"""The person search index: FTS5 over normalised, transliterated name keys and references.

The index is contentless, so it holds only the derived terms, keyed by person id.
Every query term is a prefix query, so results follow the operator's typing. Phone
numbers are found through the persons table's phone index instead (see phone_prefixes).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from db import names, phones
from db.records import Person

_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")
# Bump whenever name, phone or reference keys are derived differently: vaults rebuild on open.
INDEX_VERSION = "3"


def reference_key(ref: str) -> str:
    """A reference code as an index term: letters and digits only, lower case."""
    return _NOT_ALNUM.sub("", ref).lower()


def person_terms(person: Person, ref: str) -> str:
    """Index terms of a person: name keys and the case reference (phones have their own index)."""
    return name_terms(person.full_name, reference_key(ref))


def name_terms(full_name: str, ref_key: str) -> str:
    """person_terms from a full name and its case's reference_key."""
    terms = names.name_tokens(full_name)
    terms.append(ref_key)
    return " ".join(terms)


def index_person(conn: Any, person_id: int, person: Person, ref: str) -> None:
    conn.execute(
        "INSERT INTO person_search (rowid, terms) VALUES (?, ?)",
        (person_id, person_terms(person, ref)),
    )


def unindex_person(conn: Any, person_id: int) -> None:
    conn.execute("DELETE FROM person_search WHERE rowid = ?", (person_id,))


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What the operator typed, read each way it can be meant; any reading may match."""

    name_tokens: tuple[str, ...] = ()
    phone_digits: str | None = None
    ref_keys: tuple[str, ...] = ()  # the starts of reference codes it may be

    @property
    def empty(self) -> bool:
        return not (self.name_tokens or self.phone_digits or self.ref_keys)


def _without_format_characters(text: str) -> str:
    """What was typed or pasted, less the invisible marks (zero-width spaces, soft hyphens,
    direction marks) that a copy from a messenger brings along, and that split a word."""
    if text.isascii():
        return text
    return "".join(char for char in text if unicodedata.category(char) != "Cf")


def parse_query(text: str, ref_keys: Sequence[str] = ()) -> SearchQuery:
    """Readings of a query; the caller decides which reference codes it can be the start of."""
    text = _without_format_characters(text)
    tokens = names.query_tokens(text)
    digits = phones.query_phone_digits(text)
    typed_digits = "".join(tokens)
    if digits is None and tokens and typed_digits.isdigit() and len(typed_digits) >= 4:
        digits = typed_digits
    if digits is not None:
        # Digits are looked up in the phone column; as index terms they would make FTS5
        # merge the posting lists of every phone number that starts with them.
        tokens = [token for token in tokens if not token.isdigit()]
    return SearchQuery(name_tokens=tuple(tokens), phone_digits=digits,
                       ref_keys=tuple(ref_keys))


def _quoted_prefix(term: str) -> str:
    return '"' + term.replace('"', "") + '"*'


def match_expression(query: SearchQuery) -> str | None:
    """An FTS5 MATCH expression: (all name tokens) OR reference prefixes."""
    readings: list[str] = []
    if query.name_tokens:
        readings.append("(" + " AND ".join(_quoted_prefix(t) for t in query.name_tokens) + ")")
    readings += [_quoted_prefix(key) for key in query.ref_keys]
    return " OR ".join(readings) if readings else None


def phone_prefixes(digits: str) -> list[str]:
    """E.164 prefixes a typed run of digits may stand for: international or national form."""
    if digits.startswith("0"):
        return [f"+380{digits[1:]}"]  # a Ukrainian number with its trunk 0
    prefixes = [f"+{digits}"]
    if digits.startswith("80"):
        # A Ukrainian number dialled as before 2010 ("8 067 …"), as intake accepts it.
        prefixes.append(f"+380{digits[2:]}")
    elif digits.startswith("8") and len(digits) > 1:
        prefixes.append(f"+7{digits[1:]}")  # a Russian number with its trunk 8
    elif not digits.startswith(("3", "7")):
        prefixes.append(f"+380{digits}")  # a Ukrainian number without its trunk
    return prefixes


def _phone_case_rowids(conn: Any, digits: str, limit: int) -> list[int]:
    found: list[int] = []
    for prefix in phone_prefixes(digits):
        # ':' sorts right after '9': the range holds exactly the numbers with this prefix.
        found += [
            int(row[0])
            for row in conn.execute(
                "SELECT case_rowid FROM persons WHERE phone >= ? AND phone < ? LIMIT ?",
                (prefix, prefix + ":", limit),
            )
        ]
    return found


def matching_case_rowids(conn: Any, query: SearchQuery, limit: int) -> list[int]:
    """Row ids of cases with a person matching the query, at most `limit` of them."""
    found: list[int] = []
    expression = match_expression(query)
    if expression is not None:
        found += [
            int(row[0])
            for row in conn.execute(
                "SELECT DISTINCT p.case_rowid FROM person_search s"
                " JOIN persons p ON p.id = s.rowid WHERE person_search MATCH ? LIMIT ?",
                (expression, limit),
            )
        ]
    if query.phone_digits:
        found += _phone_case_rowids(conn, query.phone_digits, limit)
    return list(dict.fromkeys(found))[:limit]


def ensure_index_current(conn: Any) -> bool:
    """Rebuild every person's terms if the index was built by other rules; True if rebuilt."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'search_index_version'").fetchone()
    if row is not None and row[0] == INDEX_VERSION:
        return False
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM person_search")
        for person_id, full_name, phone, ref in conn.execute(
            "SELECT p.id, p.full_name, p.phone, c.ref FROM persons p"
            " JOIN cases c ON c.rowid = p.case_rowid"
        ).fetchall():
            index_person(conn, person_id, Person(full_name=full_name, phone=phone), ref)
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('search_index_version', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (INDEX_VERSION,),
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return True
