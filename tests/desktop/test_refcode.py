"""Reference codes survive phone lines and keyboards; codewords match however typed."""

from __future__ import annotations

import collections
import hashlib
import itertools
import random
import secrets

import pytest

from db.names import name_tokens
from desktop import refcode


def _codes(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [refcode.new_reference("KM", rng) for _ in range(count)]


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


# --- Reference codes -----------------------------------------------------------------------


def test_codes_are_valid_and_canonical() -> None:
    for code in _codes(200):
        assert refcode.normalize_reference(code) == code
        assert len(code.replace("-", "")) == refcode.CODE_LENGTH
        assert code.startswith("KM-")
        assert set(code.replace("-", "")) <= set(refcode.ALPHABET)


def test_the_alphabet_has_a_prime_size() -> None:
    assert refcode.BASE == len(set(refcode.ALPHABET)) == 17
    assert all(refcode.BASE % d for d in range(2, refcode.BASE))


def test_every_single_substitution_is_caught() -> None:
    for code in _codes(1000):
        compact = code.replace("-", "")
        for position, original in enumerate(compact):
            for symbol in refcode.ALPHABET:
                if symbol != original:
                    typo = compact[:position] + symbol + compact[position + 1 :]
                    assert refcode.normalize_reference(typo) is None, (code, typo)


def test_every_adjacent_transposition_is_caught() -> None:
    for code in _codes(1000, seed=2):
        compact = code.replace("-", "")
        for i in range(len(compact) - 1):
            if compact[i] != compact[i + 1]:
                swapped = compact[:i] + compact[i + 1] + compact[i] + compact[i + 2 :]
                assert refcode.normalize_reference(swapped) is None, (code, swapped)


def test_every_jump_transposition_is_caught() -> None:
    for code in _codes(300, seed=4):
        compact = code.replace("-", "")
        for i in range(len(compact) - 2):
            if compact[i] != compact[i + 2]:
                swapped = (
                    f"{compact[:i]}{compact[i + 2]}{compact[i + 1]}{compact[i]}{compact[i + 3 :]}"
                )
                assert refcode.normalize_reference(swapped) is None, (code, swapped)


def test_typing_in_cyrillic_lowercase_or_without_dashes_is_accepted() -> None:
    for code in _codes(50, seed=6):
        cyrillic = code.translate(str.maketrans("ACEHKMPTXY", "АСЕНКМРТХУ"))
        assert refcode.normalize_reference(cyrillic) == code
        assert refcode.normalize_reference(cyrillic.lower()) == code
        assert refcode.normalize_reference(code.lower().replace("-", " ")) == code
        assert refcode.normalize_reference(code.replace("-", "")) == code
        assert refcode.normalize_reference(f"  {code.replace('-', ' – ')}  ") == code
        assert refcode.normalize_reference(code.replace("-", "—")) == code


@pytest.mark.parametrize(
    "text",
    ["", "KM", "KM-4TX-7PA", "KM-4TX-7PA-99", "KM-0TX-7PA-9", "KB-4TX-7PA-9", "Коваленко"],
)
def test_wrong_shapes_are_rejected(text: str) -> None:
    assert refcode.normalize_reference(text) is None


def test_look_alike_symbols_are_not_in_the_alphabet() -> None:
    assert not set("0O1IL8BSZUV") & set(refcode.ALPHABET)


def test_every_letter_has_a_cyrillic_twin() -> None:
    # So an operator on the Ukrainian layout can type any code without switching.
    letters = "".join(symbol for symbol in refcode.ALPHABET if symbol.isalpha())
    assert refcode.reference_search_key("АСЕНКМРТХУ") == letters.lower()


def test_codes_do_not_repeat_beyond_chance() -> None:
    count = 100_000
    codes = _codes(count, seed=3)
    expected_collisions = count * (count - 1) / 2 / refcode.BASE**refcode.BODY_LENGTH
    assert 150 < expected_collisions < 250
    assert len(codes) - len(set(codes)) < 2 * expected_collisions
    symbols = collections.Counter(
        symbol for code in codes for symbol in code.replace("-", "")[2:-1]
    )
    mean = count * refcode.BODY_LENGTH / refcode.BASE
    assert all(abs(symbols[s] - mean) < 0.03 * mean for s in refcode.ALPHABET)


def test_a_secrets_module_or_system_random_is_a_random_source() -> None:
    for rng in (secrets, secrets.SystemRandom()):
        code = refcode.new_reference("KM", rng)
        assert refcode.normalize_reference(code) == code


@pytest.mark.parametrize("prefix", ["", "K", "KMX", "K0", "km"])
def test_a_bad_site_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="site prefix"):
        refcode.new_reference(prefix, random.Random(1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("KM-4T", True),
        ("км4", True),
        ("km 4tx 7", True),
        ("KM-4TX-7PA-9", True),
        ("hckhp", True),  # an all-letter start of HC-KHP-Y2C-Y
        ("НС-КНР", True),  # the same on a Ukrainian layout
        ("23456", True),  # also read as a phone number; both searches run
        ("12345", False),  # 1 is not a code symbol
        ("Коваленко", False),
        ("Kovalenko", False),
        ("MAX", False),
        ("K", False),
        ("7", False),
        ("KM-4TX-7PA-99", False),
        ("+380671234567", False),
        ("", False),
    ],
)
def test_reference_like_search_texts(text: str, expected: bool) -> None:
    assert refcode.is_reference_like(text) is expected


