"""Faults on demand: the ``--faults`` SPEC, a ``?sandbox_fault=`` flag, and the middleware.

SPEC is a comma-separated list of rules::

    SPEC  := RULE ("," RULE)*
    RULE  := NAME ["=" VALUE [":" PARAM]] ["@" PREFIX]

Request faults (VALUE = probability 0..1 per request, default 1; PREFIX limits the rule to
paths starting with it):

- ``429=P[:S]``: 429 with ``Retry-After: S`` (default 1) and ``RateLimit`` headers;
- ``500=P``: 500 with a JSON error body (HTML outside ``/api``);
- ``slow=P[:S]``: answer after S seconds (default 1.0);
- ``drop=P``: send the headers and a few body bytes, then close the connection;
- ``truncate=P``: image and file bodies cut to half (``Content-Length`` matches the cut);
- ``challenge=P``: a Cloudflare-like 403 "Just a moment..." page, never content.

Content faults (VALUE = number of items, default 1; chosen from the seed, listed in the
ground truth's ``fault`` field):

- ``bomb=N``: decompression-bomb PNGs; ``corrupt-jpeg=N``: undecodable JPEGs;
- ``st-huge-header=N``: safetensors whose header length is 2**63;
- ``st-bad-json=N``: safetensors whose header JSON is broken;
- ``st-long-header=N``: safetensors with a valid header of about 96 kB (two Range reads);
- ``script-title=N``: model titles that start with an HTML ``<script>`` element;
- ``file-url=N``: Civitai images whose media URL is ``file:///etc/passwd``;
- ``admin-url=N``: Civitai images whose media URL is a loopback admin page
  (``http://127.0.0.1:9/admin``, a port the sandbox does not serve).

``?sandbox_fault=NAME[,NAME]`` on any URL forces request faults for that one request. Paths
under ``/sandbox/`` and ``/tsa`` never fail. Decisions hash (seed, rule, method, URL, n-th
repetition), so the same request sequence fails the same way on every run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.clock import Clock
from sandbox.errors import FaultSpecError

REQUEST_FAULTS = ("challenge", "429", "500", "drop", "slow", "truncate")
CONTENT_FAULTS = (
    "bomb",
    "corrupt-jpeg",
    "st-huge-header",
    "st-bad-json",
    "st-long-header",
    "script-title",
    "file-url",
    "admin-url",
)
EXEMPT_PREFIXES = ("/sandbox/", "/tsa")
FLAG = "sandbox_fault"
_DEFAULT_PARAM = {"429": 1.0, "slow": 1.0}
_TRUNCATABLE = ("image/", "application/octet-stream")
CHALLENGE_HTML = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"><meta name="robots" content="noindex,nofollow">
</head><body><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">Checking your browser before accessing the site.</h1>
<h2 class="h2" id="challenge-running">Verify you are human by completing the action below.</h2>
<noscript><div id="challenge-error-title">Enable JavaScript and cookies to continue</div></noscript>
<div id="challenge-error-text"></div></div></div>
<div class="footer">Performance &amp; security by Cloudflare (sandbox imitation)</div>
</body></html>
"""


@dataclass(frozen=True)
class RequestRule:
    """One request fault: ``name`` fires with probability ``rate`` under ``prefix``."""

    name: str
    rate: float
    param: float = 0.0
    prefix: str = "/"


@dataclass(frozen=True)
class FaultPlan:
    """A parsed SPEC: request rules and content-fault counts."""

    rules: tuple[RequestRule, ...] = ()
    content: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


def _number(rule: str, text: str, kind: type[float] | type[int]) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise FaultSpecError(rule, f"{text!r} is not a number") from None
    if value < 0:
        raise FaultSpecError(rule, "must not be negative")
    return value


def parse_fault_spec(spec: str) -> FaultPlan:
    """Parse a SPEC (see the module docstring); raises FaultSpecError naming the bad rule."""
    rules: list[RequestRule] = []
    content: dict[str, int] = {}
    for raw in (part.strip() for part in spec.split(",")):
        if not raw:
            continue
        body, _, prefix = raw.partition("@")
        name, _, value = body.partition("=")
        name = name.strip().lower()
        if name in CONTENT_FAULTS:
            if prefix:
                raise FaultSpecError(raw, "content faults take no @PREFIX")
            content[name] = int(_number(raw, value or "1", int))
            continue
        if name not in REQUEST_FAULTS:
            known = ", ".join((*REQUEST_FAULTS, *CONTENT_FAULTS))
            raise FaultSpecError(raw, f"unknown fault {name!r} (known: {known})")
        rate_text, _, param_text = (value or "1").partition(":")
        rate = _number(raw, rate_text, float)
        if rate > 1:
            raise FaultSpecError(raw, "a probability is at most 1")
        param = _number(raw, param_text, float) if param_text else _DEFAULT_PARAM.get(name, 0.0)
        if prefix and not prefix.startswith("/"):
            raise FaultSpecError(raw, "@PREFIX must start with /")
        rules.append(RequestRule(name, rate, param, prefix or "/"))
    return FaultPlan(tuple(rules), MappingProxyType(content))


