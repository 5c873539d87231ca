"""Capturing a page as evidence: one module per artifact, ``job.py`` ties them together.

Entry points: :func:`evidence.capture.job.capture` (async, shared browser) and
:func:`capture_url` (sync, launches its own browser).
"""

from __future__ import annotations

import asyncio

from evidence.capture.browser import launch_browser
from evidence.capture.job import CaptureJob, capture
from evidence.capture.options import CaptureOptions, CaptureOutcome, CaptureResult, FailureReason

__all__ = [
    "CaptureJob",
    "CaptureOptions",
    "CaptureOutcome",
    "CaptureResult",
    "FailureReason",
    "capture",
    "capture_url",
]


def capture_url(job: CaptureJob) -> CaptureResult:
    """Launch Chromium, capture ``job.url``, close Chromium (for the CLI and scripts)."""

    async def main() -> CaptureResult:
        async with launch_browser(job.options.chromium_path) as browser:
            return await capture(browser, job)

    return asyncio.run(main())
