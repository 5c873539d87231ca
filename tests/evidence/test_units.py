"""Fast unit tests: wall classification, TLS summary, SURT keys, custody chains, WACZ checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from evidence.capture.metadata import tls_summary
from evidence.capture.network import Exchange
from evidence.capture.options import FailureReason
from evidence.capture.walls import PageState, classify
from evidence.custody import (
    GENESIS,
    CustodyAction,
    append,
    chain_problems,
    next_entry,
    read_log,
)
from evidence.exceptions import CustodyError
from evidence.wacz import surt, wacz_problems


def state(status: int = 200, html: str = "<p>art</p>", text: str = "art", url: str = "https://x/a",
          final: str | None = None, pw: int = 0) -> PageState:  # fmt: skip
    return PageState(url, final or url, status, html, text, pw)


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        (state(), None),
        (state(404), FailureReason.NOT_FOUND),
        (state(410), FailureReason.NOT_FOUND),
        (state(403, "<title>Just a moment...</title>"), FailureReason.BOT_WALL),
        (state(429), FailureReason.BOT_WALL),
        (state(200, '<div class="cf-turnstile"></div>'), FailureReason.BOT_WALL),
        (state(200, '<div class="h-captcha"></div>'), FailureReason.BOT_WALL),
        (state(401), FailureReason.LOGIN_WALL),
        (state(final="https://x/login?next=/a"), FailureReason.LOGIN_WALL),
        (state(text="Please log in to continue", pw=1), FailureReason.LOGIN_WALL),
        (state(text="请登录", pw=1), FailureReason.LOGIN_WALL),
        (state(500), FailureReason.HTTP_ERROR),
        (state(url="https://x/login", final="https://x/login"), None),
    ],
)
def test_classify(page: PageState, reason: FailureReason | None) -> None:
    assert classify(page) is reason


def exchange(url: str, security: dict | None) -> Exchange:
    return Exchange(url, "GET", (), b"", 200, "OK", "HTTP/1.1", (), b"", "", "1.2.3.4", 443,
                    security, datetime.now(UTC), "document")  # fmt: skip


def test_tls_summary() -> None:
    assert tls_summary(exchange("http://x/", None)) == {"https": False}
    details = {"protocol": "TLS 1.3", "subjectName": "x.example", "issuer": "R11",
               "validFrom": 1767225600, "validTo": 1775001600}  # fmt: skip
    summary = tls_summary(exchange("https://x/", details))
    assert summary["subject"] == "x.example" and summary["issuer"] == "R11"
    assert summary["valid_from"] == "2026-01-01T00:00:00+00:00"


def test_surt() -> None:
    assert surt("https://www.Example.com/A/b?z=1&a=2") == "com,example)/a/b?a=2&z=1"
    assert surt("http://127.0.0.1:8080/x") == "1,0,0,127:8080)/x"


def test_custody_file_chain(tmp_path) -> None:
    log = tmp_path / "custody.jsonl"
    first = next_entry(None, CustodyAction.CAPTURED, actor="a", subject="finding:1")
    assert first.prev == GENESIS
    append(log, first)
    second = next_entry(first, CustodyAction.SEALED, actor="a", subject="finding:1",
                        details={"manifest": "ab"})  # fmt: skip
    append(log, second)
    with pytest.raises(CustodyError, match="does not chain"):
        append(log, next_entry(first, CustodyAction.EXPORTED, actor="a", subject="finding:1"))
    entries = read_log(log)
    assert chain_problems(entries, source="c") == []
    edited = entries[1].__class__(**{**entries[1].__dict__, "actor": "mallory"})
    problems = chain_problems([entries[0], edited], source="c")
    assert problems == ["c line 2: entry hash does not match its content"]
    assert "reordered" in chain_problems(list(reversed(entries)), source="c")[0]
    log.write_text("not json\n")
    with pytest.raises(CustodyError, match="line 1: not JSON"):
        read_log(log)


def test_wacz_problems_on_garbage(tmp_path) -> None:
    bad = tmp_path / "x.wacz"
    bad.write_bytes(b"not a zip")
    assert wacz_problems(bad)[0].startswith("not a readable zip")


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:42409/item/x", "https://www.Example.com/A/b?z=1&a=2",
     "https://civitai.com/models/123/slug?x=1", "https://sub.example.co.uk:8443/p"],
)  # fmt: skip
def test_surt_matches_the_reference_implementation(url: str) -> None:
    from surt import surt as reference  # installed with wacz (dev extra), as pywb uses it

    assert surt(url) == reference(url)


def test_one_warc_writer_for_wire_bytes_and_browser_views(tmp_path) -> None:
    """The crawler (wire bytes) and the capture (decoded bodies) write through one writer:
    credentials never reach a record, transfer headers are kept as the body allows."""
    from warcio.archiveiterator import ArchiveIterator

    from evidence.capture.warc import WarcWriter

    secret = (("Authorization", "Bearer s3cret"), ("Cookie", "sid=s3cret"), ("Accept", "*/*"))
    url = "https://x/a?token=s3cret"
    headers = (("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked"))
    path = tmp_path / "x.warc.gz"
    with path.open("wb") as fh:
        warc = WarcWriter(fh, path.name, {"software": "test"})
        for decoded in (False, True):
            exchange = Exchange(url, "GET", secret, b"", 200, "OK", "HTTP/1.1",
                                headers, b"body", "", "1.2.3.4", 443, None, datetime.now(UTC),
                                "document", decoded=decoded)  # fmt: skip
            warc.exchange(exchange)
        warc.resource("https://x/a", b"<html/>", content_type="text/html")
    with path.open("rb") as fh:
        records = [
            (r.rec_type, r.http_headers, r.content_stream().read()) for r in ArchiveIterator(fh)
        ]
    types = [t for t, _, _ in records]
    assert types == ["warcinfo", "response", "request", "response", "request", "metadata",
                     "resource"]  # fmt: skip
    with path.open("rb") as fh:
        uris = [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(fh)]
    assert "https://x/a?token=REDACTED" in uris and not any("s3cret" in str(u) for u in uris)
    for kind, http, _ in records:
        if kind == "request":
            assert http.get_header("Authorization") is None and http.get_header("Cookie") is None
            assert http.get_header("Accept") == "*/*"
    wire, decoded = records[1][1], records[3][1]
    assert wire.get_header("Content-Encoding") == "gzip"
    assert wire.get_header("X-Archive-Orig-Transfer-Encoding") == "chunked"
    assert decoded.get_header("Content-Encoding") is None
    assert decoded.get_header("Content-Length") == "4"


def test_redaction_of_urls_headers_text_and_logs() -> None:
    import logging

    from evidence.redact import (
        RedactingFilter,
        redact_headers,
        redact_mapping,
        redact_text,
        redact_url,
    )

    assert (
        redact_url("postgresql+psycopg://rw:pw@127.0.0.1/db")
        == "postgresql+psycopg://rw:***@127.0.0.1/db"
    )
    assert redact_url("https://h/a?token=abc&page=2") == "https://h/a?token=REDACTED&page=2"
    assert redact_url("https://h/a?page=2") == "https://h/a?page=2"
    pairs = [
        ("Cookie", "s=1"),
        ("authorization", "Bearer x"),
        ("Set-Cookie", "s=1"),
        ("Accept", "*/*"),
    ]
    assert redact_headers(pairs) == [("Accept", "*/*")]
    text = "cannot reach redis://:hunter2@127.0.0.1:6379/0 or https://h/x?access_token=zz"
    assert "hunter2" not in redact_text(text) and "zz" not in redact_text(text)
    assert redact_mapping({"url": "https://u:p@h/", "api_token": "t", "n": [1]}) == {
        "url": "https://u:***@h/",
        "api_token": "REDACTED",
        "n": [1],
    }
    record = logging.LogRecord("x", logging.INFO, "f", 1, "GET %s", ("https://h/?token=abc",), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "GET https://h/?token=REDACTED"
