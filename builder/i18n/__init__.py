"""Every word the builder shows goes through `_()`: `_("Saved “{name}”.", name=flow.name)`.

Message ids are the English sentences themselves, so English needs no catalogue and a missing
translation reads in English. Placeholders are `{name}` (letters, digits, `_`) and are filled in after
translating, so a translation may put them in any order. `n_()` is for counts:
`n_("{count} error", "{count} errors", errors)`; `N_()` only marks a module-level text for the
catalogue, and the code translates it with `_()` where it is shown (a `_()` at import would freeze
the language at start-up).

How a translator adds a language:
1. `python -m builder.i18n extract -o chatloom.pot` lists every message id: the builder's own words
   and the words it shows for node types, channels, roles and rights.
2. Copy it to `builder/i18n/locales/<language>.po` (`de.po`, `pt_BR.po`) and fill in each `msgstr` with
   Poedit, Weblate or any text editor (no compile step). An empty or `fuzzy` one stays English.
3. Start Chatloom with `CHATLOOM_LANGUAGE=<language>`; `CHATLOOM_LOCALES=<folder>` is looked in
   first, for catalogues kept outside the package. A language whose plurals are not “one, other”
   adds its rule to PLURAL_RULES (the catalogue's Plural-Forms header is never evaluated).

A catalogue is data, never code: it is parsed, not evaluated, and a placeholder is only ever
replaced by the value's text (`{x.__class__}` or `{x:>999999}` stays as written). A translation
that drops a placeholder or adds one of its own is left out (logged), and that sentence reads in
English; a catalogue that cannot be read leaves the whole builder in English.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from builder.i18n.po import CatalogueError, Entry, parse_po

log = logging.getLogger(__name__)

LANGUAGE_ENV = "CHATLOOM_LANGUAGE"  # the builder's language: "en" (the default), "de", "pt_BR"…
FOLDER_ENV = "CHATLOOM_LOCALES"  # a folder of catalogues looked in before the shipped ones
SHIPPED = Path(__file__).with_name("locales")  # the catalogues that come with Chatloom
ENGLISH = "en"
# {name} and nothing else: no attributes, indexes, conversions or format specs; {{name}} is literal
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")  # never a path


def _one_other(n: int) -> int:
    return 0 if n == 1 else 1


def _zero_one_other(n: int) -> int:
    return 0 if n in (0, 1) else 1


def _no_plural(n: int) -> int:
    return 0


def _east_slavic(n: int) -> int:  # 1, 21, 31… · 2-4, 22-24… · the rest
    if n % 10 == 1 and n % 100 != 11:
        return 0
    return 1 if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else 2


def _polish(n: int) -> int:
    if n == 1:
        return 0
    return 1 if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else 2


def _czech(n: int) -> int:
    return 0 if n == 1 else (1 if 2 <= n <= 4 else 2)


# language → which msgstr[i] a count takes (gettext's order of forms); not listed: one, other (English)
PLURAL_RULES: Mapping[str, Callable[[int], int]] = {
    **dict.fromkeys(("fr", "pt_BR", "hi"), _zero_one_other),
    **dict.fromkeys(("ja", "zh", "ko", "vi", "th", "id", "ms"), _no_plural),
    **dict.fromkeys(("ru", "uk", "be", "sr", "hr", "bs"), _east_slavic),
    "pl": _polish,
    **dict.fromkeys(("cs", "sk"), _czech),
}


@dataclass(frozen=True)
class Catalogue:
    """One language's translations, checked: every entry here keeps its message's placeholders."""

    language: str = ENGLISH
    messages: Mapping[str, str] = field(default_factory=dict)  # message id → translation
    plurals: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # singular id → its forms
    plural: Callable[[int], int] = _one_other


def placeholders(text: str) -> set[str]:
    """The `{name}` placeholders of a text."""
    return set(PLACEHOLDER.findall(text))


def _fill(text: str, values: Mapping[str, object]) -> str:
    """Put each value's text in its placeholder, in one pass (a value's own braces stay as they are)."""
    if not values:
        return text
    return PLACEHOLDER.sub(lambda m: str(values[m[1]]) if m[1] in values else m[0], text)


def _(text: str, /, **values: object) -> str:
    """`text` in the builder's language, its `{name}` placeholders filled from `values`."""
    return _fill(_catalogue().messages.get(text, text), values)


