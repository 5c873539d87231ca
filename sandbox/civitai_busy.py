"""Civitai's image listings under load: ``503`` with ``Retry-After: 2``.

The real API answers image listings with 503 and ``Retry-After: 2`` when it is under load
(research/real-platforms.md, Civitai 7). The sandbox does so by default, deterministically and
bounded: the first request for a share of the distinct ``/api/v1/images`` URLs (chosen by a
hash of the seed and the URL, ``--civitai-busy SHARE``, default 0.15; 0 switches it off) is
answered 503, and the same URL asked again is served. The announced wait is 2 sandbox seconds,
scaled by ``--time-scale`` like every wait the sandbox announces (at least 1 s), so a crawler
that pauses the host and asks again loses nothing; one that gives up on the first 503 loses
pages. ``?sandbox_fault=busy`` forces the answer for one request.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from sandbox.clock import Clock

DEFAULT_SHARE = 0.15
RETRY_AFTER_S = 2.0  # sandbox seconds, as Civitai announces it
FORCE = "busy"  # ?sandbox_fault=busy


@dataclass
class Busy:
    """Which image listing requests find the API busy (see the module docstring)."""

    share: float = DEFAULT_SHARE
    seed: int = 1
    clock: Clock = field(default_factory=Clock)
    answered: int = 0  # 503s sent, for /sandbox/info.json
    _seen: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _busy(self, key: str, forced: bool) -> bool:
        with self._lock:
            first = key not in self._seen
            self._seen.add(key)
        if forced:
            return True
        if not first or self.share <= 0:
            return False
        token = f"{self.seed}|busy|{key}".encode()
        draw = int.from_bytes(hashlib.sha256(token).digest()[:8], "big") / 2**64
        return draw < self.share

    def answer(self, request: Request) -> Response | None:
        """A 503 for this request, or None to serve it."""
        query = request.url.query
        forced = FORCE in ",".join(parse_qs(query).get("sandbox_fault", []))
        if not self._busy(f"{request.url.path}?{query}", forced):
            return None
        with self._lock:
            self.answered += 1
        wait = self.clock.announce(RETRY_AFTER_S)
        body = {"error": "Service Unavailable", "message": "The server is busy, try again later"}
        return Response(
            json.dumps(body),
            503,
            headers={"Retry-After": str(wait), "Cache-Control": "no-store"},
            media_type="application/json",
        )
