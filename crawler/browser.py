"""The browser obeys the crawler's rules: the fetch guard, host pauses, pacing, User-Agent.

:class:`BrowserGate` is scrapy-playwright's ``PLAYWRIGHT_ABORT_REQUEST`` hook, which that
handler calls from its ``page.route("**", ...)`` for every request a page makes (navigation,
scripts, XHR/fetch, images, subresources of frames): a request the one fetch guard
(:mod:`evidence.guard`, the platform's :class:`~evidence.guard.FetchPolicy`: scheme, host
entries and ports, and the addresses the host resolves to) refuses is aborted, and
document/XHR/fetch requests wait out the host's pause (set when the host answered 429/503
with ``Retry-After``) and the platform's delay between requests. Fonts
and video are never fetched. Service workers are blocked in the context
(:func:`context_options`), so no request escapes the route; the context sends the crawl's
User-Agent and, when configured, the login session's ``storage_state`` (read by Chromium,
never copied into evidence).

Playwright does not route the hops of a redirect: the spider checks every request it sees
(``page.on("request")``) with :meth:`BrowserGate.refusal` and discards a page that went
somewhere it may not.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from crawler.middlewares.ratelimit import HostGate
from evidence.exceptions import FetchRefused
from evidence.guard import FetchPolicy, is_network_url

PACED_TYPES = frozenset({"document", "fetch", "xhr"})
SKIPPED_TYPES = frozenset({"font", "media"})


@dataclass
class BrowserGate:
    """Decides, per browser request, whether it may leave (see the module docstring)."""

    policy: FetchPolicy
    delay_s: float = 0.0
    max_pause_s: float = 120.0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (url, reason), for stats
    # the crawler's one host gate (crawler.middlewares.ratelimit), set by the spider: the
    # browser waits out the same host pauses and slow-downs as Scrapy's requests
    host_gate: HostGate | None = None
    _paused_until: dict[str, float] = field(default_factory=dict)
    _last: dict[str, float] = field(default_factory=dict)
    _resolved: dict[tuple[str, int], tuple[str, ...]] = field(default_factory=dict)

    def refusal(self, url: str) -> str | None:
        """Why the guard refuses ``url`` without DNS (None: scheme, host and port pass)."""
        if not is_network_url(url):
            return None
        try:
            self.policy.check_url(url)
        except FetchRefused as refused:
            return refused.reason
        return None

    async def resolved_refusal(self, url: str) -> str | None:
        """:meth:`refusal`, then every address the host resolves to (cached per host)."""
        if not is_network_url(url):
            return None
        try:
            host, port = self.policy.check_url(url)
            key = (host, port)
            if key not in self._resolved:
                loop = asyncio.get_running_loop()
                try:
                    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                except OSError as exc:
                    raise FetchRefused(url, f"cannot resolve {host}: {exc}") from exc
                self._resolved[key] = tuple(dict.fromkeys(str(i[4][0]) for i in infos))
            for address in self._resolved[key]:
                self.policy.check_address(url, host, address)
        except FetchRefused as refused:
            return refused.reason
        return None

    def pause(self, url: str, seconds: float) -> None:
        """Hold requests to ``url``'s host for ``seconds`` (a 429/503 with Retry-After)."""
        host = urlsplit(url).netloc.lower()
        seconds = min(max(seconds, 0.0), self.max_pause_s)
        if self.host_gate is not None:
            self.host_gate.pause(host, seconds, "browser: HTTP 429/503 with a wait", url)
            return
        until = time.monotonic() + seconds
        self._paused_until[host] = max(self._paused_until.get(host, 0.0), until)

    async def _wait_turn(self, url: str) -> None:
        host = urlsplit(url).netloc.lower()
        if self.host_gate is not None:
            await self.host_gate.wait(host)
        now = time.monotonic()
        ready = max(self._paused_until.get(host, 0.0), self._last.get(host, 0.0) + self.delay_s)
        self._last[host] = max(now, ready)
        if ready > now:
            await asyncio.sleep(ready - now)

    async def __call__(self, request: Any) -> bool:
        """True aborts the request (scrapy-playwright's abort hook)."""
        kind = str(getattr(request, "resource_type", ""))
        if kind in SKIPPED_TYPES:
            return True
        url = str(request.url)
        reason = await self.resolved_refusal(url)
        if reason is not None:
            self.refused.append((url, reason))
            return True
        if kind in PACED_TYPES:
            await self._wait_turn(url)
        return False

    def __deepcopy__(self, memo: dict[int, Any]) -> BrowserGate:
        return self  # Scrapy copies settings; the handler and the spider share one gate


def context_options(user_agent: str, storage_state: str | None) -> dict[str, Any]:
    """Playwright context options for a gallery crawl."""
    options: dict[str, Any] = {
        "user_agent": user_agent,
        "service_workers": "block",
        "java_script_enabled": True,
    }
    if storage_state is not None:
        options["storage_state"] = storage_state
    return options
