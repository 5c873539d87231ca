"""Run digests for the enforcement team: a webhook (JSON POST) and optional SMTP e-mail.

Channels sit behind one Protocol and a scheme map. A channel that fails is reported, not fatal:
the run's evidence is already recorded, and the digest can be sent again from the run report.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from rightswatch.config import EmailConfig, NotificationsConfig
from rightswatch.errors import RightswatchError

log = logging.getLogger("rightswatch.notify")


class NotificationError(RightswatchError):
    """A digest could not be delivered through one channel."""

    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"notification via {channel} failed: {reason}")


@dataclass(frozen=True)
class DigestFinding:
    id: int
    character: str
    platform: str
    kind: str
    score: float
    decision: str
    page_url: str
    bundle: str | None = None
    report: str | None = None


@dataclass(frozen=True)
class Digest:
    """What one monitoring run found, for people."""

    run_id: int
    client: str
    started_at: str
    finished_at: str
    status: str
    new_findings: Sequence[DigestFinding] = ()
    captures: int = 0
    failures: Sequence[str] = ()
    counts: dict[str, Any] = field(default_factory=dict)
    review_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["new_findings"] = [asdict(f) for f in self.new_findings]
        data["failures"] = list(self.failures)
        return data

    def subject(self) -> str:
        if self.status == "failed":
            why = self.failures[0] if self.failures else "see the run report"
            return f"rightswatch: run {self.run_id} FAILED for {self.client}: {why}"[:300]
        return (
            f"rightswatch: {len(self.new_findings)} new finding(s) for {self.client} "
            f"(run {self.run_id}, {self.status})"
        )

    def to_text(self) -> str:
        lines = [self.subject(), "", f"Run {self.run_id}: {self.started_at} to {self.finished_at}"]
        lines.append(f"Evidence captures sealed: {self.captures}")
        if self.new_findings:
            lines += ["", "New findings (resemblance to be confirmed by a person):"]
            for f in self.new_findings:
                lines.append(
                    f"- #{f.id} {f.character} on {f.platform} ({f.kind}), score {f.score:.2f}, "
                    f"{f.decision}: {f.page_url}"
                )
                if f.bundle:
                    lines.append(f"  evidence bundle: {f.bundle}")
                if f.report:
                    lines.append(f"  report: {f.report}")
        if self.failures:
            lines += ["", "Failures:"] + [f"- {x}" for x in self.failures]
        if self.review_url:
            lines += ["", f"Review: {self.review_url}"]
        return "\n".join(lines) + "\n"


def shown_webhook(url: str) -> str:
    """A webhook URL as it may be shown or logged: scheme and host only.

    Webhook URLs are bearer credentials (Slack, Teams and most chat hooks carry their secret in
    the path or query), so only where they point is ever printed.
    """
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    tail = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}{port}{tail}"


class Channel(Protocol):
    @property
    def name(self) -> str: ...

    def send(self, digest: Digest) -> None: ...


Sleep = Callable[[float], None]


@dataclass
class WebhookChannel:
    """POST the digest as JSON; retry 5xx, 429 and connection errors with back-off."""

    url: str
    attempts: int = 5
    backoff: float = 1.0
    timeout: float = 10.0
    sleep: Sleep = time.sleep

    @property
    def name(self) -> str:
        return f"webhook {shown_webhook(self.url)}"

    def send(self, digest: Digest) -> None:
        body = json.dumps({"event": "rightswatch.run", "digest": digest.to_json()})
        headers = {"content-type": "application/json", "user-agent": "rightswatch"}
        last = "no attempt made"
        for attempt in range(1, self.attempts + 1):
            delay = self.backoff * 2 ** (attempt - 1)
            try:
                resp = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout)
            except httpx.HTTPError as exc:
                last = (
                    f"{type(exc).__name__}: {str(exc).replace(self.url, shown_webhook(self.url))}"
                )
            else:
                if resp.is_success:
                    return
                last = f"HTTP {resp.status_code}"
                if resp.status_code != 429 and resp.status_code < 500:
                    raise NotificationError(self.name, last)
                delay = max(delay, _retry_after(resp.headers.get("retry-after")))
            if attempt < self.attempts:
                log.warning("%s: %s; retrying in %.1f s", self.name, last, delay)
                self.sleep(delay)
        raise NotificationError(self.name, f"{last} after {self.attempts} attempts")


def _retry_after(value: str | None) -> float:
    try:
        return min(float(value), 300.0) if value else 0.0
    except ValueError:
        return 0.0


@dataclass
class EmailChannel:
    """One plain-text e-mail per run through SMTP (STARTTLS by default)."""

    config: EmailConfig
    timeout: float = 30.0

    @property
    def name(self) -> str:
        return f"email via {self.config.smtp_host}:{self.config.smtp_port}"

    def send(self, digest: Digest) -> None:
        cfg = self.config
        msg = EmailMessage()
        msg["Subject"] = digest.subject()
        msg["From"] = cfg.sender
        msg["To"] = ", ".join(cfg.recipients)
        msg.set_content(digest.to_text())
        password = os.environ.get(cfg.password_env) if cfg.password_env else None
        if cfg.password_env and password is None:
            raise NotificationError(self.name, f"${cfg.password_env} is not set")
        try:
            with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=self.timeout) as smtp:
                if cfg.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if cfg.username and password is not None:
                    smtp.login(cfg.username, password)
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotificationError(self.name, str(exc) or type(exc).__name__) from exc


WEBHOOK_SCHEMES: dict[str, Callable[[str], Channel]] = {
    "http": WebhookChannel,
    "https": WebhookChannel,
}


def channels(config: NotificationsConfig) -> list[Channel]:
    """The channels a configuration asks for."""
    found: list[Channel] = []
    if config.webhook_url is not None:
        url = str(config.webhook_url)
        found.append(WEBHOOK_SCHEMES[config.webhook_url.scheme](url))
    if config.email is not None:
        found.append(EmailChannel(config.email))
    return found


def send_digest(targets: Sequence[Channel], digest: Digest) -> list[NotificationError]:
    """Send through every channel; return the failures instead of stopping at the first."""
    failures: list[NotificationError] = []
    for channel in targets:
        try:
            channel.send(digest)
        except NotificationError as exc:
            log.error("%s", exc)
            failures.append(exc)
    return failures
