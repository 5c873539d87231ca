"""A small path language for reading fields out of a site's JSON (API bodies, embedded state).

``a.b.c`` walks object keys; ``a[0]`` takes one element (``[-1]`` the last); ``a[]`` takes every
element; ``a[?key]`` every element that has ``key`` (a non-null value at that sub-path).
Alternatives are separated by ``|``: the first alternative that yields anything wins
(``name|title``). A key containing dots or brackets is quoted: ``a."x.y"``.

:func:`values` returns every value the path reaches (a list, possibly empty), flattening the
``[]`` steps; :func:`first` the first of them. Nothing here raises on missing data: a site that
drops a field yields no value, which the extractor treats as "not stated".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from crawler.exceptions import CrawlConfigError

_STEP = re.compile(
    r"""\s*(?:
        "(?P<quoted>[^"]+)"            # "key with.dots"
      | (?P<key>[^.\[\]"|\s]+)         # key
    )?
    (?P<index>(?:\[(?:-?\d+|\??[^\]]*)\])*)  # [0] [] [?key] ...
    \s*(?:\.|$)""",
    re.X,
)
_INDEX = re.compile(r"\[(-?\d+|\?[^\]]+|)\]")


@dataclass(frozen=True)
class _Step:
    key: str | None
    index: tuple[str, ...]  # "" (every), "-1"/"3" (one), "?sub.path" (having)


@lru_cache(maxsize=512)
def compile_path(path: str) -> tuple[tuple[_Step, ...], ...]:
    """Parse ``path`` (with ``|`` alternatives); raises CrawlConfigError naming the path."""
    alternatives: list[tuple[_Step, ...]] = []
    for alternative in path.split("|"):
        text = alternative.strip()
        if not text:
            raise CrawlConfigError(f"JSON path {path!r}: empty alternative")
        steps: list[_Step] = []
        pos = 0
        while pos < len(text):
            match = _STEP.match(text, pos)
            if match is None or match.end() == pos:
                raise CrawlConfigError(f"JSON path {path!r}: cannot read {text[pos:]!r}")
            key = match.group("quoted") or match.group("key")
            index = tuple(m.group(1) for m in _INDEX.finditer(match.group("index") or ""))
            if key is None and not index:
                raise CrawlConfigError(f"JSON path {path!r}: empty step at {text[pos:]!r}")
            steps.append(_Step(key, index))
            pos = match.end()
        alternatives.append(tuple(steps))
    return tuple(alternatives)


def _walk(values: list[Any], step: _Step) -> list[Any]:
    out = values
    if step.key is not None:
        out = [v[step.key] for v in out if isinstance(v, Mapping) and step.key in v]
    for index in step.index:
        nxt: list[Any] = []
        for value in out:
            if not isinstance(value, list):
                continue
            if index == "":
                nxt.extend(value)
            elif index.startswith("?"):
                nxt.extend(v for v in value if values_at(v, index[1:]))
            else:
                i = int(index)
                if -len(value) <= i < len(value):
                    nxt.append(value[i])
        out = nxt
    return [v for v in out if v is not None]


def values_at(document: Any, path: str) -> list[Any]:
    """Every value ``path`` reaches in ``document`` (first alternative with any value)."""
    for steps in compile_path(path):
        found: list[Any] = [document]
        for step in steps:
            found = _walk(found, step)
            if not found:
                break
        if found:
            return found
    return []


def first(document: Any, path: str) -> Any:
    """The first value ``path`` reaches, or None."""
    found = values_at(document, path)
    return found[0] if found else None
