"""The capture browser: Debian Chromium driven by Playwright, one fresh context per capture."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from evidence.capture.chromium import CHROMIUM_ARGS, CHROMIUM_PATH
from evidence.capture.options import CaptureOptions
from evidence.capture.process import user_agent_for
from evidence.exceptions import CaptureError


@asynccontextmanager
async def launch_browser(
    chromium_path: str = CHROMIUM_PATH, extra_args: tuple[str, ...] = ()
) -> AsyncIterator[Browser]:
    """Start headless Chromium; always closed on exit.

    ``extra_args`` is for deliberate, recorded exceptions such as
    ``--ignore-certificate-errors-spki-list=<pin>`` for a test server's certificate.
    """
    async with async_playwright() as playwright:
        browser = await _launch(playwright, chromium_path, extra_args)
        try:
            yield browser
        finally:
            await browser.close()


async def _launch(
    playwright: Playwright, chromium_path: str, extra_args: tuple[str, ...] = ()
) -> Browser:
    try:
        return await playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
        )
    except PlaywrightError as exc:
        raise CaptureError(f"{chromium_path}: cannot start Chromium ({exc.message})") from exc


async def new_context(
    browser: Browser, options: CaptureOptions, storage_state: Path | None = None
) -> BrowserContext:
    """A fresh context with the fixed, recorded environment and no service workers; no cookies
    but those of the platform's login session (``storage_state``, read by Chromium only)."""
    return await browser.new_context(
        viewport={"width": options.viewport_width, "height": options.viewport_height},
        # the configured UA, naming the Chromium version actually running (no mismatch)
        user_agent=user_agent_for(options.user_agent, browser.version),
        locale=options.locale,
        timezone_id=options.timezone,
        device_scale_factor=1,
        service_workers="block",
        accept_downloads=False,
        storage_state=storage_state,
    )
