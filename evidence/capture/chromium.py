"""Debian's Chromium and the switches every browser use here launches it with.

Playwright's own browser downloads are not used: ``/usr/bin/chromium`` is Debian's package.
Without the background-networking switches Chromium keeps calling out to its vendor's
services, which a closed network refuses (``shared/research/stack.md`` §2).

Chromium's sandbox stays on whenever the process is not root: it is what keeps a hostile page
that exploits the renderer inside it. Chromium refuses to start sandboxed as root, so only then
(or when ``RIGHTSWATCH_CHROMIUM_NO_SANDBOX=1`` says the host cannot provide one) is it turned
off, and :func:`sandbox_note` says so in every capture record.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

CHROMIUM_PATH = "/usr/bin/chromium"
NO_SANDBOX_ENV = "RIGHTSWATCH_CHROMIUM_NO_SANDBOX"

BASE_ARGS: tuple[str, ...] = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
)


def sandbox_off_reason(
    euid: int | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """Why the sandbox must be off here, or None when it stays on."""
    env = os.environ if environ is None else environ
    if (os.geteuid() if euid is None else euid) == 0:
        return "running as root: Chromium does not start sandboxed as root"
    if env.get(NO_SANDBOX_ENV) == "1":
        return f"{NO_SANDBOX_ENV}=1: the operator said this host cannot sandbox Chromium"
    return None


def launch_args(
    euid: int | None = None, environ: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """The switches for this process: ``--no-sandbox`` only when :func:`sandbox_off_reason`."""
    off = sandbox_off_reason(euid, environ) is not None
    return (*(("--no-sandbox",) if off else ()), *BASE_ARGS)


def sandbox_note() -> dict[str, object]:
    """What a capture record says about the sandbox."""
    reason = sandbox_off_reason()
    return {"enabled": reason is None, "reason": reason or "not root: Chromium's sandbox is on"}


# the one definition every launcher uses (capture, the gallery spider, tests)
CHROMIUM_ARGS: tuple[str, ...] = launch_args()
