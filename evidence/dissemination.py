"""Dissemination over time: the platform's download, like and view counts, each with the time
the crawl saw them, kept across runs so the report can show how far an item spread and whether
it kept spreading after the notice.

The record pipeline calls :func:`observe` for every item it sees (new, changed or unchanged)
and stores the result under ``Candidate.raw["dissemination"]``; finding.json and the report read
it back with :func:`history`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

HISTORY_KEY = "dissemination"
MAX_OBSERVATIONS = 200  # the first observation and the latest ones are kept


def observe(
    earlier: Sequence[Mapping[str, Any]] | None, counts: Mapping[str, float], at: datetime
) -> list[dict[str, Any]]:
    """``earlier`` plus this observation when the counts changed (or none were kept yet)."""
    kept = [dict(o) for o in earlier or [] if isinstance(o, Mapping)]
    now = {str(k): v for k, v in counts.items() if isinstance(v, int | float)}
    if not now or (kept and kept[-1].get("counts") == now):
        return kept
    kept.append({"at": at.isoformat(), "counts": now})
    if len(kept) > MAX_OBSERVATIONS:
        kept = [kept[0], *kept[-(MAX_OBSERVATIONS - 1) :]]
    return kept


def history(raw: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The observations stored in a candidate's ``raw`` (oldest first)."""
    value = (raw or {}).get(HISTORY_KEY)
    return [dict(o) for o in value if isinstance(o, Mapping)] if isinstance(value, list) else []
