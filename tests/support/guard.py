"""Test support: capture options that treat a local test server as a configured platform.

The capture refuses loopback addresses unless the host is a configured platform, as the
sandbox configures itself in watch.toml; a test's local page site is configured the same way.
"""

from __future__ import annotations

from dataclasses import replace

from evidence.capture import CaptureOptions
from evidence.capture.guarded import CaptureGuard


def local_guard(url: str) -> CaptureGuard:
    return CaptureGuard.for_platforms([(url, ())])


def allow(url: str, options: CaptureOptions) -> CaptureOptions:
    """``options`` whose fetch guard allows the server of ``url`` (besides public addresses)."""
    return replace(options, guard=local_guard(url))
