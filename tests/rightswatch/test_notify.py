"""Digests reach a local webhook receiver (with retries) and a local SMTP server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from rightswatch.config import EmailConfig, NotificationsConfig
from rightswatch.notify import (
    Digest,
    DigestFinding,
    EmailChannel,
    NotificationError,
    WebhookChannel,
    channels,
    send_digest,
)
from tests.support.webhook import Receiver

DIGEST = Digest(
    run_id=7,
    client="Acme",
    started_at="2026-11-30T03:00:00+00:00",
    finished_at="2026-11-30T03:04:10+00:00",
    status="succeeded",
    new_findings=[
        DigestFinding(
            1,
            "Hero",
            "civitai",
            "model",
            0.93,
            "flag",
            "https://civitai.com/models/1",
            bundle="/evidence/f1/case.zip",
        ),
    ],
    captures=1,
    failures=["huggingface: model x/y: safetensors header length absurd"],
)


def test_webhook_retries_with_backoff_and_honours_retry_after() -> None:
    sleeps: list[float] = []
    with Receiver([(500, {}), (429, {"Retry-After": "7"})]) as rx:
        WebhookChannel(rx.url, backoff=0.5, sleep=sleeps.append).send(DIGEST)
    assert len(rx.bodies) == 3
    assert sleeps == [0.5, 7.0]
    body = rx.bodies[-1]
    assert body["event"] == "rightswatch.run"
    assert body["digest"]["run_id"] == 7
    assert body["digest"]["new_findings"][0]["page_url"] == "https://civitai.com/models/1"


def test_webhook_gives_up_with_a_named_error() -> None:
    with (
        Receiver([(503, {})] * 3) as rx,
        pytest.raises(
            NotificationError,
            match=r"webhook http://127\.0\.0\.1:\d+/… failed: HTTP 503 after 3 attempts",
        ),
    ):
        WebhookChannel(rx.url, attempts=3, sleep=lambda _s: None).send(DIGEST)
    assert len(rx.bodies) == 3


def test_webhook_client_error_is_not_retried() -> None:
    with Receiver([(404, {})]) as rx, pytest.raises(NotificationError, match="HTTP 404"):
        WebhookChannel(rx.url, sleep=lambda _s: None).send(DIGEST)
    assert len(rx.bodies) == 1


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd needs a concrete port to check it started
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, inbox
    controller.stop()


def test_email_digest_is_delivered(smtp: tuple[Controller, Inbox]) -> None:
    controller, inbox = smtp
    cfg = EmailConfig(
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        starttls=False,
        sender="rw@example.com",
        recipients=["team@example.com"],
    )
    failures = send_digest(channels(NotificationsConfig(email=cfg)), DIGEST)
    assert failures == []
    text = inbox.messages[0].decode()
    assert "Subject: rightswatch: 1 new finding(s) for Acme (run 7, succeeded)" in text
    assert "#1 Hero on civitai (model), score 0.93, flag: https://civitai.com/models/1" in text
    assert "resemblance to be confirmed by a person" in text


def test_one_failing_channel_does_not_stop_the_others(smtp: tuple[Controller, Inbox]) -> None:
    controller, inbox = smtp
    good = EmailChannel(
        EmailConfig(
            smtp_host="127.0.0.1",
            smtp_port=controller.port,
            starttls=False,
            sender="a@b.c",
            recipients=["d@e.f"],
        )
    )
    bad = WebhookChannel("http://127.0.0.1:1/hook", attempts=2, sleep=lambda _s: None)
    failures = send_digest([bad, good], DIGEST)
    assert [f.channel for f in failures] == ["webhook http://127.0.0.1:1/…"]
    assert len(inbox.messages) == 1


def test_missing_password_variable_is_named() -> None:
    cfg = EmailConfig(
        smtp_host="127.0.0.1",
        sender="a@b.c",
        recipients=["d@e.f"],
        username="u",
        password_env="RW_TEST_SMTP_PASSWORD_UNSET",
    )
    with pytest.raises(NotificationError, match=r"\$RW_TEST_SMTP_PASSWORD_UNSET is not set"):
        EmailChannel(cfg).send(DIGEST)
