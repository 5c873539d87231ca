"""Values that describe a capture: what to do (:class:`CaptureOptions`) and what came of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from evidence.capture.chromium import CHROMIUM_PATH
from evidence.capture.guarded import CaptureGuard
from evidence.capture.sites import CaptureSite

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/140.0.0.0 Safari/537.36 rightswatch-evidence/0.1"
)


class CaptureOutcome(StrEnum):
    """How a capture ended."""

    SEALED = "sealed"  # page present; artifacts sealed
    REMOVED = "removed"  # follow-up capture: page gone (404/410); status + screenshot sealed
    FAILED = "failed"  # nothing certified (bot wall, login wall, 404 first time, error)


class FailureReason(StrEnum):
    """Why a capture failed; never sealed as content."""

    BOT_WALL = "bot_wall"
    LOGIN_WALL = "login_wall"
    NOT_FOUND = "not_found"
    HTTP_ERROR = "http_error"
    NETWORK = "network"
    BROWSER = "browser"
    SEALING = "sealing"
    REFUSED = "refused"  # the fetch guard refused the page, a redirect hop or its server
    ROBOTS = "robots"  # robots.txt disallows the page (the platform obeys it for pages)


@dataclass(frozen=True)
class CaptureOptions:
    """Fixed browser environment and capture choices; everything here is recorded."""

    viewport_width: int = 1366
    viewport_height: int = 900
    user_agent: str = DEFAULT_USER_AGENT
    locale: str = "en-US"
    timezone: str = "UTC"
    operator: str = "unknown operator"
    navigation_timeout_s: float = 30.0
    settle_ms: int = 500
    media_urls: tuple[str, ...] = ()
    pdf: bool = True
    mhtml: bool = True
    follow_up: bool = False
    chromium_path: str = CHROMIUM_PATH
    # a listing capture: the item's page URL, marked where the listing shows it
    highlight_url: str | None = None
    # what the browser and the media fetches may reach (evidence/capture/guarded.py)
    guard: CaptureGuard = field(default_factory=CaptureGuard)
    # a response body larger than this is not kept (recorded as truncated)
    max_body_bytes: int = 64 * 1024 * 1024
    # the configured platforms: a page is captured with its platform's login session and
    # robots.txt policy (evidence/capture/sites.py)
    sites: tuple[CaptureSite, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "viewport": {"width": self.viewport_width, "height": self.viewport_height},
            "user_agent": self.user_agent,
            "locale": self.locale,
            "timezone": self.timezone,
            "operator": self.operator,
            "navigation_timeout_s": self.navigation_timeout_s,
            "settle_ms": self.settle_ms,
            "media_urls": list(self.media_urls),
            "follow_up": self.follow_up,
            "highlight_url": self.highlight_url,
            "fetch_policy": self.guard.describe(),
            "max_body_bytes": self.max_body_bytes,
        }


@dataclass(frozen=True)
class CaptureResult:
    """The outcome of one capture attempt and where its files are."""

    capture_id: str
    url: str
    outcome: CaptureOutcome
    directory: Path | None
    final_url: str = ""
    status: int | None = None
    reason: FailureReason | None = None
    message: str = ""
    manifest_sha256: str = ""
    seal: Mapping[str, Any] = field(default_factory=dict)
    stages: Mapping[str, float] = field(default_factory=dict)

    @property
    def sealed(self) -> bool:
        return self.outcome in (CaptureOutcome.SEALED, CaptureOutcome.REMOVED)
