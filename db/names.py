"""Name keys that let "Ivanov", "Іванов" and "Иванов" find the same person.

Operators type names in Ukrainian or Russian Cyrillic or in any of the Latin spellings those
names get (Ukrainian national romanisation, Russian passports, BGN/PCGN, English and Polish
habits). Each word of a name is reduced to a *skeleton*: a lowercase ASCII key in which the
differences between those spellings are folded away. Two spellings of one name share a
skeleton; a few different names share one too, which is the price of recall.

How a word becomes a skeleton:

1. Case, stress marks, diacritics, apostrophes (', ʼ, ’, `), ь and ъ go. Latin look-alikes
   inside a Cyrillic word (a Latin "o" in "Кoваленко") are read as Cyrillic.
2. Cyrillic is written in Latin letters (е -> e, є -> je, я -> ja, ж -> zh, щ -> shch ...).
3. The Latin text is folded, so that all spellings of a sound meet:
   g, h, kh, gh (г, ґ, х) -> "kh";  ch, tch, tsch, cz (ч) -> "tsh";  c, ts, tz (ц) -> "ts";
   sh, sz (ш) -> "sh";  shch, sch, szcz (щ) -> "shtsh";  zh (ж) -> "zh";  x -> "ks";
   w -> v;  q -> k;  ph -> f;  y, j, i (и, і, ї, й, ы) -> "i";  "yo" after a consonant (ё) -> e;
   any i before e is dropped (є, ye, ie, je -> e);  a doubled letter is written once.
   So я/ya/ia/ja -> "ia", ю/yu/iu/ju -> "iu", and Марʼяна, Мар'яна, Марьяна, Mariana,
   Maryana all become "mariana"; Григорій, Григорий, Hryhorii, Grigoriy become "khrikhori".

The folded classes are written as prefix-coherent codes ("k" < "kh", "ts" < "tsh",
"s" < "sh" < "shtsh"), so a half-typed digraph still narrows the search; see `query_tokens`.

Known limits. German spellings lose to English ones: "sch" is read as щ (Borsch,
Tereschenko), so Schewtschenko does not meet Шевченко. The official romanisation writes г
as "h" even after с, ц, з+ь or п, and those pairs read back as ш, ч, ж or ф, so a name with
such a rare cluster and its official Latin form get different skeletons. Ukrainian and
Russian forms of one first name (Олексій and Алексей, Андрій and Андрей) stay apart.

Speed: steps 1 and 2 run as a cp1251 encode plus byte translations, step 3 as a few
str.replace passes, and results are remembered per whitespace-separated chunk because names
repeat (surnames, first names and patronymics come from a small vocabulary).
`name_tokens_batch` pushes many names through each pass at once for bulk indexing.
"""

from __future__ import annotations

import codecs
import functools
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "name_tokens",
    "name_tokens_batch",
    "names_similar",
    "query_tokens",
    "transliterate_uk",
]

_APOSTROPHES = "'ʼ’‘`ʹ"
_COMBINING = "\u0300-\u036f"

# A word: letters and digits, with apostrophes and combining marks allowed inside it.
_WORD = re.compile(rf"(?:[^\W_]|[{_APOSTROPHES}{_COMBINING}])+")
_COMBINING_MARK = re.compile(f"[{_COMBINING}]")

_CYRILLIC_TO_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ѐ": "e",
    "є": "je", "ж": "zh", "з": "z", "и": "y", "ѝ": "y", "і": "i", "ї": "ji", "й": "i",
    "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s",
    "т": "t", "у": "u", "ў": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ь": "", "ъ": "", "ы": "y", "э": "e", "ю": "ju", "я": "ja", "ё": "jo",
}  # fmt: skip

# Latin letters whose diacritic changes the sound (Czech, Slovak and Polish spellings of
# Slavic names) rather than merely marking it.
_LATIN_SPECIAL = {
    "ž": "zh", "ż": "zh", "č": "ch", "š": "sh", "ŝ": "shch", "ł": "l", "ø": "o",
    "đ": "d", "æ": "ae", "œ": "oe", "ı": "i",
}  # fmt: skip

# Lowercase Latin letters drawn like Cyrillic ones, for words typed in a mix of layouts.
_LOOKALIKES = ("aceiopxykmthb", "асеіорхукмтнв")


