"""The configured platforms as a capture sees them: a login session and a robots.txt policy.

A capture of a platform's page runs as that platform's crawl does (issue 12 item 2, issue 13
item 1): with the platform's login session when one is configured (a Playwright
``storage_state`` file the user exported from a logged-in browser, so a walled item's page
shows its content instead of the login wall) and under the platform's robots.txt policy for
pages (``obey_robots_txt``). The session file is read by Chromium only: it is never copied into
the capture, and the record says only that a session was used.

The platform is the one a finding's candidate belongs to (the job's subject names it), else the
one whose base URL the page lies under (the longest match), else none: no session, and
robots.txt obeyed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from evidence.robots import PageRobots

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class CaptureSite:
    """One configured platform: its name, base URL, login session and page robots policy."""

    name: str
    base_url: str
    storage_state: Path | None = None  # read by Chromium, never copied or recorded
    robots: PageRobots = PageRobots.OBEY

    def covers(self, url: str) -> bool:
        """True when ``url`` is on this platform's origin, under its base path."""
        return _origin(url) == _origin(self.base_url) and _under(url, self.base_url)

    def record(self) -> dict[str, Any]:
        """What the capture's metadata says of the platform (never the session's path)."""
        return {
            "platform": self.name,
            "login_session": self.storage_state is not None,
            "robots_txt": self.robots.value,
        }


NO_SITE = CaptureSite(name="", base_url="")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def _under(url: str, base_url: str) -> bool:
    base = urlsplit(base_url).path.rstrip("/")
    path = urlsplit(url).path
    return not base or path == base or path.startswith(base + "/")


def site_for(
    sites: Iterable[CaptureSite], url: str, subject: Mapping[str, Any] | None = None
) -> CaptureSite:
    """The platform a capture of ``url`` runs as (see the module docstring)."""
    sites = tuple(sites)
    named = str((subject or {}).get("platform") or "")
    for site in sites:
        if named and site.name == named:
            return site
    covering = [s for s in sites if s.covers(url)]
    if not covering:
        return NO_SITE
    return max(covering, key=lambda s: len(urlsplit(s.base_url).path.rstrip("/")))