class _QuietDrops(logging.Filter):
    """Hide uvicorn's complaint about responses we cut short on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


class FaultMiddleware:
    """ASGI middleware that injects the request faults of a plan (and of the query flag)."""

    def __init__(
        self, app: ASGIApp, plan: FaultPlan, seed: int, clock: Clock | None = None
    ) -> None:
        self.app = app
        self.plan = plan
        self.seed = seed
        self.clock = clock or Clock()
        self.seen: Counter[str] = Counter()
        logging.getLogger("uvicorn.error").addFilter(_QuietDrops())

    def _chosen(self, scope: Scope) -> dict[str, float]:
        query = scope.get("query_string", b"").decode("latin-1")
        chosen: dict[str, float] = {}
        for forced in parse_qs(query).get(FLAG, []):
            for name in forced.split(","):
                if name in REQUEST_FAULTS:
                    rule = next((r for r in self.plan.rules if r.name == name), None)
                    chosen[name] = rule.param if rule else _DEFAULT_PARAM.get(name, 0.0)
        key = f"{scope['method']} {scope['path']}?{query}"
        self.seen[key] += 1
        for rule in self.plan.rules:
            if rule.name in chosen or not scope["path"].startswith(rule.prefix):
                continue
            token = f"{self.seed}|{rule.name}|{key}|{self.seen[key]}".encode()
            draw = int.from_bytes(hashlib.sha256(token).digest()[:8], "big") / 2**64
            if draw < rule.rate:
                chosen[rule.name] = rule.param
        return chosen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        chosen = self._chosen(scope)
        if "slow" in chosen:
            await asyncio.sleep(chosen["slow"])
        if "challenge" in chosen:
            await _challenge(send)
        elif "429" in chosen:
            await _too_many(send, self.clock.announce(chosen["429"]))
        elif "500" in chosen:
            await _server_error(send, scope["path"].startswith("/api"))
        elif "drop" in chosen:
            await _drop(send)
        elif "truncate" in chosen:
            await self.app(scope, receive, _Truncating(send))
        else:
            await self.app(scope, receive, send)


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _challenge(send: Send) -> None:
    headers = [
        (b"content-type", b"text/html; charset=UTF-8"),
        (b"server", b"cloudflare"),
        (b"cf-mitigated", b"challenge"),
        (b"cf-ray", b"8f0000000000sbx-SBX"),
        (b"cache-control", b"private, max-age=0, no-store, no-cache, must-revalidate"),
    ]
    await _respond(send, 403, CHALLENGE_HTML.encode(), headers)


async def _too_many(send: Send, retry_after: float) -> None:
    seconds = max(0, round(retry_after))
    body = json.dumps({"error": f"Too Many Requests: retry in {seconds} s"}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"retry-after", str(seconds).encode()),
        (b"ratelimit", f'"api";r=0;t={seconds}'.encode()),
        (b"ratelimit-policy", b'"fixed window";"api";q=500;w=300'),
    ]
    await _respond(send, 429, body, headers)


async def _server_error(send: Send, api: bool) -> None:
    if api:
        body, kind = json.dumps({"error": "Internal Server Error"}).encode(), b"application/json"
    else:
        body, kind = (
            b"<!DOCTYPE html><title>500</title><h1>Internal Server Error</h1>",
            b"text/html",
        )
    await _respond(send, 500, body, [(b"content-type", kind)])


async def _drop(send: Send) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"items": [', "more_body": True})
    # Returning now leaves the response incomplete: the server closes the connection.


class _Truncating:
    """Buffers a media response and sends only its first half, with a matching length."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers", []))
            kind = headers.get(b"content-type", b"").decode("latin-1")
            if not kind.startswith(_TRUNCATABLE):
                await self.send(message)
                return
            self.start = message
            return
        if self.start is None:
            await self.send(message)
            return
        self.chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(self.chunks)
        cut = body[: len(body) // 2]
        kept = [(k, v) for k, v in self.start.get("headers", []) if k != b"content-length"]
        kept.append((b"content-length", str(len(cut)).encode()))
        await self.send({**self.start, "headers": kept})
        await self.send({"type": "http.response.body", "body": cut})