def test_reference_search_key() -> None:
    assert refcode.reference_search_key("КМ-4т") == "km4t"
    assert refcode.reference_search_key("KM-4TX-7PA-9") == "km4tx7pa9"


def test_site_prefixes_are_two_alphabet_symbols() -> None:
    prefixes = {refcode.site_prefix_for(secrets.token_hex(16)) for _ in range(500)}
    assert all(len(p) == 2 and set(p) <= set(refcode.ALPHABET) for p in prefixes)
    assert len(prefixes) > 150
    assert refcode.site_prefix_for("site-1") == refcode.site_prefix_for("site-1")


# --- Codewords -----------------------------------------------------------------------------


def test_the_word_list() -> None:
    assert len(refcode.WORDS) == len(set(refcode.WORDS)) == 256
    for word in refcode.WORDS:
        assert 4 <= len(word) <= 8, word
        assert all("а" <= c <= "я" or c in "іїєґ" for c in word), word


def test_no_two_words_are_one_slip_apart() -> None:
    # Neither as written nor as heard: the keys fold г/х, и/і, е/є and the like together.
    keys = {word: "".join(name_tokens(word)) for word in refcode.WORDS}
    for a, b in itertools.combinations(refcode.WORDS, 2):
        assert _edit_distance(a, b) >= 2, (a, b)
        assert _edit_distance(keys[a], keys[b]) >= 2, (a, b)


def test_codewords_use_two_different_words_and_a_number() -> None:
    rng = random.Random(5)
    for _ in range(500):
        first, second, number = refcode.new_codeword(rng).split("-")
        assert first != second
        assert first in refcode.WORDS
        assert second in refcode.WORDS
        assert 10 <= int(number) <= 99
    assert refcode.new_codeword(secrets).count("-") == 2


SALT = bytes(range(16))


def test_the_digest_covers_the_listed_words_and_the_number() -> None:
    # Digests travel to other sites, so their input is pinned here, independently.
    expected = hashlib.scrypt("калина маяк 47".encode(), salt=SALT, n=2**14, r=8, p=1, dklen=32)
    assert refcode.codeword_digest("Kalyna Mayak 47", SALT) == expected


@pytest.mark.parametrize(
    "spoken",
    [
        "калина-маяк-47",
        "Калина Маяк 47",
        "КАЛИНА МАЯК 47",
        "  калина   маяк   4 7 ",
        "калина — маяк — 47",
        "кали\u0301на мая\u0301к 47",
        "kalyna mayak 47",
        "Kalyna-Majak-47",
        "Kalina Maiak 47",
        "калина маяк, 47",
        "калина ' маяк 47",
    ],
)
def test_codeword_matches_however_it_is_typed(spoken: str) -> None:
    salt = secrets.token_bytes(16)
    digest = refcode.codeword_digest("калина-маяк-47", salt)
    assert refcode.codeword_matches(spoken, salt, digest)


@pytest.mark.parametrize(
    ("codeword", "spoken"),
    [
        ("їжак-ґудзик-10", "Yizhak Gudzyk 10"),
        ("їжак-ґудзик-10", "іжак гудзик 10"),
        ("заєць-сніг-55", "Zaiets Snih 55"),
        ("соловей-щука-90", "Solovei Shchuka 90"),
        ("цуценя-хата-23", "Tsutsenia Khata 23"),
    ],
)
def test_ukrainian_letters_may_be_typed_in_latin_or_without_them(
    codeword: str, spoken: str
) -> None:
    salt = secrets.token_bytes(16)
    assert refcode.codeword_matches(spoken, salt, refcode.codeword_digest(codeword, salt))


@pytest.mark.parametrize(
    "spoken",
    ["калина-маяк-48", "маяк-калина-47", "калина-47", "калина-маяк", "", "малина-маяк-47"],
)
def test_a_different_codeword_does_not_match(spoken: str) -> None:
    digest = refcode.codeword_digest("калина-маяк-47", SALT)
    assert not refcode.codeword_matches(spoken, SALT, digest)


def test_the_salt_matters() -> None:
    digest = refcode.codeword_digest("калина-маяк-47", SALT)
    assert not refcode.codeword_matches("калина-маяк-47", bytes(16), digest)
