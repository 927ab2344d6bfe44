"""Reference codes and codewords issued at first contact.

A reference code such as ``KM-4TX-7PA-9`` is read over a phone line: a two-character
site prefix, six random characters and a check character, from 17 symbols chosen
so that none looks or sounds like another (no 0/O, 1/I/L, 8/B, S, Z, U/V) and the
letters all have a Cyrillic twin on a Ukrainian keyboard (А С Е Н К М Р Т Х У),
so an operator who forgets to switch layout still types a valid code.

The check character makes the weighted sum of all nine symbols zero modulo 17.
With a prime modulus and distinct non-zero weights, every single substitution and
every swap of two adjacent symbols changes the sum, so each is caught.

A codeword is two common Ukrainian words and a number ("калина-маяк-47"). Only a
salted scrypt digest is stored; matching ignores case, spaces, dashes and script,
so what the caller says may be typed in Latin letters too.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re

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
)
PREFIX_LENGTH = 2
BODY_LENGTH = 6
CODE_LENGTH = PREFIX_LENGTH + BODY_LENGTH + 1
_SEPARATORS = re.compile(r"[\s\-_./]+")


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


def new_reference(site_prefix: str, rng: random.Random) -> str:
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
    """Whether a search text may be (the start of) a reference code."""
    compact = _compact(text)
    return (
        2 <= len(compact) <= CODE_LENGTH
        and all(symbol in _VALUE for symbol in compact)
        and any(symbol.isdigit() for symbol in compact)
    )


def reference_search_key(text: str) -> str:
    """A typed (partial) reference as the search index stores it: compact, lower case."""
    return _compact(text).lower()


# Common, short, concrete nouns that sound unlike each other; no two share a stem.
WORDS = (
    "айстра", "акація", "альбом", "бальзам", "банан", "барвінок", "басейн", "батон",
    "бджола", "берег", "береза", "бетон", "бинокль", "блискавка", "борщ", "браслет",
    "бубон", "будинок", "бузок", "бурштин", "вагон", "ваза", "веселка", "вишня",
    "вовна", "водоспад", "вокзал", "вулик", "вулкан", "гарбуз", "гвинт", "глобус",
    "голуб", "гора", "горіх", "гребінь", "гриб", "груша", "гудзик", "дельфін",
    "джерело", "диван", "дзвін", "дзеркало", "долото", "дракон", "жолудь", "журавель",
    "завод", "замок", "зебра", "зерно", "зошит", "інжир", "кавун", "календар",
    "калина", "камінь", "канат", "капуста", "карта", "каштан", "квітка", "кедр",
    "кит", "клен", "ключ", "книга", "комета", "компас", "корабель", "кошик",
    "кран", "кристал", "кролик", "ліхтар", "лелека", "лимон", "липа", "лисиця",
    "лід", "ложка", "лопата", "маяк", "малина", "мандарин", "марка", "маятник",
    "медаль", "метелик", "млин", "молот", "міст", "морква", "мотузка", "намет",
    "носоріг", "овес", "олівець", "орел", "острів", "павук", "пензель", "перо",
    "пиріг", "планета", "пляж", "повітря", "подушка", "помідор", "поїзд", "порох",
    "рама", "ракета", "ріпа", "рукав", "рушник", "сад", "сапфір", "світанок",
    "сирена", "сир", "слива", "сокира", "сокіл", "сонях", "сосна", "стріла",
)
_LETTERS = re.compile(r"[^\W\d_]+")
_DIGITS = re.compile(r"\d+")


def new_codeword(rng: random.Random) -> str:
    """Two distinct words and a two-digit number, e.g. 'калина-маяк-47'."""
    first, second = rng.sample(WORDS, 2)
    return f"{first}-{second}-{rng.randint(10, 99)}"


def _spoken_form(codeword: str) -> bytes:
    """What must match: the words' script-independent skeletons and the digits."""
    words = " ".join(_LETTERS.findall(codeword.replace("'", "").replace("ʼ", "")))
    parts = names.name_tokens(words) + _DIGITS.findall(codeword)
    return " ".join(parts).encode("utf-8")


def codeword_digest(codeword: str, salt: bytes) -> bytes:
    """scrypt over the spoken form; the stored secret never holds the codeword itself."""
    return hashlib.scrypt(_spoken_form(codeword), salt=salt, n=2**14, r=8, p=1, dklen=32)


def codeword_matches(candidate: str, salt: bytes, digest: bytes) -> bool:
    return hmac.compare_digest(codeword_digest(candidate, salt), digest)
