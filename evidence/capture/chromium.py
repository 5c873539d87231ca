"""Debian's Chromium and the switches every browser use here launches it with.

Playwright's own browser downloads are not used: ``/usr/bin/chromium`` is Debian's package.
Without the background-networking switches Chromium keeps calling out to its vendor's
services, which a closed network refuses (``shared/research/stack.md`` §2).
"""

from __future__ import annotations

CHROMIUM_PATH = "/usr/bin/chromium"

CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
)