def n_(singular: str, plural: str, count: int, /, **values: object) -> str:
    """The form of a sentence for `count` in the builder's language; `{count}` is filled with it."""
    values.setdefault("count", count)
    catalogue = _catalogue()
    forms = catalogue.plurals.get(singular)
    index = catalogue.plural(count) if forms else -1
    if forms and 0 <= index < len(forms):
        return _fill(forms[index], values)
    return _fill(singular if count == 1 else plural, values)


def N_(text: str) -> str:  # gettext's name for “mark only”
    """Mark a text for the catalogue without translating it (the code calls `_()` where it is shown)."""
    return text


def language() -> str:
    """The builder's language tag (`CHATLOOM_LANGUAGE`, “en” when unset or not a language tag)."""
    return _tag(os.environ.get(LANGUAGE_ENV, ""))


@functools.lru_cache(maxsize=8)
def _tag(setting: str) -> str:
    chosen = setting.strip() or ENGLISH
    return chosen if LANGUAGE_TAG.match(chosen) else ENGLISH


def html_language() -> str:
    """The builder's language as a page's `lang` attribute says it (“pt-BR”), for screen readers."""
    return language().replace("_", "-")


def _catalogue() -> Catalogue:
    # read again on every call (a few microseconds), so a test or a restart with another setting just works
    environ = os.environ
    return _load(_tag(environ.get(LANGUAGE_ENV, "")), environ.get(FOLDER_ENV, ""))


@functools.lru_cache(maxsize=8)
def _load(tag: str, folder: str) -> Catalogue:
    """The catalogue of a language, read once: `<folder>/<tag>.po`, then the shipped one; "pt_BR" falls
    back to "pt". English, or a catalogue that cannot be read, is no catalogue."""
    if tag == ENGLISH:
        return Catalogue()
    base = re.split(r"[_-]", tag)[0]
    folders = [Path(folder)] if folder else []
    for name in dict.fromkeys((tag, base)):
        for place in [*folders, SHIPPED]:
            path = place / f"{name}.po"
            if not path.is_file():
                continue
            try:
                entries = parse_po(path.read_text(encoding="utf-8"), source=str(path))
            except (OSError, UnicodeDecodeError, CatalogueError) as exc:
                log.error("catalogue %s not used, the builder stays in English: %s", path, exc)
                return Catalogue()
            rule = PLURAL_RULES.get(tag) or PLURAL_RULES.get(base) or _one_other
            return _checked(tag, entries, rule, str(path))
    log.warning("no catalogue for language %r: the builder stays in English", tag)
    return Catalogue()


def _checked(tag: str, entries: Iterable[Entry], rule: Callable[[int], int], source: str) -> Catalogue:
    """The entries that can be used: translated, not fuzzy, and keeping their message's placeholders."""
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for msgid, plural, forms, fuzzy in entries:
        if not msgid or fuzzy or not forms or not all(forms):
            continue  # the header, and what is not (or not surely) translated yet
        if plural is None:
            if placeholders(forms[0]) != placeholders(msgid):
                log.warning("%s: %r left in English: its translation changes the placeholders", source, msgid)
                continue
            messages[msgid] = forms[0]
            continue
        allowed = placeholders(msgid) | placeholders(plural)
        needed = allowed - {"count"}  # a form for exactly one may say "one" instead of the number
        if any(not needed <= placeholders(f) <= allowed for f in forms):
            log.warning("%s: %r left in English: a translation changes the placeholders", source, msgid)
            continue
        plurals[msgid] = forms
    return Catalogue(tag, messages, plurals, rule)
