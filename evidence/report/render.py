"""Rendering the court report: Jinja2 HTML, then PDF through Chromium's ``page.pdf``.

The report states facts and resemblance ("resembles" / "相似"); it never concludes
infringement. Sections follow research/evidence.md §3.2 (FRE 902(13)/(14) certification) and
§3.1 (取证说明: process, environment, hashes, timestamps for PRC courts).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, PackageLoader, select_autoescape

from evidence.capture.browser import launch_browser
from evidence.exceptions import ReportError
from evidence.settings import EvidenceSettings
from evidence.wording import reason_sentences

HTML_FILE = "report.html"
PDF_FILE = "report.pdf"


@dataclass(frozen=True)
class ReportInput:
    """One finding staged in a bundle: its folder, facts and custody entries."""

    finding_id: int
    folder: Path
    facts: Mapping[str, Any]
    custody: Sequence[Mapping[str, Any]]


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("evidence.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _times(value: str | None, zone: ZoneInfo) -> dict[str, str]:
    if not value:
        return {"utc": "—", "local": "—"}
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return {
        "utc": moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "local": moment.astimezone(zone).strftime(f"%Y-%m-%d %H:%M:%S {zone.key}"),
    }


def _capture_view(folder: Path, cap: Mapping[str, Any], zone: ZoneInfo) -> dict[str, Any] | None:
    directory = folder / "captures" / str(cap.get("capture_id") or "")
    if not (directory / "manifest.json").is_file():
        return None
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    meta = json.loads((directory / "metadata.json").read_text(encoding="utf-8"))
    rel = f"captures/{directory.name}"
    stamps = [
        {**t, **{f"gen_{k}": v for k, v in _times(t.get("gen_time"), zone).items()}}
        for t in cap.get("timestamps", [])
    ]
    return {
        "id": directory.name,
        "status": cap["status"],
        "http_status": cap.get("http_status"),
        "url": meta.get("requested_url"),
        "final_url": meta.get("final_url"),
        "start": _times(meta.get("started_utc"), zone),
        "end": _times(meta.get("ended_utc"), zone),
        "manifest_sha256": cap.get("manifest_sha256"),
        "files": manifest["files"],
        "key_fingerprint": manifest.get("key_fingerprint"),
        "timestamps": stamps,
        "server": meta.get("server", {}),
        "dns": meta.get("dns", {}),
        "tls": meta.get("tls", {}),
        "redirects": meta.get("redirects", []),
        "environment": meta.get("environment", {}),
        "options": meta.get("options", {}),
        "operator": meta.get("operator"),
        "screenshot": f"{rel}/screenshot-full.png",
        "viewport": f"{rel}/screenshot-viewport.png",
        "media": [f"{rel}/{m['file']}" for m in meta.get("media", [])],
        "images": [
            f"{rel}/{m['file']}"
            for m in meta.get("media", [])
            if str(m["file"]).lower().endswith((".png", ".jpg", ".jpeg", ".webp", ".gif"))
        ],
    }


def render_html(item: ReportInput, settings: EvidenceSettings) -> str:
    """The report HTML for one staged finding (image paths relative to its folder)."""
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ReportError(f"[evidence] timezone {settings.timezone!r} is unknown") from exc
    facts = item.facts
    captures = [v for c in facts["captures"] if (v := _capture_view(item.folder, c, zone))]
    references = [r for r in facts.get("references_in_bundle", []) if "file" in r]
    latest = captures[-1] if captures else None
    custody = [{**e, **_times(str(e["at"]), zone)} for e in item.custody]
    template = _environment().get_template("report.html.j2")
    return template.render(
        facts=facts,
        reasons=reason_sentences(facts["finding"]["reasons"]),
        captures=captures,
        latest=latest,
        references=references,
        custody=custody,
        operator=settings.operator,
        zone=zone.key,
        key_fingerprint=facts.get("key_fingerprint") or (latest or {}).get("key_fingerprint"),
        tolerance=f"{settings.time_tolerance_s:g}",
    )


async def _pdfs(items: Sequence[ReportInput], settings: EvidenceSettings) -> None:
    async with launch_browser(settings.chromium_path) as browser:
        context = await browser.new_context()
        try:
            for item in items:
                page = await context.new_page()
                await page.goto((item.folder / HTML_FILE).resolve().as_uri(), wait_until="load")
                data = await page.pdf(
                    format="A4",
                    print_background=True,
                    margin={"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"},
                )
                (item.folder / PDF_FILE).write_bytes(data)
                await page.close()
        finally:
            await context.close()


def render_reports(items: Sequence[ReportInput], settings: EvidenceSettings) -> None:
    """Write report.html and report.pdf into each staged finding folder."""
    for item in items:
        (item.folder / HTML_FILE).write_text(render_html(item, settings), encoding="utf-8")
    asyncio.run(_pdfs(items, settings))