# --- Step 1 and 2: any text to lowercase Latin ------------------------------------------
#
# Nearly every name fits cp1251, whose C encoder is fast; each Cyrillic letter becomes one
# byte, which byte tables then turn into Latin. The few characters outside cp1251 (ʼ, č, ł,
# stress marks...) reach _spell_outside_cp1251 through the codec's error handler.

_ENCODING = "cp1251"
_ERRORS = "haven-names"


def _cp1251_byte(char: str) -> int:
    return char.encode(_ENCODING)[0]


def _build_byte_tables() -> tuple[bytes, bytes, tuple[tuple[bytes, bytes], ...]]:
    table = bytearray(range(256))
    delete = bytearray()
    expansions = []
    for code in range(256):
        char = bytes([code]).decode(_ENCODING, errors="replace")
        latin = _CYRILLIC_TO_LATIN.get(char)
        if latin is not None:
            if not latin:
                delete.append(code)
            elif len(latin) == 1:
                table[code] = ord(latin)
            else:
                expansions.append((bytes([code]), latin.encode()))
        elif char in _APOSTROPHES:
            delete.append(code)
        elif not (char.isascii() and (char.isalnum() or char in " \n")):
            table[code] = ord(" ")
    return bytes(table), bytes(delete), tuple(expansions)


_BYTES_TO_LATIN, _BYTES_DROPPED, _BYTE_EXPANSIONS = _build_byte_tables()
_CYRILLIC_CODES = frozenset(
    _cp1251_byte(c) for c in _CYRILLIC_TO_LATIN if c.encode(_ENCODING, "ignore")
)
_CYRILLIC_BYTES = "".join(f"\\x{code:02x}" for code in sorted(_CYRILLIC_CODES))
_MIXED_SCRIPT_WORD = re.compile(
    f"[a-z{_CYRILLIC_BYTES}]*(?:[{_CYRILLIC_BYTES}][a-z]|[a-z][{_CYRILLIC_BYTES}])"
    f"[a-z{_CYRILLIC_BYTES}]*".encode()
)
# Marks each byte as Latin letter, Cyrillic letter or neither, to spot mixed words quickly.
_SCRIPT_OF_BYTE = bytes.maketrans(
    bytes(range(256)),
    bytes(
        ord("L") if 0x61 <= code <= 0x7A else ord("C") if code in _CYRILLIC_CODES else ord(" ")
        for code in range(256)
    ),
)
_LOOKALIKE_BYTES = bytes.maketrans(
    _LOOKALIKES[0].encode(), bytes(_cp1251_byte(c) for c in _LOOKALIKES[1])
)


@functools.lru_cache(maxsize=1024)
def _spell_outside_cp1251(char: str) -> str:
    """ASCII stand-in for a character cp1251 lacks: a letter's base, nothing, or a space."""
    if char in _APOSTROPHES or unicodedata.combining(char):
        return ""
    if char in _LATIN_SPECIAL:
        return _LATIN_SPECIAL[char]
    if char in _CYRILLIC_TO_LATIN:
        return _CYRILLIC_TO_LATIN[char]
    if unicodedata.category(char)[0] in "LN":
        base = unicodedata.normalize("NFKD", char)
        return "".join(c for c in base if c.isascii() and c.isalnum()).lower()
    return " "


def _replace_unencodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    outside = error.object[error.start : error.end]
    return "".join(_spell_outside_cp1251(c) for c in outside), error.end


codecs.register_error(_ERRORS, _replace_unencodable)


def _read_as_cyrillic(match: re.Match[bytes]) -> bytes:
    return match.group().translate(_LOOKALIKE_BYTES)


def _to_latin(text: str) -> str:
    """Lowercase Latin spelling of `text`, word by word, with separators turned to spaces."""
    text = text.casefold()
    if not text.isascii() and _COMBINING_MARK.search(text):
        # Composing first keeps a decomposed й or ї whole; what is left are stress marks.
        text = _COMBINING_MARK.sub("", unicodedata.normalize("NFC", text))
    encoded = text.encode(_ENCODING, _ERRORS)
    scripts = encoded.translate(_SCRIPT_OF_BYTE)
    if b"LC" in scripts or b"CL" in scripts:
        encoded = _MIXED_SCRIPT_WORD.sub(_read_as_cyrillic, encoded)
    encoded = encoded.translate(_BYTES_TO_LATIN, _BYTES_DROPPED)
    for cyrillic, latin in _BYTE_EXPANSIONS:
        if cyrillic in encoded:
            encoded = encoded.replace(cyrillic, latin)
    return encoded.decode("ascii")


