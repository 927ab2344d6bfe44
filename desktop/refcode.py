"""Reference codes and codewords issued at first contact.

A reference code such as ``KM-4TX-7PA-9`` is read over a phone line: a two-character
site prefix, six random characters and a check character, from 17 symbols chosen
so that none looks or sounds like another (no 0/O, 1/I/L, 8/B, S, Z, U/V) and the
letters all have a Cyrillic twin on a Ukrainian keyboard (А С Е Н К М Р Т Х У),
so an operator who forgets to switch layout still types a valid code. Six random
symbols give 17**6 (about 24 million) codes per site.

The check character makes the weighted sum of all nine symbols zero modulo 17.
With a prime modulus and distinct non-zero weights, every single substitution and
every swap of two adjacent symbols changes the sum, so each is caught.

A codeword is two common Ukrainian words and a number ("калина-маяк-47"). Only a
salted scrypt digest is stored, and it travels to other sites in transfer files, so
its input must never change meaning: each spoken word is resolved to its entry in
WORDS (ignoring case, apostrophes, stress marks and script, so "Kalyna" is калина)
and the digest covers those entries and the digits. WORDS may grow, but a word in it
is never removed or respelled.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from db import names

ALPHABET = "ACEHKMPTXY2345679"
BASE = len(ALPHABET)  # 17, prime
_VALUE = {symbol: index for index, symbol in enumerate(ALPHABET)}
# Cyrillic twins typed on a Ukrainian layout, and Latin look-alikes people write.
_TWINS = str.maketrans(
    {
        "А": "A", "С": "C", "Е": "E", "Н": "H", "К": "K", "М": "M", "Р": "P", "Т": "T",
        "Х": "X", "У": "Y",
    }
)  # fmt: skip
PREFIX_LENGTH = 2
BODY_LENGTH = 6
CODE_LENGTH = PREFIX_LENGTH + BODY_LENGTH + 1
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212_./]+")

_T = TypeVar("_T")


class RandomSource(Protocol):
    """What a random source must offer: `secrets`, `random.SystemRandom()` or, in tests
    and demos, a seeded `random.Random`."""

    def choice(self, seq: Sequence[_T], /) -> _T: ...


def _check_symbol(symbols: str) -> str:
    """The symbol that makes sum(weight * value) ≡ 0 (mod 17); weights are 1, 2, …, 9."""
    total = sum((index + 1) * _VALUE[symbol] for index, symbol in enumerate(symbols))
    weight = len(symbols) + 1
    # weight * c ≡ -total (mod 17): multiply by the inverse of the weight.
    return ALPHABET[(-total * pow(weight, -1, BASE)) % BASE]


def format_reference(compact: str) -> str:
    """KM4TX7PA9 → KM-4TX-7PA-9."""
    return f"{compact[:2]}-{compact[2:5]}-{compact[5:8]}-{compact[8:]}"


def site_prefix_for(site_id: str) -> str:
    """Two symbols derived from the site id, so every site's codes start its own way."""
    digest = hashlib.sha256(site_id.encode("utf-8")).digest()
    value = int.from_bytes(digest[:4], "big")
    return ALPHABET[value % BASE] + ALPHABET[(value // BASE) % BASE]


def new_reference(site_prefix: str, rng: RandomSource) -> str:
    """A fresh reference code with this site's prefix; the caller checks it is unused."""
    if len(site_prefix) != PREFIX_LENGTH or any(ch not in _VALUE for ch in site_prefix):
        raise ValueError(f"not a site prefix: {site_prefix!r}")
    body = "".join(rng.choice(ALPHABET) for _ in range(BODY_LENGTH))
    symbols = site_prefix + body
    return format_reference(symbols + _check_symbol(symbols))


def _compact(text: str) -> str:
    return _SEPARATORS.sub("", text.strip().upper()).translate(_TWINS)


def normalize_reference(text: str) -> str | None:
    """The canonical code for what was typed, or None if its shape or check is wrong."""
    compact = _compact(text)
    if len(compact) != CODE_LENGTH or any(symbol not in _VALUE for symbol in compact):
        return None
    if _check_symbol(compact[:-1]) != compact[-1]:
        return None
    return format_reference(compact)


def is_reference_like(text: str) -> bool:
    """Whether a search text may be (the start of) a reference code.

    It must hold only code symbols and separators, two to nine of them. Names never have
    digits, so two symbols with a digit already make a code; without a digit it takes the
    site prefix and two more symbols (some codes are all letters, such as HC-KHP-Y2C-Y
    typed as "hckhp"). Digits alone also qualify, so a short number may be searched as
    both a phone and a code.
    """
    compact = _compact(text)
    if not 2 <= len(compact) <= CODE_LENGTH or any(s not in _VALUE for s in compact):
        return False
    return any(symbol.isdigit() for symbol in compact) or len(compact) >= PREFIX_LENGTH + 2


def reference_search_key(text: str) -> str:
    """A typed (partial) reference as the search index stores it: compact, lower case."""
    return _compact(text).lower()


def reference_search_keys(text: str, site_prefixes: Iterable[str]) -> list[str]:
    """The index keys a search text may be the start of: the reference as typed, and the
    same after each site prefix given, for a code whose first symbols the operator did not
    catch on a bad line (or that the caller left out). None for a text no code can hold."""
    if not is_reference_like(text):
        return []
    typed = reference_search_key(text)
    keys = [typed]
    if len(typed) <= BODY_LENGTH + 1:
        keys += [prefix.lower() + typed for prefix in site_prefixes]
    return list(dict.fromkeys(keys))


# Everyday nouns of four to eight letters that a caller can say and an operator can spell
# on a bad line: no two are one letter (or one folded sound) apart, none is an alarming
# word in this line of work (no weapons, sirens or fire), none has an apostrophe.
WORDS = (
    "абрикос", "автобус", "агрус", "акула", "ананас", "апельсин", "арфа", "бабка", "банан",
    "бандура", "барабан", "барвінок", "бджола", "берег", "береза", "білка", "бобер", "борсук",
    "борщ", "бублик", "бубон", "бузок", "буква", "вагон", "ваза", "валіза", "вареник", "ведмідь",
    "вежа", "верба", "веселка", "весло", "весна", "вечір", "виделка", "видра", "виноград", "вишня",
    "вівця", "вікно", "віночок", "вірш", "вітер", "вітрило", "вовк", "вогник", "водоспад",
    "волошка", "ворота", "вудка", "вулик", "газета", "гарбуз", "гітара", "глобус", "годинник",
    "голка", "гора", "горіх", "горобець", "горобина", "граблі", "гречка", "грім", "груша", "гуска",
    "ґудзик", "дельфін", "джерело", "джміль", "дзвін", "дзеркало", "диван", "диня", "долина",
    "дорога", "дошка", "драбина", "дятел", "жирафа", "журавель", "заєць", "замок", "затока",
    "зебра", "зима", "зірка", "зозуля", "зоря", "зошит", "іскра", "їжак", "кавун", "калина",
    "камінь", "капуста", "карась", "качка", "каша", "каштан", "килим", "клен", "ключ", "книга",
    "коза", "кокос", "комета", "компас", "компот", "конверт", "корова", "котик", "краб", "крейда",
    "криниця", "крісло", "кролик", "курка", "лампа", "ластівка", "лебідь", "лелека", "лимон",
    "липа", "лисиця", "ліжко", "лілея", "лінійка", "ліхтар", "ложка", "лопата", "лопух", "лось",
    "малюнок", "мандарин", "мапа", "марка", "масло", "маяк", "мелодія", "метелик", "міст",
    "місяць", "млин", "млинець", "молоко", "молоток", "морж", "морква", "мурашка", "намет",
    "намисто", "небо", "нитка", "овес", "огірок", "ожина", "озеро", "окунь", "оливка", "олівець",
    "орел", "осінь", "острів", "пагорб", "папуга", "парасоля", "паркан", "парта", "пенал",
    "пензель", "перлина", "персик", "печиво", "пиріг", "писанка", "півень", "півонія", "пісня",
    "пісок", "планета", "поле", "полин", "полиця", "потяг", "пряник", "пташка", "равлик", "ранок",
    "рибка", "рись", "річка", "ромашка", "роса", "рояль", "рушник", "рюкзак", "світанок", "світло",
    "свічка", "сито", "скеля", "склянка", "скрипка", "слива", "слово", "слон", "сніг", "собака",
    "сова", "сокіл", "соловей", "сонце", "соняшник", "сопілка", "сорочка", "сосна", "ставок",
    "стежка", "степ", "стілець", "стіна", "струмок", "суниця", "танець", "тарілка", "теплиця",
    "тигр", "тополя", "трамвай", "троянда", "туман", "тюлень", "тюльпан", "фарба", "фіалка",
    "флейта", "хата", "хвиля", "хвіртка", "хліб", "хмара", "цвях", "цибуля", "цуценя", "чапля",
    "чашка", "човен", "шапка", "шарф", "шафа", "школа", "шпак", "щука", "яблуко", "явір",
)  # fmt: skip
NUMBERS = range(10, 100)

# Letters with any apostrophes and stress marks among them, or a run of digits.
_WORD_OR_NUMBER = re.compile(r"(?:[^\W\d_]|['ʼ’`\u0300-\u036f])+|\d+")


def _word_key(word: str) -> str:
    return "".join(names.name_tokens(word))


_WORD_BY_KEY = {_word_key(word): word for word in WORDS}


def new_codeword(rng: RandomSource) -> str:
    """Two distinct words and a two-digit number, e.g. 'калина-маяк-47'."""
    first = rng.choice(WORDS)
    second = rng.choice([word for word in WORDS if word != first])
    return f"{first}-{second}-{rng.choice(NUMBERS)}"


def _spoken_form(codeword: str) -> bytes:
    """What the digest covers: each word as spelled in WORDS, then the digits.

    A word that is not in WORDS is kept as its key behind a "?", so it can never pass
    for a listed word. Digits are run together, so "4 7" and "47" are one number.
    """
    text = unicodedata.normalize("NFC", codeword)
    words: list[str] = []
    digits: list[str] = []
    for part in _WORD_OR_NUMBER.findall(text):
        if part.isdigit():
            digits.append(part)
        elif key := _word_key(part):
            words.append(_WORD_BY_KEY.get(key, "?" + key))
    return " ".join([*words, "".join(digits)]).encode("utf-8")


def codeword_digest(codeword: str, salt: bytes) -> bytes:
    """scrypt over the spoken form; the stored secret never holds the codeword itself."""
    return hashlib.scrypt(_spoken_form(codeword), salt=salt, n=2**14, r=8, p=1, dklen=32)


def codeword_matches(candidate: str, salt: bytes, digest: bytes) -> bool:
    """Whether what the caller said is the codeword behind `digest` (constant-time compare)."""
    return hmac.compare_digest(codeword_digest(candidate, salt), digest)
