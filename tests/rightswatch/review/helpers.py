"""Small helpers shared by the review tests."""

from __future__ import annotations

import re

WATCH_TOML = """\
# the client's watch list
[client]
name = "Example Studio"

[[characters]]
name = "Hero"   # the main character
aliases = { en = ["hero"] }

[[characters]]
name = "Villain"
allowlist = ["licensed-artist"]
"""


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)
