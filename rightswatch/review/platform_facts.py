"""What the platform said about a candidate, picked out of its stored metadata for people.

The crawler keeps ``Candidate.raw`` as ``{"platform": <the platform's JSON>, "crawl": <what
the crawl parsed: discovery (placement, rank, term), trigger_words, media_path, …>}``
(crawler/pipelines/record.py) and the declared reuse terms in ``Candidate.licence``.
Key names differ by platform (research/platforms.md: Civitai ``trainedWords``, Hugging Face
``instance_prompt``, galleries ``triggerWord``), so each fact is looked up under every name
it is known by. Nothing is interpreted beyond that; the template escapes every value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TRIGGER_KEYS = ("trigger_words", "trainedWords", "triggerWord", "trigger_phrase", "trigger")
PLACEMENT_KEYS = ("placement",)
RANK_KEYS = ("rank",)
TERM_KEYS = ("term",)


@dataclass(frozen=True)
class PlatformFacts:
    trigger_words: tuple[str, ...]
    placement: str | None
    rank: str | None
    term: str | None
    licence: tuple[tuple[str, str], ...]  # (flag, value) in a stable order


@dataclass(frozen=True)
class Region:
    """A matched region on the candidate image, as percentages of its width and height."""

    left: float
    top: float
    width: float
    height: float


def _scopes(raw: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Where facts may sit: the crawl's findings first, then the platform's own JSON."""
    crawl = _mapping(raw.get("crawl"))
    return [
        crawl,
        _mapping(crawl.get("discovery")),
        raw,
        _mapping(raw.get("discovery")),
        _mapping(raw.get("platform")),
    ]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _find(raw: Mapping[str, Any], keys: Sequence[str]) -> Any:
    """The first non-empty value under any of ``keys`` in any scope, in scope order."""
    for scope in _scopes(raw):
        for key in keys:
            if scope.get(key) not in (None, "", [], ()):
                return scope[key]
    return None


def _words(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(str(v) for v in value if v not in (None, ""))
    return (str(value),)


def _flag(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def platform_facts(raw: Mapping[str, Any], licence: Mapping[str, Any]) -> PlatformFacts:
    rank = _find(raw, RANK_KEYS)
    term = _find(raw, TERM_KEYS)
    placement = _find(raw, PLACEMENT_KEYS)
    return PlatformFacts(
        trigger_words=_words(_find(raw, TRIGGER_KEYS)),
        placement=None if placement is None else str(placement),
        rank=None if rank is None else str(rank),
        term=None if term is None else str(term),
        licence=tuple((str(k), _flag(v)) for k, v in sorted(licence.items()) if v is not None),
    )


def region_of(reasons: Iterable[Mapping[str, Any]]) -> Region | None:
    """The first matched region a reason carries (``region`` or ``bbox``).

    Accepted forms: ``[x0, y0, x1, y1]`` as fractions of the candidate image (0-1), or a mapping
    with ``x``, ``y``, ``width``, ``height`` fractions. Anything else is ignored.
    """
    for reason in reasons:
        box = reason.get("region", reason.get("bbox"))
        region = _region(box)
        if region is not None:
            return region
    return None


def _region(box: Any) -> Region | None:
    try:
        if isinstance(box, Mapping):
            x, y = float(box["x"]), float(box["y"])
            w, h = float(box["width"]), float(box["height"])
        elif isinstance(box, list | tuple) and len(box) == 4:
            x0, y0, x1, y1 = (float(v) for v in box)
            x, y, w, h = x0, y0, x1 - x0, y1 - y0
        else:
            return None
    except (KeyError, TypeError, ValueError):
        return None
    if not (0 <= x <= 1 and 0 <= y <= 1 and 0 < w <= 1 - x + 1e-9 and 0 < h <= 1 - y + 1e-9):
        return None
    return Region(round(x * 100, 2), round(y * 100, 2), round(w * 100, 2), round(h * 100, 2))
