"""Reference codes survive phone lines and keyboards; codewords match however typed."""

from __future__ import annotations

import random
import secrets

import pytest

from desktop import refcode


def _codes(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [refcode.new_reference("KM", rng) for _ in range(count)]


def test_codes_are_valid_and_canonical() -> None:
    for code in _codes(200):
        assert refcode.normalize_reference(code) == code
        assert len(code.replace("-", "")) == refcode.CODE_LENGTH
        assert code.startswith("KM-")


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


def test_typing_in_cyrillic_lowercase_or_without_dashes_is_accepted() -> None:
    code = _codes(1)[0]
    cyrillic = code.translate(str.maketrans("ACEHKMPTXY", "АСЕНКМРТХУ"))
    assert refcode.normalize_reference(cyrillic) == code
    assert refcode.normalize_reference(code.lower().replace("-", " ")) == code
    assert refcode.normalize_reference(code.replace("-", "")) == code


def test_look_alike_symbols_are_not_in_the_alphabet() -> None:
    assert not set("0O1IL8BSZUV") & set(refcode.ALPHABET)
    assert refcode.normalize_reference("KM-0TX-7PA-9") is None


def test_codes_do_not_repeat_beyond_chance() -> None:
    codes = _codes(100_000, seed=3)
    # 17**6 ≈ 24 million bodies: about 200 birthday collisions are expected in 100k draws.
    assert len(codes) - len(set(codes)) < 400


def test_reference_like_search_texts() -> None:
    assert refcode.is_reference_like("KM-4T")
    assert refcode.is_reference_like("км4")
    assert not refcode.is_reference_like("Коваленко")
    assert not refcode.is_reference_like("Kovalenko")
    assert refcode.reference_search_key("КМ-4т") == "km4t"


def test_site_prefixes_are_two_alphabet_symbols() -> None:
    prefixes = {refcode.site_prefix_for(secrets.token_hex(16)) for _ in range(500)}
    assert all(len(p) == 2 and set(p) <= set(refcode.ALPHABET) for p in prefixes)
    assert len(prefixes) > 150


@pytest.mark.parametrize(
    "spoken",
    ["калина-маяк-47", "Калина Маяк 47", "КАЛИНА МАЯК 47", "kalyna mayak 47", "Kalyna-Majak-47"],
)
def test_codeword_matches_however_it_is_typed(spoken: str) -> None:
    salt = secrets.token_bytes(16)
    digest = refcode.codeword_digest("калина-маяк-47", salt)
    assert refcode.codeword_matches(spoken, salt, digest)


@pytest.mark.parametrize("spoken", ["калина-маяк-48", "маяк-калина-47", "калина-47", ""])
def test_a_different_codeword_does_not_match(spoken: str) -> None:
    salt = secrets.token_bytes(16)
    digest = refcode.codeword_digest("калина-маяк-47", salt)
    assert not refcode.codeword_matches(spoken, salt, digest)


def test_codewords_use_two_different_words_and_a_number() -> None:
    rng = random.Random(5)
    for _ in range(200):
        first, second, number = refcode.new_codeword(rng).split("-")
        assert first != second
        assert first in refcode.WORDS and second in refcode.WORDS
        assert 10 <= int(number) <= 99
