"""One capture, start to finish: browse, record, render, seal, then publish atomically.

Work happens in ``<root>/.tmp-<id>`` (with ``<root>/.tmp-<id>.pid`` naming the owner); only a
fully sealed directory is renamed to ``<root>/<id>``. A killed capture leaves a dot-directory
that never counts as sealed and is removed by the next capture in that root. Pages that are
bot walls, login walls or missing (first capture) are moved to ``<root>/failed/<id>`` unsealed.

Every fetch passes the capture's fetch guard (``guarded.py``): a refused page is a failed result
naming the URL with no folder at all; a refused redirect hop or server address fails the
capture with only ``FAILED.json`` kept. Credentials (``Cookie``, ``Authorization``,
``Proxy-Authorization``, token query values) never reach the WARC or the metadata.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, Response
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from evidence.capture import dom, media, metadata, mhtml, pdf, process, screenshot, walls
from evidence.capture.browser import new_context
from evidence.capture.chromium import CHROMIUM_ARGS, sandbox_note
from evidence.capture.guarded import GuardedBrowsing
from evidence.capture.network import Exchange, TrafficRecorder
from evidence.capture.options import CaptureOptions, CaptureOutcome, CaptureResult, FailureReason
from evidence.capture.warc import write_warc
from evidence.exceptions import FetchRefused, SealError
from evidence.folders import private_folder
from evidence.redact import redact_headers, redact_mapping, redact_url
from evidence.seal import ArtifactWriter, SealConfig, canonical_json, seal_with

WARC_FILE = "traffic.warc.gz"
FAILED_DIR = "failed"


def new_capture_id(now: datetime | None = None) -> str:
    """Sortable and unique: ``20261201T002233Z-1a2b3c4d``."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{moment}-{secrets.token_hex(4)}"


def clean_stale(root: Path) -> list[Path]:
    """Remove work directories left by captures whose process is gone."""
    removed = []
    for work in root.glob(".tmp-*"):
        if not work.is_dir():
            continue
        pid_file = work.with_name(work.name + ".pid")
        if pid_file.exists() and _alive(pid_file):
            continue
        shutil.rmtree(work, ignore_errors=True)
        pid_file.unlink(missing_ok=True)
        removed.append(work)
    return removed


def _alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (ValueError, OSError):
        return False
    return True


@dataclass
class _Stages:
    times: dict[str, float] = field(default_factory=dict)
    _last: float = field(default_factory=time.perf_counter)
    log: process.StepLog = field(default_factory=process.StepLog)  # UTC step log

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.times[name] = self.times.get(name, 0.0) + now - self._last
        self._last = now
        self.log.mark(name)


@dataclass(frozen=True)
class CaptureJob:
    """What to capture and where; ``earlier`` lists prior sealed captures of the same page."""

    url: str
    root: Path
    options: CaptureOptions
    sealing: SealConfig
    subject: Mapping[str, Any] = field(default_factory=dict)
    earlier: Sequence[Mapping[str, Any]] = ()
    capture_id: str = ""


def refused(job: CaptureJob, capture_id: str, exc: FetchRefused) -> CaptureResult:
    """The page itself was refused by the fetch guard: nothing fetched, nothing written."""
    return CaptureResult(
        capture_id=capture_id,
        url=job.url,
        outcome=CaptureOutcome.FAILED,
        directory=None,
        reason=FailureReason.REFUSED,
        message=str(exc),
    )


async def capture(browser: Browser, job: CaptureJob) -> CaptureResult:
    """Run one capture in a fresh context of ``browser``; never leaves a half-sealed dir."""
    capture_id = job.capture_id or new_capture_id()
    try:
        await job.options.guard.check_async(job.url)
    except FetchRefused as exc:
        return refused(job, capture_id, exc)
    private_folder(job.root)
    clean_stale(job.root)
    work = job.root / f".tmp-{capture_id}"
    pid_file = job.root / f".tmp-{capture_id}.pid"
    pid_file.write_text(str(os.getpid()))
    work.mkdir()
    try:
        return await _capture(browser, job, capture_id, work)
    except PlaywrightError as exc:
        # the browser failed mid-capture (crash, timeout): a failed capture, never sealed
        return _failed(job, capture_id, work, FailureReason.BROWSER, exc.message, None, "")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        pid_file.unlink(missing_ok=True)


