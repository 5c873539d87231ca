"""The one wall classifier: telling real content from bot walls, login walls and missing pages.

Used by the evidence capture (:func:`classify` on the page a browser rendered) and by the
crawler (its downloader middleware and its gallery spider call :func:`find_wall` on every
response and every rendered page), so both sides see the same walls for the same reasons.

A challenge page answered with 200 is still a challenge: markers in the HTML count as much as
the status code (Browsertrix records these silently; research/evidence.md §2.4, §3.4 item 7).
Markers: Cloudflare's ``cf-mitigated: challenge`` header and "Just a moment…" interstitial
(research/platforms.md §4.4, §5), CAPTCHA widgets, login walls (401 HTML, a redirect to a login
path, a login form instead of content, a login dialog laid over the page).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from evidence.capture.options import FailureReason

GONE_STATUSES = frozenset({404, 410})
BOT_STATUSES = frozenset({403, 429, 503})
CHALLENGE_MARKERS = (
    "cf-challenge",
    "challenge-platform",
    "cf-turnstile",
    "cf_chl_",
    "cf-chl-",
    "<title>just a moment",
    "just a moment...",
    "checking your browser",
    "checking if the site connection is secure",
    "attention required! | cloudflare",
    "verify you are human",
    "verify that you are human",
    "are you a robot",
    "g-recaptcha",
    "h-captcha",
    "hcaptcha.com",
    "captcha-delivery",
    "px-captcha",
    "bot-wall",
)
SNIFF_CHARS = 64 * 1024  # markers count on small pages or bot statuses (big pages may cite them)
LOGIN_PATH = re.compile(
    r"/(log-?in|sign-?in|auth|auth/login|account/login|session/new)(/|$|\?)", re.I
)
LOGIN_TEXT = re.compile(r"(log ?in|sign ?in|login required|please log in|登录|请登录)", re.I)
LOGIN_TITLE = re.compile(r"<title>[^<]*(log ?in|sign ?in|登录)[^<]*</title>", re.I)
# What a rendered page shows, read in the browser by the crawler's gallery spider and by the
# evidence capture alike: its visible text, its visible password fields, and whether one of
# them sits in a dialog (a login dialog laid over the content).
WALL_PROBE_JS = """() => {
  const shown = e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const pw = Array.from(document.querySelectorAll('input[type=password]')).filter(shown);
  const dialog = pw.some(p => p.closest(
    '[role=dialog],[aria-modal=true],dialog,[class*=modal],[class*=Modal],[class*=login-mask]'));
  return {text: document.body ? document.body.innerText.slice(0, 20000) : '',
          passwords: pw.length, dialog: dialog};
}"""


@dataclass(frozen=True)
class PageState:
    """What was received (or rendered) for a page."""

    requested_url: str
    final_url: str
    status: int
    html: str
    text: str
    password_fields: int
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    login_dialog: bool = False  # a visible dialog with a password field covers the page


@dataclass(frozen=True)
class Wall:
    """A bot challenge or login wall, with the reason in words."""

    reason: FailureReason  # BOT_WALL or LOGIN_WALL
    detail: str


def find_wall(state: PageState) -> Wall | None:
    """The wall standing where content was expected, or None."""
    if state.headers.get("cf-mitigated", "").lower() == "challenge":
        return Wall(FailureReason.BOT_WALL, "bot challenge (cf-mitigated: challenge)")
    head = state.html[:SNIFF_CHARS].lower()
    if state.status in BOT_STATUSES or len(state.html) < SNIFF_CHARS:
        for marker in CHALLENGE_MARKERS:
            if marker in head:
                return Wall(
                    FailureReason.BOT_WALL,
                    f"bot challenge (HTTP {state.status}, matched {marker!r})",
                )
    if state.status == 401:
        return Wall(FailureReason.LOGIN_WALL, "login wall (HTTP 401)")
    if state.login_dialog:
        return Wall(FailureReason.LOGIN_WALL, "login wall (a login dialog covers the page)")
    final_path = urlsplit(state.final_url).path
    asked_path = urlsplit(state.requested_url).path
    if LOGIN_PATH.search(final_path) and not LOGIN_PATH.search(asked_path):
        return Wall(FailureReason.LOGIN_WALL, f"login wall (landed on {state.final_url})")
    if LOGIN_TITLE.search(head) and "<form" in head:
        return Wall(FailureReason.LOGIN_WALL, "login wall (login form instead of content)")
    if state.password_fields and len(state.text) < 2000 and LOGIN_TEXT.search(state.text):
        return Wall(FailureReason.LOGIN_WALL, "login wall (login form instead of content)")
    return None


def classify(state: PageState) -> FailureReason | None:
    """None for real content; otherwise why the page must not be certified as content."""
    if state.status in GONE_STATUSES:
        return FailureReason.NOT_FOUND
    wall = find_wall(state)
    if wall is not None:
        return wall.reason
    if state.status in BOT_STATUSES:
        return FailureReason.BOT_WALL
    if state.status >= 400:
        return FailureReason.HTTP_ERROR
    return None
