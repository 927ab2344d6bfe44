"""Project strings in every language: one gettext domain, catalogues compiled with Babel.

The views and the Qt-free core both call `_()` and `ngettext()` from here. English is the
source language; every other language is a catalogue in
resources/i18n/<lang>/LC_MESSAGES/haven.po, so adding one needs no code.

    python -m desktop.i18n extract   # update haven.pot and every .po from ui/ and desktop/
    python -m desktop.i18n compile   # .po -> .mo (the Makefile's `catalogs` target)
    python -m desktop.i18n check     # list stale, missing or empty translations
"""

from __future__ import annotations

import gettext
import io
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

DOMAIN = "haven"
SOURCE_LANGUAGE = "en"
ROOT = Path(__file__).resolve().parents[1]
LOCALE_DIR = ROOT / "resources" / "i18n"
SOURCE_PACKAGES = ("ui", "desktop")
KEYWORDS: Mapping[str, tuple[int, ...] | None] = {"_": None, "N_": None, "ngettext": (1, 2)}
_TEMPLATE_HEADER = "Haven's interface strings. Update with: python -m desktop.i18n extract"
# An f-string inside _() would be looked up after formatting and never match a catalogue entry.
_TRANSLATED_FSTRING = re.compile(r"\b(?:_|N_|ngettext)\(\s*[rRbB]?[fF][rR]?[\"']")
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)[^{}]*\}")

_translations: gettext.NullTranslations = gettext.NullTranslations()
_language = SOURCE_LANGUAGE


def _(message: str) -> str:
    """The message in the current language (the English text when there is no translation)."""
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The plural form of the message that fits `count` in the current language."""
    return _translations.ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it with _() where it is shown."""
    return message


def language() -> str:
    """The code of the language strings are translated into now."""
    return _language


def catalogue_path(code: str, suffix: str = ".po") -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / (DOMAIN + suffix)


def available_languages() -> list[str]:
    """English plus every language that has a catalogue."""
    found = sorted(
        entry.name
        for entry in LOCALE_DIR.iterdir()
        if entry.is_dir() and catalogue_path(entry.name).exists()
    ) if LOCALE_DIR.is_dir() else []
    return [SOURCE_LANGUAGE, *[code for code in found if code != SOURCE_LANGUAGE]]


def system_language(environ: Mapping[str, str] | None = None) -> str:
    """The first available language named by LANGUAGE, LC_ALL, LC_MESSAGES or LANG."""
    env = os.environ if environ is None else environ
    available = available_languages()
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for part in env.get(variable, "").split(":"):
            code = part.split(".")[0].split("_")[0].split("-")[0].lower()
            if code in available:
                return code
    return SOURCE_LANGUAGE


