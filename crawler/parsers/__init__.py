"""Pure parsers: platform JSON or HTML in, typed items out (no Scrapy, no network).

Each parser takes the decoded document plus a :class:`ParseContext` that says where the
document came from, so the spiders stay thin and the parsers are unit-tested on saved
fixtures (tests/crawler/fixtures/).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crawler.exceptions import ParseError
from crawler.items import Discovery, Placement


@dataclass(frozen=True)
class ParseContext:
    platform: str
    base_url: str  # the platform's base, no trailing slash
    url: str  # the URL of the document being parsed
    fetched_at: datetime
    warc_record_id: str | None = None
    term: str | None = None
    placement: Placement = Placement.LISTING
    rank_offset: int = 0  # items already shown on earlier pages of the same listing

    def discovery(self, index: int) -> Discovery:
        return Discovery(
            listing_url=self.url,
            term=self.term,
            placement=self.placement,
            rank=self.rank_offset + index + 1,
        )


def parse_time(value: object) -> datetime | None:
    """An ISO-8601 timestamp as platforms send it (``Z`` suffix allowed), as UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_mapping(value: object, url: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ParseError(url, f"{what} is {type(value).__name__}, expected an object")
    return value


def as_list(value: object, url: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ParseError(url, f"{what} is {type(value).__name__}, expected an array")
    return value


def opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def opt_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def opt_float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    return float(value) if isinstance(value, int | float) else None


def opt_bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def numeric_stats(value: object) -> dict[str, float]:
    if not isinstance(value, Mapping):
        return {}
    return {
        str(k): float(v)
        for k, v in value.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def str_tuple(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    out: list[str] = []
    for entry in value:
        if isinstance(entry, str) and entry:
            out.append(entry)
        elif isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            out.append(entry["name"])  # tag objects {"name": ...}
    return tuple(out)
