"""Hugging Face's rate limits: fixed windows per bucket, ``RateLimit`` headers and 429.

The Hub counts requests per 5-minute fixed window in buckets (platforms.md §2.4): ``api``
(``/api/...``), ``resolvers`` (any ``/resolve/`` URL) and ``pages``. Every answer in a bucket
carries ``RateLimit: "<bucket>";r=<remaining>;t=<seconds to reset>`` and
``RateLimit-Policy: "fixed window";"<bucket>";q=<quota>;w=<window>``; past the quota the
answer is 429 with ``Retry-After`` = the seconds to the window's end (up to 300 s).

Quotas default to the anonymous ones (500 api, 3000 resolvers, 100 pages);
``--rate-limit api=20,resolvers=50`` lowers them and ``--time-scale`` shortens the window
(announced waits shrink with it, see :class:`sandbox.site.Clock`). Civitai publishes no
limits and sends no such headers; its 429s come from the ``429`` fault.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.clock import Clock
from sandbox.errors import FaultSpecError

DEFAULT_QUOTAS: Mapping[str, int] = {"api": 500, "resolvers": 3000, "pages": 100}
WINDOW_S = 300.0


def parse_limits(spec: str) -> dict[str, int]:
    """``api=20,resolvers=50`` over the defaults; raises FaultSpecError naming the rule."""
    quotas = dict(DEFAULT_QUOTAS)
    for raw in (part.strip() for part in spec.split(",")):
        if not raw:
            continue
        name, _, value = raw.partition("=")
        if name not in DEFAULT_QUOTAS or not value.isdigit():
            raise FaultSpecError(raw, f"expected BUCKET=N with BUCKET in {list(DEFAULT_QUOTAS)}")
        quotas[name] = int(value)
    return quotas


def bucket_of(path: str) -> str | None:
    """The Hub bucket a path counts against (None: not a Hub path)."""
    if path.startswith("/api/models"):
        return "api"
    if "/resolve/" in path:
        return "resolvers"
    return None


@dataclass
class RateLimiter:
    quotas: Mapping[str, int]
    clock: Clock
    window: float = WINDOW_S
    _used: dict[tuple[str, int], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, bucket: str) -> tuple[bool, int, float]:
        """(allowed, remaining, sandbox seconds to the window's end) for one request."""
        now = self.clock.now()
        index = int(now // self.window)
        reset = (index + 1) * self.window - now
        with self._lock:
            used = self._used.get((bucket, index), 0)
            quota = self.quotas[bucket]
            if used >= quota:
                return False, 0, reset
            self._used[(bucket, index)] = used + 1
            return True, quota - used - 1, reset


class RateLimitMiddleware:
    """Counts Hub requests and adds the headers; answers 429 past the quota."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        bucket = bucket_of(scope.get("path", "")) if scope["type"] == "http" else None
        if bucket is None:
            await self.app(scope, receive, send)
            return
        allowed, remaining, reset = self.limiter.take(bucket)
        wait = max(1, math.ceil(reset * self.limiter.clock.scale))
        quota = self.limiter.quotas[bucket]
        window = max(1, round(self.limiter.window * self.limiter.clock.scale))
        headers = [
            (b"ratelimit", f'"{bucket}";r={remaining};t={wait}'.encode()),
            (b"ratelimit-policy", f'"fixed window";"{bucket}";q={quota};w={window}'.encode()),
        ]
        if not allowed:
            body = json.dumps({"error": "You have exceeded our rate limit."}).encode()
            headers += [
                (b"content-type", b"application/json"),
                (b"retry-after", str(wait).encode()),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await self.app(scope, receive, with_headers)