async def _capture(browser: Browser, job: CaptureJob, capture_id: str, work: Path) -> CaptureResult:
    stages = _Stages()
    started = datetime.now(UTC)
    writer = ArtifactWriter(work)
    recorder = TrafficRecorder(max_body_bytes=job.options.max_body_bytes)
    guarded = GuardedBrowsing(job.options.guard)
    context = await new_context(browser, job.options)
    try:
        await guarded.install(context)
        page = await context.new_page()
        recorder.attach(page)
        try:
            response = await page.goto(
                job.url, timeout=job.options.navigation_timeout_s * 1000, wait_until="load"
            )
        except PlaywrightError as exc:
            await recorder.finish()
            if (refusal := await guarded.settle()) is not None:
                return _refused(job, capture_id, work, refusal)
            return _failed(job, capture_id, work, FailureReason.NETWORK, exc.message, None, "")
        await _settle(page, job.options)
        stages.mark("navigate")
        if (refusal := await guarded.settle()) is not None:
            await recorder.finish()
            return _refused(job, capture_id, work, refusal)
        state = await _page_state(page, job.url, response)
        reason = walls.classify(state)
        removed = reason is FailureReason.NOT_FOUND and job.options.follow_up
        viewport_png = await screenshot.viewport(page)
        shot_at = datetime.now(UTC)
        writer.write_bytes(screenshot.VIEWPORT, viewport_png)
        full_png = await screenshot.full_page(page)
        writer.write_bytes(screenshot.FULL_PAGE, full_png)
        stages.mark("screenshot")
        if reason is not None and not removed:
            writer.write_bytes(dom.DOM_FILE, state.html.encode("utf-8"))
            await recorder.finish()
            return _failed(job, capture_id, work, reason, "", state.status, state.final_url)
        highlight = await _highlight(page, job.options.highlight_url)
        writer.write_bytes(
            process.ANNOTATED_FILE,
            process.annotate(full_png, state.final_url, shot_at, highlight, _note(job, highlight))
            if job.options.highlight_url
            else process.annotate(viewport_png, state.final_url, shot_at),
        )  # a marked-up copy; the raw screenshots stay raw
        writer.write_bytes(dom.DOM_FILE, state.html.encode("utf-8"))
        writer.write_bytes(dom.TEXT_FILE, state.text.encode("utf-8"))
        stages.mark("dom")
        if job.options.mhtml and not removed:
            writer.write_bytes(mhtml.MHTML_FILE, await mhtml.mhtml(page))
            stages.mark("mhtml")
        if job.options.pdf and not removed:
            writer.write_bytes(pdf.PDF_FILE, await pdf.pdf(page))
            stages.mark("pdf")
        exchanges = await recorder.finish()
        media_found, media_errors = await _media(context, job, exchanges, writer, removed)
        stages.mark("media")
        if (refusal := await guarded.settle()) is not None:
            return _refused(job, capture_id, work, refusal)
        redirects = await metadata.redirect_chain(response)
        certificate, certificate_error = await metadata.server_certificate(state.final_url)
        if certificate is not None:
            writer.write_bytes(metadata.TLS_CERT_FILE, certificate)
        browser_version = browser.version
    finally:
        await context.close()
    main = _main_exchange(exchanges, state.final_url)
    renderings = {name: d.sha256 for name, d in writer.digests.items()}
    info = {
        "software": f"rightswatch {metadata.environment(browser_version)['rightswatch']}",
        "operator": job.options.operator,
        "format": "WARC File Format 1.1",
        "browser": f"Chromium {browser_version}",
        "user-agent": job.options.user_agent,
    }
    with writer.open(WARC_FILE) as out:
        records = write_warc(
            out, exchanges, filename=WARC_FILE, info=info, main_url=state.final_url,
            renderings=renderings,
        )  # fmt: skip
    stages.mark("warc")
    outcome = CaptureOutcome.REMOVED if removed else CaptureOutcome.SEALED
    dns = await metadata.dns_answer(job.url)
    meta = {
        "capture_id": capture_id,
        "outcome": outcome.value,
        "requested_url": redact_url(job.url),
        "final_url": redact_url(state.final_url),
        "status": state.status,
        "redirects": redact_mapping(redirects),
        "headers": [list(h) for h in redact_headers(main.response_headers)] if main else [],
        "server": {"ip": main.server_ip, "port": main.server_port} if main else {},
        "tls": {
            **metadata.tls_summary(main),
            "certificate_file": metadata.TLS_CERT_FILE if certificate else None,
            "certificate_error": certificate_error or None,
        },
        "dns": dns,
        "environment": metadata.environment(browser_version),
        "options": job.options.as_dict(),
        "operator": job.options.operator,
        "started_utc": started.isoformat(),
        "ended_utc": datetime.now(UTC).isoformat(),
        "warc": {"file": WARC_FILE, "records": records, "responses": len(exchanges)},
        "failed_requests": redact_mapping(recorder.failures),
        "refused_requests": redact_mapping(guarded.blocked),
        "chromium_sandbox": sandbox_note(),
        "media": [
            {"file": name, "url": redact_url(ex.url), "status": ex.status}
            for name, ex in media_found
        ],
        "media_errors": redact_mapping(media_errors),
        "follow_up_of": list(job.earlier),
        "highlight": (
            {"url": job.options.highlight_url, "found": highlight is not None, "box": highlight}
            if job.options.highlight_url
            else None
        ),
        "process": {
            "steps": list(stages.log.steps),
            "launch": process.launch_record(job.options.chromium_path, CHROMIUM_ARGS),
            "profile": process.FRESH_PROFILE,
            "proxy": process.proxy_settings(),
            "hosts_file": process.hosts_file(),
            "dns": process.dns_check(dns, main.server_ip if main else None),
            "user_agent": process.user_agent_check(
                main.request_headers if main else (), browser_version
            ),
        },
        "subject": dict(job.subject),
    }
    writer.write_json(metadata.METADATA_FILE, meta)
    stages.mark("metadata")
    subject = {**job.subject, "capture_id": capture_id, "url": job.url, "outcome": outcome.value}
    try:
        record = seal_with(work, job.sealing, subject, writer.digests)
    except SealError as exc:
        return _failed(job, capture_id, work, FailureReason.SEALING, str(exc), state.status,
                       state.final_url)  # fmt: skip
    stages.mark("seal")
    final = job.root / capture_id
    work.rename(final)
    return CaptureResult(
        capture_id=capture_id,
        url=job.url,
        outcome=outcome,
        directory=final,
        final_url=state.final_url,
        status=state.status,
        manifest_sha256=record.manifest_sha256,
        seal=record.as_dict(),
        stages=dict(stages.times),
    )