def _load(code: str) -> gettext.NullTranslations:
    po = catalogue_path(code)
    mo = catalogue_path(code, ".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    if po.exists():
        # A source checkout without `make catalogs` still shows its translations.
        buffer = io.BytesIO()
        write_mo(buffer, _read_catalogue(po))
        buffer.seek(0)
        return gettext.GNUTranslations(buffer)
    return gettext.NullTranslations()


def set_language(code: str) -> str:
    """Translate into `code` from now on (unknown codes fall back to English); returns it."""
    global _translations, _language
    chosen = code if code in available_languages() else SOURCE_LANGUAGE
    _translations = gettext.NullTranslations() if chosen == SOURCE_LANGUAGE else _load(chosen)
    _language = chosen
    return chosen


# --- catalogue maintenance ----------------------------------------------------------------------


def _read_catalogue(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=path.parents[1].name, domain=DOMAIN)


def extract_messages(root: Path = ROOT) -> Catalog:
    """Every translatable string in ui/ and desktop/, as a template catalogue."""
    template = Catalog(project="Haven", domain=DOMAIN, header_comment=f"# {_TEMPLATE_HEADER}")
    for package in SOURCE_PACKAGES:
        for filename, lineno, message, comments, context in extract_from_dir(
            root / package,
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
            strip_comment_tags=True,
        ):
            template.add(
                message,
                locations=[(f"{package}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
                flags=("python-brace-format",) if _has_fields(message) else (),
            )
    return template


def _has_fields(message: str | Sequence[str]) -> bool:
    texts = [message] if isinstance(message, str) else list(message)
    return any(_FIELD.search(text) for text in texts)


def _write_catalogue(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, ignore_obsolete=True, include_lineno=False)
    path.write_bytes(buffer.getvalue())


def update_catalogues(root: Path = ROOT) -> list[Path]:
    """Write haven.pot and merge it into every language's .po; returns the files written."""
    template = extract_messages(root)
    written = [LOCALE_DIR / f"{DOMAIN}.pot"]
    _write_catalogue(written[0], template)
    for code in available_languages():
        if code == SOURCE_LANGUAGE:
            continue
        path = catalogue_path(code)
        catalog = _read_catalogue(path)
        catalog.update(template, no_fuzzy_matching=True)
        _write_catalogue(path, catalog)
        written.append(path)
    return written


def add_language(code: str) -> Path:
    """Start the catalogue of a new language from the template."""
    path = catalogue_path(code)
    if path.exists():
        return path
    template = extract_messages()
    catalog = Catalog(locale=code, domain=DOMAIN, project="Haven")
    catalog.update(template, no_fuzzy_matching=True)
    _write_catalogue(path, catalog)
    return path


def compile_catalogues() -> list[Path]:
    """Compile every .po into the .mo that gettext loads; returns the .mo files."""
    compiled = []
    for code in available_languages():
        if code == SOURCE_LANGUAGE:
            continue
        mo = catalogue_path(code, ".mo")
        buffer = io.BytesIO()
        write_mo(buffer, _read_catalogue(catalogue_path(code)))
        mo.write_bytes(buffer.getvalue())
        compiled.append(mo)
    return compiled


@dataclass(frozen=True, slots=True)
class CatalogueProblem:
    language: str
    message: str
    problem: str

    def __str__(self) -> str:
        return f"{self.language}: {self.problem}: {self.message!r}"


def _fields(text: str) -> set[str]:
    return set(_FIELD.findall(text))


def catalogue_problems(root: Path = ROOT) -> list[CatalogueProblem]:
    """Strings missing from a catalogue, left over in it, untranslated, fuzzy or misformatted."""
    template = extract_messages(root)
    wanted = {message.id if isinstance(message.id, str) else message.id[0]: message
              for message in template if message.id}
    problems = [
        CatalogueProblem("source", f"{path.relative_to(root)}", "f-string inside _()")
        for package in SOURCE_PACKAGES
        for path in sorted((root / package).rglob("*.py"))
        if _TRANSLATED_FSTRING.search(path.read_text(encoding="utf-8"))
    ]
    for code in available_languages():
        if code == SOURCE_LANGUAGE:
            continue
        catalog = _read_catalogue(catalogue_path(code))
        present = {message.id if isinstance(message.id, str) else message.id[0]: message
                   for message in catalog if message.id}
        for key in sorted(set(wanted) - set(present)):
            problems.append(
                CatalogueProblem(code, key, "missing (run: python -m desktop.i18n extract)")
            )
        for key in sorted(set(present) - set(wanted)):
            problems.append(CatalogueProblem(code, key, "no longer used (run extract)"))
        for key in sorted(set(present) & set(wanted)):
            problems += _entry_problems(code, key, present[key])
    return problems


def _entry_problems(code: str, key: str, message: object) -> list[CatalogueProblem]:
    ids = getattr(message, "id", key)
    strings = getattr(message, "string", "")
    source_texts = [ids] if isinstance(ids, str) else list(ids)
    translated = [strings] if isinstance(strings, str) else list(strings)
    found: list[CatalogueProblem] = []
    if getattr(message, "fuzzy", False):
        found.append(CatalogueProblem(code, key, "fuzzy"))
    if not translated or any(not text for text in translated):
        found.append(CatalogueProblem(code, key, "not translated"))
        return found
    expected = set().union(*(_fields(text) for text in source_texts))
    for text in translated:
        if _fields(text) != expected:
            found.append(CatalogueProblem(code, key, "placeholders differ from the English text"))
            break
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: extract, compile, check, or add LANG."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else ""
    if command == "compile":
        for path in compile_catalogues():
            print(f"compiled {path.relative_to(ROOT)}")
        return 0
    if command == "extract":
        for path in update_catalogues():
            print(f"updated {path.relative_to(ROOT)}")
        return 0
    if command == "check":
        problems = catalogue_problems()
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    if command == "add" and len(args) == 2:
        print(f"created {add_language(args[1]).relative_to(ROOT)}")
        return 0
    print("usage: python -m desktop.i18n {extract|compile|check|add LANG}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