# --- Step 3: Latin to skeleton ----------------------------------------------------------

# "yo" after a consonant is ё (Fyodor, Pyotr, Semyon). Found by its cheap literal part and
# then checked, because a lookbehind makes the regex engine try every position.
_YO = re.compile("[yj]o")
_CONSONANTS = frozenset("bcdfghklmnpqrstvwxz")

# Uppercase results are placeholders that no later step can re-read as part of another
# spelling. Within a group the longest spelling goes first, so that the chain of
# str.replace calls behaves like a greedy scan; the groups let a word skip what it lacks.
_DIGRAPHS_WITH_H = (
    ("schtsch", "W"),
    ("shch", "W"),
    ("tsch", "C"),
    ("sch", "W"),
    ("tch", "C"),
    ("ch", "C"),
    ("sh", "S"),
    ("zh", "Z"),
    ("kh", "H"),
    ("gh", "H"),
    ("ph", "f"),
)
_DIGRAPHS_WITH_Z = (
    ("szcz", "W"),
    ("cz", "C"),
    ("sz", "S"),
    ("tz", "T"),
)
# One letter to one letter, which str.translate does fastest; x and the placeholders then
# grow into their codes.
_FOLD_LETTERS = str.maketrans("ghcyjwqx", "HHTiivkX")
_EXPANSIONS = (
    ("W", "shtsh"),
    ("C", "tsh"),
    ("S", "sh"),
    ("Z", "zh"),
    ("H", "kh"),
    ("T", "ts"),
    ("X", "ks"),
)
_DOUBLED_LETTER = re.compile(r"([a-z])\1")
# The letters a folded word can still hold (c, g, j, q, w, x and y are gone by then).
_LETTER_PAIRS = tuple((c + c, c) for c in "abdefhiklmnoprstuvz")


def _yo_as_e(match: re.Match[str]) -> str:
    start = match.start()
    return "e" if start and match.string[start - 1] in _CONSONANTS else match.group()


def _fold(latin: str) -> str:
    """Skeletons of words already spelled in lowercase Latin; separators pass through."""
    text = latin
    if "yo" in text or "jo" in text:
        text = _YO.sub(_yo_as_e, text)
    if "z" in text:
        for spelling, placeholder in _DIGRAPHS_WITH_Z:
            if spelling in text:
                text = text.replace(spelling, placeholder)
    if "h" in text:
        for spelling, placeholder in _DIGRAPHS_WITH_H:
            if spelling in text:
                text = text.replace(spelling, placeholder)
    text = text.replace("ts", "T").translate(_FOLD_LETTERS)
    if not text.islower():
        for placeholder, code in _EXPANSIONS:
            doubled = placeholder + placeholder
            while doubled in text:
                text = text.replace(doubled, placeholder)
            text = text.replace(placeholder, code)
    while "ie" in text:
        text = text.replace("ie", "e")
    if _DOUBLED_LETTER.search(text):
        for pair, letter in _LETTER_PAIRS:
            while pair in text:
                text = text.replace(pair, letter)
    return text


def _skeleton(word: str) -> str:
    return _fold(_to_latin(word))


# What may follow a half-typed word and change the skeleton of what is already typed: any
# letter (doubling, "i" before "e", "yo"), and the rest of every multi-letter spelling.
_CONTINUATIONS = tuple(
    sorted(
        {""}
        | set("abcdefghijklmnopqrstuvwxyz")
        | {
            spelling[cut:]
            for spelling, _ in (*_DIGRAPHS_WITH_H, *_DIGRAPHS_WITH_Z, ("ts", ""))
            for cut in range(1, len(spelling))
        }
    )
)


def _prefix_skeleton(word: str) -> str:
    """The longest key that starts the skeleton of every word beginning with `word`."""
    latin = _to_latin(word)
    keys = [_fold(latin + rest) for rest in _CONTINUATIONS]
    shortest = min(keys, key=len)
    for length in range(len(shortest), -1, -1):
        stem = shortest[:length]
        if all(key.startswith(stem) for key in keys):
            return stem
    return ""


# --- Index and query tokens -------------------------------------------------------------

