"""Telling real content from bot walls, login walls and missing pages.

A challenge page answered with 200 is still a challenge: markers in the HTML count as much as
the status code (Browsertrix records these silently; research/evidence.md §2.4, §3.4 item 7).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from evidence.capture.options import FailureReason

GONE_STATUSES = frozenset({404, 410})
BOT_STATUSES = frozenset({403, 429, 503})
CHALLENGE_MARKERS = (
    "cf-challenge",
    "challenge-platform",
    "cf-turnstile",
    "cf_chl_",
    "just a moment...",
    "checking your browser",
    "attention required! | cloudflare",
    "verify you are human",
    "are you a robot",
    "g-recaptcha",
    "h-captcha",
    "hcaptcha.com",
    "captcha-delivery",
    "px-captcha",
    "bot-wall",
)
LOGIN_PATH = re.compile(r"/(log-?in|sign-?in|auth|account/login|session/new)(/|$|\?)", re.I)
LOGIN_TEXT = re.compile(r"(log in|sign in|login required|please log in|登录|请登录)", re.IGNORECASE)


@dataclass(frozen=True)
class PageState:
    """What the browser saw for the main document."""

    requested_url: str
    final_url: str
    status: int
    html: str
    text: str
    password_fields: int


def classify(state: PageState) -> FailureReason | None:
    """None for real content; otherwise why the page must not be certified as content."""
    lowered = state.html.lower()
    if state.status in GONE_STATUSES:
        return FailureReason.NOT_FOUND
    if state.status in BOT_STATUSES or any(m in lowered for m in CHALLENGE_MARKERS):
        return FailureReason.BOT_WALL
    if state.status == 401:
        return FailureReason.LOGIN_WALL
    redirected_to_login = bool(LOGIN_PATH.search(urlsplit(state.final_url).path)) and not bool(
        LOGIN_PATH.search(urlsplit(state.requested_url).path)
    )
    small_page = len(state.text) < 2000
    if redirected_to_login or (
        state.password_fields and small_page and LOGIN_TEXT.search(state.text)
    ):
        return FailureReason.LOGIN_WALL
    if state.status >= 400:
        return FailureReason.HTTP_ERROR
    return None
