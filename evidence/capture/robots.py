"""robots.txt consulted before a page is captured, under the one policy of :mod:`evidence.robots`.

A page capture is a page fetch (issue 12 item 2: robots.txt is obeyed for pages: HTML, browser
renders, page captures). Before the browser opens the page, the page origin's robots.txt is
fetched by the same browser context, in a page of its own (the capture's User-Agent, TLS trust
and login session; the request, each redirect hop and the server address through the capture's
fetch guard) and read with the crawler's rules: 2xx parsed, 4xx no rules, 5xx or no answer
"disallow everything". A page it disallows is not opened: the capture
fails with the reason and the setting that governs it. A platform configured with
``obey_robots_txt = false`` is not asked (its decision says so).

The robots.txt answer goes into the capture's WARC like every response, and the decision into
its sealed metadata (``robots``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError

from evidence.capture.network import Exchange, TrafficRecorder
from evidence.capture.sites import CaptureSite
from evidence.robots import (
    PageRobots,
    RobotsDecision,
    page_refusal,
    robots_url,
    rules_from_answer,
    unreadable,
)

MAX_ROBOTS_BYTES = 4 * 1024 * 1024  # kept up to this; the policy parses the first 512 KiB
API_ACCESS = "n/a (a page capture)"


@dataclass(frozen=True)
class RobotsCheck:
    """The decision for one page, and the robots.txt answer it rests on (for the WARC)."""

    decision: RobotsDecision
    allowed: bool
    agent: str
    exchanges: tuple[Exchange, ...] = ()  # robots.txt and any redirect hops before it

    def refusal(self, site: CaptureSite) -> str:
        return page_refusal(self.decision, site.name, "capturing this page")

    def record(self) -> dict[str, Any]:
        return {**asdict(self.decision), "agent": self.agent, "page_allowed": self.allowed}


async def consult(
    context: BrowserContext, url: str, site: CaptureSite, agent: str, timeout_s: float
) -> RobotsCheck:
    """Whether robots.txt lets ``agent`` capture ``url`` (see the module docstring)."""
    pages = site.robots.value
    where = robots_url(url)
    if site.robots is PageRobots.IGNORE:
        decision = RobotsDecision(
            urlsplit(url).netloc.lower(), where, None, None, API_ACCESS, pages,
            f"not fetched (obey_robots_txt = false for platform {site.name!r})",
        )  # fmt: skip
        return RobotsCheck(decision, True, agent)
    page = await context.new_page()
    recorder = TrafficRecorder(max_body_bytes=MAX_ROBOTS_BYTES)
    recorder.attach(page)
    try:
        response = await page.goto(where, timeout=timeout_s * 1000, wait_until="load")
        body = await response.body() if response is not None else b""
    except PlaywrightError as exc:
        await recorder.finish()
        rules = unreadable(where, None, exc.message.splitlines()[0], api_access=API_ACCESS,
                           pages=pages)  # fmt: skip
        return RobotsCheck(rules.decision, False, agent)
    finally:
        await page.close()
    exchanges = tuple(replace(e, resource_type="robots") for e in await recorder.finish())
    if response is None:
        rules = unreadable(where, None, "no response", api_access=API_ACCESS, pages=pages)
        return RobotsCheck(rules.decision, False, agent, exchanges)
    rules = rules_from_answer(where, response.status, body, api_access=API_ACCESS, pages=pages)
    return RobotsCheck(rules.decision, rules.allowed(url, agent), agent, exchanges)
