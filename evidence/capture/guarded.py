"""The fetch guard (``evidence/guard.py``) applied to the capture browser and its media fetches.

A capture may reach any public http(s) address, and private, loopback or link-local addresses
only on a configured platform's host and port (the sandbox configures itself with its literal
address). :class:`CaptureGuard` holds one :class:`FetchPolicy` per configured platform and the
public policy, and a URL passes when one of them allows it after DNS resolution.

In the browser:

- every request Chromium routes (the page, each subresource, XHR/fetch, the first request of a
  redirect chain) goes through ``context.route``, and every WebSocket through
  ``context.route_web_socket``: a refused one is aborted (closed) before it is sent;
- Chromium follows redirects without routing the next hop, so every hop is checked when it is
  requested (``request`` event), and every response's server address is checked too (a name
  that resolved publicly for us and privately for the browser is DNS rebinding); either refusal
  makes the capture fail before any artifact is written, and nothing is sealed;
- the finding's media are fetched hop by hop (no automatic redirects), each hop checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import BrowserContext, Request, Response, Route, WebSocketRoute
from playwright.async_api import Error as PlaywrightError

from evidence.exceptions import FetchRefused
from evidence.guard import FetchPolicy, Resolver, is_network_url

MAX_MEDIA_REDIRECTS = 5


@dataclass(frozen=True)
class CaptureGuard:
    """Configured platforms (their hosts may be local) plus any public address."""

    platforms: tuple[FetchPolicy, ...] = ()
    public: bool = True
    # how host names are resolved before a fetch (the system's resolver unless a test's)
    resolve: Resolver | None = field(default=None, compare=False)

    @classmethod
    def for_platforms(
        cls, platforms: Iterable[tuple[str, Iterable[str]]], resolve: Resolver | None = None
    ) -> CaptureGuard:
        """From ``(base_url, allowed host entries)`` per configured platform."""
        policies = tuple(FetchPolicy.for_platform(url, hosts) for url, hosts in platforms)
        return cls(policies, resolve=resolve)

    def _policies(self) -> list[FetchPolicy]:
        return [*self.platforms, *([FetchPolicy.public()] if self.public else [])]

    def check(self, url: str) -> None:
        """Raise :class:`FetchRefused` unless some policy allows ``url`` after DNS resolution."""
        first: FetchRefused | None = None
        for policy in self._policies():
            try:
                policy.check_resolved(url, self.resolve)
                return
            except FetchRefused as exc:
                first = first or exc
        raise first or FetchRefused(url, "no fetch policy allows it")

    def check_address(self, url: str, address: str) -> None:
        """Raise unless the server address ``url`` was answered from is allowed for it."""
        first: FetchRefused | None = None
        for policy in self._policies():
            try:
                host, _port = policy.check_url(url)
                policy.check_address(url, host, address)
                return
            except FetchRefused as exc:
                first = first or exc
        raise first or FetchRefused(url, "no fetch policy allows it")

    async def check_async(self, url: str) -> None:
        await asyncio.to_thread(self.check, url)

    def describe(self) -> str:
        parts = [p.describe() for p in self.platforms]
        if self.public:
            parts.append("any public http(s) address")
        return "; ".join(parts) or "nothing"


def _top_level_navigation(request: Request) -> bool:
    """A navigation of a page's main frame (the page itself, or a popup it opened)."""
    if not request.is_navigation_request():
        return False
    try:
        return request.frame.parent_frame is None
    except PlaywrightError:
        return True  # no frame yet (a popup being opened): count it as a page, fail closed


@dataclass
class GuardedBrowsing:
    """The guard installed on one capture's browser context, and what it refused."""

    guard: CaptureGuard
    blocked: list[dict[str, str]] = field(default_factory=list)  # aborted before sending
    fatal: list[FetchRefused] = field(default_factory=list)  # went out: the capture fails
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def install(self, context: BrowserContext) -> None:
        await context.route("**/*", self._route)
        await context.route_web_socket("**/*", self._route_websocket)
        context.on("request", self._on_request)
        context.on("response", self._on_response)

    async def _route(self, route: Route) -> None:
        request = route.request
        url = request.url
        if not is_network_url(url):
            await route.continue_()
            return
        try:
            await self.guard.check_async(url)
        except FetchRefused as exc:
            self.blocked.append({"url": url, "reason": exc.reason, "type": request.resource_type})
            if _top_level_navigation(request):
                self.fatal.append(exc)
            await route.abort("blockedbyclient")
            return
        await route.continue_()

    async def _route_websocket(self, ws: WebSocketRoute) -> None:
        url = ws.url
        as_http = "http" + url[2:] if url.lower().startswith(("ws:", "wss:")) else url
        try:
            await self.guard.check_async(as_http)
        except FetchRefused as exc:
            self.blocked.append({"url": url, "reason": exc.reason, "type": "websocket"})
            await ws.close(code=1008, reason="refused by the capture's fetch guard")
            return
        ws.connect_to_server()

    def _on_request(self, request: Request) -> None:
        if request.redirected_from is None or not is_network_url(request.url):
            return
        self._spawn(self._check_hop(request.url))

    async def _check_hop(self, url: str) -> None:
        try:
            await self.guard.check_async(url)
        except FetchRefused as exc:
            self.fatal.append(FetchRefused(url, f"redirect target refused: {exc.reason}"))

    def _on_response(self, response: Response) -> None:
        if is_network_url(response.url):
            self._spawn(self._check_server(response))

    async def _check_server(self, response: Response) -> None:
        try:
            address = await response.server_addr()
        except PlaywrightError:
            return
        if address is None:
            return  # served from cache or by the browser itself: no connection was made
        try:
            self.guard.check_address(response.url, address["ipAddress"])
        except FetchRefused as exc:
            self.fatal.append(exc)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> FetchRefused | None:
        """Wait for pending checks; the first refusal that fails the capture, if any."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))
        return self.fatal[0] if self.fatal else None