# Chunks (whitespace-separated pieces of a name) already reduced to skeletons. Cleared
# whole when full: cheaper than LRU bookkeeping, and the common words come straight back.
_CACHE_LIMIT = 1 << 16
_CHUNK_CACHE: dict[str, tuple[str, ...]] = {}
_BATCH_NAMES = 4096
# Goes between texts processed together; the spaces keep it apart from any letter.
_CHUNK_BREAK = " \n "


def _remember_chunks(chunks: list[str]) -> dict[str, tuple[str, ...]]:
    """Skeleton tokens of each chunk, computed in one pass and kept in the cache."""
    # Every step works within a word, so one pass over many words joined by separators
    # gives each word the skeleton it gets alone.
    pieces = _fold(_to_latin(_CHUNK_BREAK.join(chunks))).split("\n")
    found = {chunk: tuple(piece.split()) for chunk, piece in zip(chunks, pieces, strict=True)}
    if len(_CHUNK_CACHE) + len(found) > _CACHE_LIMIT:
        _CHUNK_CACHE.clear()
    _CHUNK_CACHE.update(found)
    return found


def name_tokens(text: str) -> list[str]:
    """Return the skeleton of each word of a name, in order, for the search index."""
    chunks = text.split()
    try:
        return [token for chunk in chunks for token in _CHUNK_CACHE[chunk]]
    except KeyError:
        known = _remember_chunks(chunks)
        return [token for chunk in chunks for token in known[chunk]]


def name_tokens_batch(texts: Sequence[str]) -> list[list[str]]:
    """Return `name_tokens` of each text, computed in bulk: for (re)indexing many names."""
    tokens: list[list[str]] = []
    for start in range(0, len(texts), _BATCH_NAMES):
        batch = [text.replace("\n", " ") for text in texts[start : start + _BATCH_NAMES]]
        pieces = _fold(_to_latin(_CHUNK_BREAK.join(batch))).split("\n")
        tokens.extend(piece.split() for piece in pieces)
    return tokens


def query_tokens(text: str) -> list[str]:
    """Return the skeletons of what an operator typed, for prefix search.

    Every word but the last is taken as complete. The last word is taken as possibly half
    typed (unless the text ends with a space or other separator), and its token is cut to the
    part that no continuation can change. Guarantee: if the operator typed the beginning of
    some spelling of a word, in one script, the last token is a prefix of that spelling's
    skeleton. So "Shevch", "Шевч" and "Szewcz" give "shevtsh", a prefix of the skeleton of
    "Shevchenko"; "Kovalenk" gives "kovalenk"; "Щ" gives "shtsh"; "S" gives "s", which
    also starts "sh" (ш) and "shtsh" (щ); "Y" gives nothing, because "Ye" may be Е, so a lone
    fragment like it adds no token. Complete words get the same skeletons as `name_tokens`.
    """
    words = _WORD.findall(text)
    if not words:
        return []
    last_is_partial = text.endswith(words[-1])
    tokens = [_skeleton(word) for word in words[:-1]]
    tokens.append(_prefix_skeleton(words[-1]) if last_is_partial else _skeleton(words[-1]))
    return [token for token in tokens if token]


# --- Duplicate detection ----------------------------------------------------------------

