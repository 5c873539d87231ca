"""A record of how each capture was made (``metadata.json`` → ``process``).

What an opposing expert asks about the capture environment (Civil Evidence Provisions Art. 93:
a complete, reliable, normally running environment; research/evidence.md §3.1, §3.4 item 2):

- a timestamped step log (UTC time and duration of each stage);
- the browser's launch switches and executable, and a statement that every capture runs in a
  fresh, empty browser context (no profile, cookies, storage or service workers);
- proxy settings in the capture's environment (credentials removed) and that the browser was
  given no proxy;
- the SHA-256 of the hosts file, so a redirected name would show, and the address the browser
  connected to beside the resolver's answer;
- the User-Agent actually sent with the page request, checked against the browser's version;
- an *annotated* copy of the viewport screenshot with the URL and UTC time in a banner (the
  raw screenshots stay untouched).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from PIL import Image, ImageDraw, ImageFont
from playwright.async_api import Page

ANNOTATED_FILE = "screenshot-annotated.png"
HOSTS_FILE = Path("/etc/hosts")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
FRESH_PROFILE = (
    "a new, empty browser context for this capture only: no user profile, cookies, local "
    "storage or cache from earlier browsing; service workers blocked; downloads refused"
)
_CHROME_TOKEN = re.compile(r"Chrome/[\d.]+")
_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@dataclass
class StepLog:
    """When each stage of a capture ended (UTC) and how long it took."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    _last: datetime = field(default_factory=lambda: datetime.now(UTC))

    def mark(self, name: str) -> None:
        now = datetime.now(UTC)
        self.steps.append(
            {"step": name, "at": now.isoformat(), "seconds": (now - self._last).total_seconds()}
        )
        self._last = now


def user_agent_for(configured: str, browser_version: str) -> str:
    """The configured User-Agent with its ``Chrome/…`` token set to the real browser version."""
    if not browser_version or not _CHROME_TOKEN.search(configured):
        return configured
    return _CHROME_TOKEN.sub(f"Chrome/{browser_version}", configured, count=1)


def user_agent_check(
    request_headers: Sequence[tuple[str, str]], browser_version: str
) -> dict[str, Any]:
    """The User-Agent the page request carried, and whether it names the browser's version."""
    sent = next((v for k, v in request_headers if k.lower() == "user-agent"), None)
    token = _CHROME_TOKEN.search(sent or "")
    claimed = token.group(0).removeprefix("Chrome/") if token else None
    return {
        "sent": sent,
        "browser_version": browser_version,
        "claimed_version": claimed,
        "consistent": claimed == browser_version if claimed else sent is not None,
    }


def dns_check(resolver: Mapping[str, Any], server_ip: str | None) -> dict[str, Any]:
    """The address the browser actually connected to, beside the resolver's answer."""
    addresses = list(resolver.get("addresses") or [])
    return {
        "resolver_answer": addresses,
        "browser_connected_to": server_ip or None,
        "consistent": bool(server_ip) and server_ip in addresses,
    }


def hosts_file(path: Path = HOSTS_FILE) -> dict[str, Any]:
    """SHA-256 and size of the hosts file (or why it could not be read)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return {"path": str(path), "error": exc.strerror}
    return {"path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _without_credentials(value: str) -> str:
    parts = urlsplit(value)
    if not parts.username and not parts.password:
        return value
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, f"[credentials removed]@{netloc}", parts.path, "", ""))


def proxy_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Proxy variables of the capture process (credentials removed); the browser gets none."""
    env = os.environ if environ is None else environ
    found = {}
    for name in PROXY_VARIABLES:
        value = env.get(name) or env.get(name.lower())
        found[name] = _without_credentials(value) if value else None
    return {"environment": found, "browser_proxy": None}


def launch_record(executable: str, switches: Sequence[str]) -> dict[str, Any]:
    return {"executable": executable, "headless": True, "switches": list(switches)}


async def locate(page: Page, target_url: str) -> tuple[int, int, int, int] | None:
    """Where on the full page (x, y, width, height) the first link to ``target_url`` is."""
    path = urlsplit(target_url).path
    found = await page.evaluate(
        """([url, path]) => {
            for (const a of document.querySelectorAll('a[href]')) {
                const href = a.href;
                if (href === url || new URL(href).pathname === path) {
                    const r = a.getBoundingClientRect();
                    if (r.width > 0 && r.height > 0) {
                        return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height];
                    }
                }
            }
            return null;
        }""",
        [target_url, path],
    )
    if not found:
        return None
    x, y, w, h = (round(float(v)) for v in found)
    return x, y, w, h


def annotate(
    png: bytes,
    url: str,
    moment: datetime,
    box: tuple[int, int, int, int] | None = None,
    note: str | None = None,
) -> bytes:
    """A copy of a screenshot with a banner stating the URL and the UTC time above it, and,
    for a listing, a red frame around the item (``box`` in screenshot pixels) and a note."""
    shot = Image.open(io.BytesIO(png)).convert("RGB")
    if box is not None:
        x, y, w, h = box
        ImageDraw.Draw(shot).rectangle((x - 3, y - 3, x + w + 3, y + h + 3), outline=(220, 0, 0),
                                       width=4)  # fmt: skip
    try:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(str(_FONT), 16)
    except OSError:
        font = ImageFont.load_default()
    text = [url, f"captured {moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC (annotated copy)"]
    if note:
        text.append(note)
    banner = 12 + 22 * len(text)
    canvas = Image.new("RGB", (shot.width, shot.height + banner), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, shot.width, banner - 1), fill=(20, 20, 20))
    for index, line in enumerate(text):
        draw.text((8, 6 + 22 * index), line, fill=(255, 255, 255), font=font)
    canvas.paste(shot, (0, banner))
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()
