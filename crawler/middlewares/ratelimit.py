"""Per-host pauses and slow-downs from 429s and ``RateLimit`` headers.

A 429 is the host saying "stop", not "retry this one request later": the Hub counts every
request in a 5-minute window (platforms.md §2.4; real-platforms.md, "Rate limits and
identity"). :class:`HostGate` therefore pauses the whole host until the ``Retry-After`` /
``RateLimit`` reset, and every request for that host waits at the gate (up to
``RW_RETRY_AFTER_MAX``, 600 s by default; a longer wait gives up naming the setting).
When ``RateLimit`` says few requests remain (below ``RW_RATELIMIT_LOW`` of the
``RateLimit-Policy`` quota, or 5 when no quota is given), requests to the host are spaced
so that the rest last until the reset. Every pause and slow-down is kept for the run report.

One gate per crawler (:func:`host_gate`): the downloader's requests wait at it in
``PoliteRetryMiddleware``, and the browser side (a Playwright ``page.route`` handler) calls
``await host_gate(crawler).wait(host)`` and ``.observe(...)``/``.pause(...)`` on the same gate.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.http import Response

_R = re.compile(r";\s*r\s*=\s*(\d+)")
_T = re.compile(r";\s*t\s*=\s*(\d+)")
_Q = re.compile(r";\s*q\s*=\s*(\d+)")
LOW_FALLBACK = 5  # remaining requests that count as "low" when no quota is announced


@dataclass(frozen=True)
class HostWait:
    """One pause or slow-down, as the run report lists it."""

    host: str
    kind: str  # "pause" (429) or "slow" (RateLimit remaining low)
    seconds: float  # the pause, or the spacing between requests
    reason: str
    url: str


def host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


def rate_limit(response: Response) -> tuple[int, float, int | None] | None:
    """(remaining, seconds to reset, quota or None) from ``RateLimit``/``RateLimit-Policy``."""
    value = response.headers.get(b"RateLimit")
    if not value:
        return None
    text = value.decode("latin-1")
    remaining, reset = _R.search(text), _T.search(text)
    if remaining is None or reset is None:
        return None
    policy = (response.headers.get(b"RateLimit-Policy") or b"").decode("latin-1")
    quota = _Q.search(policy)
    return int(remaining.group(1)), float(reset.group(1)), int(quota.group(1)) if quota else None


@dataclass
class HostGate:
    """Which hosts are paused until when, and how far apart their requests must be."""

    low_share: float = 0.1
    clock: object = field(default=time.monotonic, repr=False)
    paused_until: dict[str, float] = field(default_factory=dict)
    spacing: dict[str, float] = field(default_factory=dict)
    next_slot: dict[str, float] = field(default_factory=dict)
    waits: list[HostWait] = field(default_factory=list)

    def _now(self) -> float:
        return float(self.clock())  # type: ignore[operator]

    def delay_for(self, host: str) -> float:
        """Seconds a request for ``host`` must wait now (and reserve its slot)."""
        now = self._now()
        wait = max(0.0, self.paused_until.get(host, 0.0) - now)
        gap = self.spacing.get(host)
        if gap:
            slot = max(now + wait, self.next_slot.get(host, 0.0))
            self.next_slot[host] = slot + gap
            wait = slot - now
        return wait

    async def wait(self, host: str) -> float:
        delay = self.delay_for(host)
        if delay > 0:
            await asyncio.sleep(delay)
        return delay

    def pause(self, host: str, seconds: float, reason: str, url: str) -> None:
        until = self._now() + seconds
        if until > self.paused_until.get(host, 0.0):
            self.paused_until[host] = until
            self.waits.append(HostWait(host, "pause", seconds, reason, url))

    def observe(self, response: Response) -> None:
        """Slow the host down when ``RateLimit`` says little remains; lift it when it recovers."""
        found = rate_limit(response)
        if found is None:
            return
        remaining, reset, quota = found
        host = host_of(response.url)
        low = quota * self.low_share if quota else LOW_FALLBACK
        if remaining >= low or remaining == 0:
            self.spacing.pop(host, None)
            return
        gap = reset / max(remaining, 1)
        if host not in self.spacing:
            reason = f"RateLimit r={remaining} of q={quota or '?'}, reset in {reset:.0f}s"
            self.waits.append(HostWait(host, "slow", round(gap, 3), reason, response.url))
        self.spacing[host] = gap

    def report(self) -> list[dict[str, object]]:
        return [asdict(w) for w in self.waits]


_GATE_ATTRIBUTE = "_rightswatch_host_gate"


def host_gate(crawler: Crawler) -> HostGate:
    """The crawler's one :class:`HostGate` (made on first use, from ``RW_RATELIMIT_LOW``)."""
    gate = getattr(crawler, _GATE_ATTRIBUTE, None)
    if not isinstance(gate, HostGate):
        gate = HostGate(low_share=crawler.settings.getfloat("RW_RATELIMIT_LOW", 0.1))
        setattr(crawler, _GATE_ATTRIBUTE, gate)
    return gate