_MAX_WORDS_COMPARED = 6


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of neighbours counts once), capped at limit+1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before_previous[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before_previous, previous = previous, current
    return previous[-1]


def _allowed_distance(a: str, b: str) -> int:
    shorter = min(len(a), len(b))
    if shorter <= 3:
        return 0
    return 1 if shorter <= 6 else 2


class _Word(NamedTuple):
    key: str
    is_initial: bool
    first_letter: str


def _comparison_words(text: str) -> list[_Word]:
    words = []
    for word in _WORD.findall(text):
        key = _skeleton(word)
        if key:
            letters = [c for c in word if c.isalnum()]
            is_initial = len(letters) == 1 and letters[0].isalpha()
            words.append(_Word(key, is_initial, _skeleton(letters[0]) if letters else ""))
    return words


def _words_match(a: _Word, b: _Word) -> bool:
    if a.is_initial or b.is_initial:
        initial, word = (a, b) if a.is_initial else (b, a)
        # Ye or Y for Є, Kh for Х: the initial may match the key or the written first letter.
        return word.key.startswith(initial.key) or word.first_letter == initial.key
    allowed = _allowed_distance(a.key, b.key)
    return _edit_distance(a.key, b.key, allowed) <= allowed


def names_similar(a: str, b: str) -> bool:
    """Tell whether two names may belong to one person, for duplicate warnings.

    True when, ignoring word order, every word of the shorter name matches its own word of
    the longer one: the same skeleton, or within a small edit distance (none for skeletons
    of up to 3 letters, 1 up to 6, 2 beyond), or an initial ("І.") that starts the other word.
    The shorter name may leave out words (a patronymic, a second surname) only if it keeps
    at least two, and at least one pair must be whole words, not initials.
    """
    words_a, words_b = _comparison_words(a), _comparison_words(b)
    if not words_a or not words_b:
        return False
    same_keys = Counter(word.key for word in words_a) == Counter(word.key for word in words_b)
    if same_keys and not all(word.is_initial for word in words_a):
        return True
    shorter, longer = sorted((words_a, words_b), key=len)
    if len(shorter) < len(longer) and len(shorter) < 2:
        return False
    if len(longer) > _MAX_WORDS_COMPARED:
        return False
    for chosen in itertools.permutations(longer, len(shorter)):
        pairs = list(zip(shorter, chosen, strict=True))
        if all(_words_match(x, y) for x, y in pairs) and any(
            not x.is_initial and not y.is_initial for x, y in pairs
        ):
            return True
    return False


# --- Official Ukrainian romanisation ----------------------------------------------------

# Cabinet of Ministers of Ukraine resolution No. 55 of 27 January 2010.
_UK_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie",
    "ж": "zh", "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l",
    "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ь": "", "ю": "iu",
    "я": "ia",
    # Not Ukrainian letters. ё is "yo" where it starts a syllable and "e" after a consonant, as
    # in Russian passports (Fedorov, Semen); е after ь or ъ is "ie" like Ukrainian є; the
    # rest as the nearest Ukrainian letter.
    "ы": "y", "э": "e", "ё": "e", "ъ": "", "ѐ": "e", "ѝ": "y", "ў": "u",
}  # fmt: skip
_UK_LATIN_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya", "ё": "yo"}
_UK_VOWELS_AND_SIGNS = frozenset("аеєиіїоуюяыэёьъ")
_APOSTROPHE_CHARS = frozenset(_APOSTROPHES)
_SOFT_AND_HARD_SIGNS = frozenset("ьъ")


def _is_cyrillic_letter(char: str) -> bool:
    return char.lower() in _UK_LATIN


def transliterate_uk(text: str) -> str:
    """Spell `text` in Latin letters by the Ukrainian national romanisation of 2010.

    "Євген Згурський" -> "Yevhen Zghurskyi", "Мар'яна" -> "Mariana", "ЮЛІЯ" -> "YULIIA".
    Stress marks and apostrophes inside Cyrillic words are dropped; anything that is not
    Cyrillic passes through unchanged.
    """
    # Composing first keeps a decomposed й, ї or ё whole; what is left are stress marks.
    chars = [c for c in unicodedata.normalize("NFC", text) if not unicodedata.combining(c)]
    out: list[str] = []
    for i, char in enumerate(chars):
        previous = chars[i - 1] if i else ""
        following = chars[i + 1] if i + 1 < len(chars) else ""
        if char in _APOSTROPHE_CHARS:
            if not (_is_cyrillic_letter(previous) or _is_cyrillic_letter(following)):
                out.append(char)
            continue
        lower = char.lower()
        if lower not in _UK_LATIN:
            out.append(char)
            continue
        word_initial = not (previous.isalpha() or previous in _APOSTROPHE_CHARS)
        if word_initial and lower in _UK_LATIN_INITIAL:
            latin = _UK_LATIN_INITIAL[lower]
        elif lower == "ё" and previous.lower() in _UK_VOWELS_AND_SIGNS:
            latin = "yo"
        elif lower == "е" and previous.lower() in _SOFT_AND_HARD_SIGNS:
            latin = "ie"
        elif lower == "г" and previous.lower() == "з":
            latin = "gh"
        else:
            latin = _UK_LATIN[lower]
        if char != lower and latin:
            in_capitals = following.isupper() or (previous.isupper() and not following.islower())
            latin = latin.upper() if in_capitals else latin.capitalize()
        out.append(latin)
    return "".join(out)