async def _highlight(page: Page, url: str | None) -> tuple[int, int, int, int] | None:
    return await process.locate(page, url) if url else None


def _note(job: CaptureJob, box: tuple[int, int, int, int] | None) -> str:
    rank = job.subject.get("rank")
    where = f" (position {rank} when crawled)" if rank else ""
    if box is None:
        return f"no link to the item {job.options.highlight_url}{where} found on this page"
    return f"framed in red: the item {job.options.highlight_url}{where}"


async def _settle(page: Page, options: CaptureOptions) -> None:
    with contextlib.suppress(PlaywrightTimeout):
        await page.wait_for_load_state("networkidle", timeout=max(options.settle_ms * 4, 1000))
    if options.settle_ms:
        await page.wait_for_timeout(options.settle_ms)


async def _page_state(page: Page, url: str, response: Response | None) -> walls.PageState:
    return walls.PageState(
        requested_url=url,
        final_url=page.url,
        status=response.status if response is not None else 0,
        html=(await dom.dom_html(page)).decode("utf-8"),
        text=await dom.visible_text(page),
        password_fields=await page.locator("input[type=password]").count(),
    )


async def _media(
    context: BrowserContext,
    job: CaptureJob,
    exchanges: list[Exchange],
    writer: ArtifactWriter,
    removed: bool,
) -> tuple[list[tuple[str, Exchange]], list[dict[str, str]]]:
    if removed or not job.options.media_urls:
        return [], []
    found, errors = await media.collect(
        context,
        job.options.media_urls,
        exchanges,
        job.options.navigation_timeout_s,
        job.options.guard,
        job.options.max_body_bytes,
    )
    for name, exchange in found:
        writer.write_bytes(name, exchange.body)
    return found, errors


def _main_exchange(exchanges: Sequence[Exchange], final_url: str) -> Exchange | None:
    for exchange in exchanges:
        if exchange.url == final_url and exchange.resource_type == "document":
            return exchange
    return None


def _refused(job: CaptureJob, capture_id: str, work: Path, exc: FetchRefused) -> CaptureResult:
    """A fetch the guard refused went out during the capture: keep nothing of what was seen."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    return _failed(job, capture_id, work, FailureReason.REFUSED, str(exc), None, "")


def _failed(
    job: CaptureJob,
    capture_id: str,
    work: Path,
    reason: FailureReason,
    message: str,
    status: int | None,
    final_url: str,
) -> CaptureResult:
    """Keep what was seen, unsealed, under failed/ with the reason; certify nothing."""
    target = job.root / FAILED_DIR / capture_id
    target.parent.mkdir(parents=True, exist_ok=True)
    note = {"url": job.url, "final_url": final_url, "status": status, "reason": reason.value,
            "message": message, "sealed": False}  # fmt: skip
    (work / "FAILED.json").write_bytes(canonical_json(note))
    work.rename(target)
    return CaptureResult(
        capture_id=capture_id,
        url=job.url,
        outcome=CaptureOutcome.FAILED,
        directory=target,
        final_url=final_url,
        status=status,
        reason=reason,
        message=message or f"{job.url}: {reason.value.replace('_', ' ')} (HTTP {status})",
    )
