"""The one robots.txt policy: what a robots.txt answer means, and whether it allows a URL.

Every page fetch consults it: the crawler (``crawler/middlewares/robots.py`` fetches robots.txt
through Scrapy's downloader, once per host) and the evidence capture
(``evidence/capture/robots.py`` fetches it through the capture's guarded browser context).
Both hand the answer they received to :func:`rules_from_answer` (or :func:`unreadable` when
none came) and ask the same :class:`RobotsRules` about each URL, so a page the crawler may not
read is a page the capture may not seal, for the same stated reason.

RFC 9309: a 2xx body is parsed (Protego, the parser Scrapy uses; the first
:data:`ROBOTS_MAX_BYTES` count); 4xx means no rules (§2.3.1.3); 5xx, a network failure or
no answer means "disallow everything" (§2.3.1.4). The user agent is matched the way Protego
matches it (a group applies when its name occurs in the agent), so ``User-agent: rightswatch``
governs both the crawler's and the capture's agent.

Each outcome is a :class:`RobotsDecision` (host, robots.txt URL, status, SHA-256 of the body as
received, the policy applied, the rules read): the crawler writes it to its WARC and run report,
the capture to its sealed metadata.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from protego import Protego

ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 §2.5: at least 500 KiB are parsed; Google reads 500 KiB


class PageRobots(StrEnum):
    """How robots.txt governs a platform's pages (``obey_robots_txt`` in watch.toml)."""

    OBEY = "obey"
    IGNORE = "ignore"


@dataclass(frozen=True)
class RobotsDecision:
    """What was decided for one host: the rules read (if any) and the policy applied."""

    host: str
    robots_url: str
    status: int | None  # HTTP status of robots.txt; None when it was not fetched or failed
    sha256: str | None  # of the robots.txt body as received
    api_access: str
    pages: str
    rules: str  # "parsed", "none (HTTP 404)", "disallow all (...)", "not fetched (...)"


@dataclass(frozen=True)
class RobotsRules:
    """The rules of one host (a parser, or allow/disallow everything) and how they came."""

    parser: Protego | None
    allow_all: bool
    decision: RobotsDecision

    def allowed(self, url: str, agent: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return bool(self.parser.can_fetch(url, agent))


def robots_url(url: str) -> str:
    """``scheme://host[:port]/robots.txt`` for any URL on that origin."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}/robots.txt"


def unreadable(
    url: str, status: int | None, why: str, *, api_access: str, pages: str
) -> RobotsRules:
    """No usable answer (5xx, network failure): disallow everything (RFC 9309 §2.3.1.4)."""
    decision = RobotsDecision(
        urlsplit(url).netloc.lower(),
        robots_url(url),
        status,
        None,
        api_access,
        pages,
        f"disallow all (robots.txt unreadable: {why})",
    )
    return RobotsRules(None, False, decision)


def rules_from_answer(
    url: str, status: int, body: bytes, *, api_access: str, pages: str
) -> RobotsRules:
    """The rules an HTTP answer for ``url``'s robots.txt gives (after redirects)."""

    def decided(rules: str) -> RobotsDecision:
        digest = hashlib.sha256(body).hexdigest()
        host = urlsplit(url).netloc.lower()
        return RobotsDecision(host, robots_url(url), status, digest, api_access, pages, rules)

    if 200 <= status < 300:
        text = body[:ROBOTS_MAX_BYTES].decode("utf-8", errors="replace")
        return RobotsRules(Protego.parse(text), True, decided("parsed"))
    if 400 <= status < 500:
        return RobotsRules(None, True, decided(f"none (HTTP {status})"))
    return unreadable(url, status, f"HTTP {status}", api_access=api_access, pages=pages)


def page_refusal(decision: RobotsDecision, platform: str, what: str = "a page") -> str:
    """The reason a page is refused, naming the rules and the setting that governs it."""
    where = f"of platform {platform!r}" if platform else "of the platform"
    return (
        f"robots.txt ({decision.robots_url}, {decision.rules}) disallows {what}; robots.txt "
        f"governs pages; obey_robots_txt = false in [platforms.politeness] {where} would ignore "
        "it (check the site's terms first)"
    )
