"""Alias signals: where a character's names appear in a candidate's words.

Text and aliases go through the same folding: Unicode NFKC (full-width Latin and half-width kana
become their ordinary forms), case folding, Latin diacritics removed (``Urutōraman`` →
``urutoraman``), and camel-case/digit boundaries split (``UltraMan2`` → ``ultra man 2``).

* Latin aliases match on token boundaries, ignoring separators: ``ultra-man``, ``ultra man``,
  ``ultra_man`` and ``ultraman`` all match the alias ``Ultraman``; aliases of at least
  ``fuzzy_min_length`` letters also match at edit distance 1 (``ultramam``).
* Aliases in scripts written without spaces (Han, kana, Hangul) match as substrings of the text
  with separators removed.
* Latin aliases of four letters or more also match written with digits for letters
  (``T1d3b3ll``, ``K0baltr0n``: 0 o, 1 i or l, 3 e, 4 a, 5 s, 7 t, 8 b), a common way past name
  filters; the token must mix letters and digits.
* Romanisations (pinyin, Hepburn) are ordinary aliases under their own language key, so a reason
  can say "the pinyin alias of Hero".
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_LATIN_TOKEN = re.compile(r"[0-9a-zß-ɏ]+")
_CAMEL = re.compile(r"(?<=[a-zß-ÿ])(?=[A-ZÀ-Þ])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")
_SEPARATORS = re.compile(r"[\s\-_.·・,/\\|:;'\"()\[\]{}<>+*#@!?~`^=&%$]+")

LANGUAGE_NAMES = {
    "en": "English",
    "zh": "Chinese",
    "zh-hans": "Chinese",
    "zh-hant": "Chinese",
    "zh-latn": "pinyin",
    "zh-latn-pinyin": "pinyin",
    "pinyin": "pinyin",
    "ja": "Japanese",
    "ja-latn": "Hepburn",
    "ja-latn-hepburn": "Hepburn",
    "hepburn": "Hepburn",
    "ko": "Korean",
    "ko-latn": "Korean romanised",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "pt": "Portuguese",
    "ru": "Russian",
}


def language_name(code: str) -> str:
    """Human name of an alias language key (``zh-Latn-pinyin`` → ``pinyin``)."""
    return LANGUAGE_NAMES.get(code.casefold(), code)


class TextField(enum.Enum):
    """Where a piece of text came from; ``strong`` fields name what the upload is about."""

    TITLE = "title"
    DESCRIPTION = "description"
    TAG = "tag"
    TRIGGER_WORD = "trigger word"
    PROMPT = "prompt"
    FILE_NAME = "file name"
    TRAINED_WORD = "Civitai trained word"
    INSTANCE_PROMPT = "Hugging Face instance prompt"
    LORA_OUTPUT_NAME = "LoRA output name (ss_output_name)"
    LORA_DATASET_DIR = "LoRA training folder (ss_dataset_dirs)"
    LORA_TRAINING_COMMENT = "LoRA training comment (ss_training_comment)"
    LORA_TITLE = "LoRA title (modelspec.title)"
    LORA_TRIGGER_PHRASE = "LoRA trigger phrase (modelspec.trigger_phrase)"
    GENERATION_LORA = "LoRA named in the image's generation data"
    GENERATION_PROMPT = "generation prompt (image metadata)"

    @property
    def strong(self) -> bool:
        return self not in (
            TextField.DESCRIPTION,
            TextField.PROMPT,
            TextField.GENERATION_PROMPT,
            TextField.FILE_NAME,
            TextField.LORA_TRAINING_COMMENT,
        )

    @property
    def whole_value(self) -> bool:
        """Short fields where the whole value can *be* the alias (tags, trigger words)."""
        return self in (TextField.TAG, TextField.TRIGGER_WORD, TextField.TRAINED_WORD)


class MatchVariant(enum.Enum):
    """How the text matched the alias."""

    EXACT = "exact"
    SEPARATOR = "separator variant"
    MISSPELLING = "one letter off"
    SUBSTRING = "within text"
    LEETSPEAK = "digits for letters"
    """``T1d3b3ll`` for ``Tidebell``: a common way to slip past name filters."""


@dataclass(frozen=True)
class AliasHit:
    """One alias of one character found in one text field."""

    character: str
    field: TextField
    found: str
    alias: str
    language: str
    variant: MatchVariant
    whole_value: bool

    @property
    def sentence(self) -> str:
        lang = language_name(self.language)
        field = self.field.value
        if self.whole_value and self.variant is MatchVariant.EXACT:
            return f"{field} '{self.found}' is the {lang} alias of {self.character}"
        if self.variant is MatchVariant.SEPARATOR:
            return (
                f"{field} contains '{self.found}', a separator variant of the {lang} alias "
                f"'{self.alias}' of {self.character}"
            )
        if self.variant is MatchVariant.LEETSPEAK:
            return (
                f"{field} contains '{self.found}', the {lang} alias '{self.alias}' of "
                f"{self.character} written with digits for letters"
            )
        if self.variant is MatchVariant.MISSPELLING:
            return (
                f"{field} contains '{self.found}', one letter away from the {lang} alias "
                f"'{self.alias}' of {self.character}"
            )
        return (
            f"{field} contains '{self.found}', which matches the {lang} alias of {self.character}"
        )


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    if char.isascii() or "LATIN" not in unicodedata.name(char, ""):
        return char
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base or char


def fold(text: str) -> str:
    """NFKC, camel-case split, case folding and Latin diacritic removal (see module docstring)."""
    text = unicodedata.normalize("NFKC", text)
    text = _CAMEL.sub(" ", text)
    return "".join(_fold_char(c) for c in text.casefold())


def _is_spaceless_script(text: str) -> bool:
    return any(not c.isascii() and "LATIN" not in unicodedata.name(c, "") for c in text)


def _within_one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by at most one insertion, deletion or substitution."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


@dataclass(frozen=True)
class _Alias:
    character: str
    alias: str
    language: str
    compact: str
    spaceless: bool


class AliasMatcher:
    """Finds aliases of many characters in text; built once from the character profiles."""

    def __init__(
        self, aliases: Mapping[str, Mapping[str, Iterable[str]]], *, fuzzy_min_length: int = 6
    ) -> None:
        """``aliases`` maps character name → language → aliases (the name itself is added)."""
        self.fuzzy_min_length = fuzzy_min_length
        self._aliases: list[_Alias] = []
        for character, by_language in aliases.items():
            seen: set[str] = set()
            entries = [("en", character)] + [
                (lang, a) for lang, items in by_language.items() for a in items
            ]
            for language, alias in entries:
                folded = fold(alias)
                spaceless = _is_spaceless_script(folded)
                compact = (
                    _SEPARATORS.sub("", folded)
                    if spaceless
                    else "".join(_LATIN_TOKEN.findall(folded))
                )
                if not compact or compact in seen:
                    continue
                seen.add(compact)
                self._aliases.append(_Alias(character, alias, language, compact, spaceless))

    def find(self, text: str, field: TextField) -> list[AliasHit]:
        """Every character alias present in ``text`` (at most one hit per character)."""
        folded = fold(text)
        if not folded.strip():
            return []
        squeezed = _SEPARATORS.sub("", folded)
        tokens = [(m.group(), m.start(), m.end()) for m in _LATIN_TOKEN.finditer(folded)]
        whole = "".join(t for t, _, _ in tokens)
        hits: dict[str, AliasHit] = {}
        for entry in self._aliases:
            if entry.character in hits and hits[entry.character].variant is MatchVariant.EXACT:
                continue
            hit = (
                self._find_spaceless(entry, squeezed, field)
                if entry.spaceless
                else self._find_latin(entry, folded, tokens, whole, field)
            )
            if hit is not None and (
                entry.character not in hits or _rank(hit) < _rank(hits[entry.character])
            ):
                hits[entry.character] = hit
        return list(hits.values())

    def _find_spaceless(self, entry: _Alias, squeezed: str, field: TextField) -> AliasHit | None:
        if entry.compact not in squeezed:
            return None
        whole = squeezed == entry.compact
        variant = MatchVariant.EXACT if whole else MatchVariant.SUBSTRING
        return AliasHit(
            entry.character, field, entry.alias, entry.alias, entry.language, variant, whole
        )

    def _find_latin(
        self,
        entry: _Alias,
        folded: str,
        tokens: list[tuple[str, int, int]],
        whole: str,
        field: TextField,
    ) -> AliasHit | None:
        target = entry.compact
        fuzzy = len(target) >= self.fuzzy_min_length
        best: AliasHit | None = None
        for i in range(len(tokens)):
            joined = ""
            for j in range(i, len(tokens)):
                joined += tokens[j][0]
                if len(joined) > len(target) + 1:
                    break
                if joined == target:
                    variant = MatchVariant.EXACT
                elif target.isalpha() and len(target) >= 4 and target in _leet(joined):
                    variant = MatchVariant.LEETSPEAK
                elif fuzzy and _within_one_edit(joined, target):
                    variant = MatchVariant.MISSPELLING
                else:
                    continue
                found = folded[tokens[i][1] : tokens[j][2]]
                if variant is MatchVariant.LEETSPEAK:
                    found = joined
                if variant is MatchVariant.EXACT and found != fold(entry.alias).strip():
                    folded_alias = fold(entry.alias)
                    if _SEPARATORS.sub(" ", found) != _SEPARATORS.sub(" ", folded_alias):
                        variant = MatchVariant.SEPARATOR
                is_whole = joined == whole and i == 0 and j == len(tokens) - 1
                if variant is MatchVariant.EXACT and not is_whole:
                    variant = MatchVariant.SUBSTRING
                hit = AliasHit(
                    entry.character, field, found, entry.alias, entry.language, variant, is_whole
                )
                if best is None or _rank(hit) < _rank(best):
                    best = hit
        return best


_LEET = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b"}
_LEET_I = str.maketrans({**_LEET, "1": "i"})
_LEET_L = str.maketrans({**_LEET, "1": "l"})


def _leet(token: str) -> tuple[str, ...]:
    """``token`` with digits read as the letters they stand for (``t1d3b3ll`` → ``tidebell``;
    ``1`` as ``i`` or as ``l``), when it mixes letters and digits; nothing otherwise."""
    if token.isalpha() or token.isdigit() or sum(c.isalpha() for c in token) < 2:
        return ()
    return (token.translate(_LEET_I), token.translate(_LEET_L))


def _rank(hit: AliasHit) -> int:
    order = [
        MatchVariant.EXACT,
        MatchVariant.SUBSTRING,
        MatchVariant.SEPARATOR,
        MatchVariant.LEETSPEAK,
        MatchVariant.MISSPELLING,
    ]
    return order.index(hit.variant)


def creator_key(creator: str) -> str:
    """Folded account name for allowlist comparison (``@Studio_Hero`` → ``studio_hero``)."""
    return unicodedata.normalize("NFKC", creator).casefold().strip().lstrip("@").strip()
