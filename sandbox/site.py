"""What every platform module shares: the world, its media, JSON and byte-range responses."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

from starlette.requests import Request
from starlette.responses import Response

from sandbox.civitai_busy import Busy
from sandbox.clock import Clock
from sandbox.faults import FLAG
from sandbox.media import MediaStore
from sandbox.world import World

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class Site:
    """The shared state handed to every platform's routes.

    ``cdn_origin`` is the second listener (``http://127.0.0.2:<port>``) that plays the
    platforms' storage and CDN hosts: Civitai's download redirect and Hugging Face's resolve
    redirect point there (real-platforms.md, Civitai 2 and Hugging Face 1).
    """

    world: World
    media: MediaStore
    cdn_origin: str = ""
    clock: Clock = field(default_factory=Clock)
    signed_ttl: float = 3600.0
    downloads: Counter[int] = field(default_factory=Counter)  # download calls per version
    # Civitai's image listings answering 503 + Retry-After under load (civitai_busy.py)
    busy: Busy = field(default_factory=lambda: Busy(share=0.0))
    _minted: itertools.count[int] = field(default_factory=itertools.count)

    def sign(self, path: str) -> str:
        """A storage-URL signature (HMAC of the path with a seed-derived key)."""
        key = f"sandbox-storage-{self.world.seed}".encode()
        return hmac.new(key, path.encode(), hashlib.sha256).hexdigest()[:32]

    def signed_url(self, path: str) -> str:
        """A new signed, expiring URL for ``path`` on the CDN listener (one per call)."""
        issued = f"{self.clock.now():.3f}"
        nonce = str(next(self._minted))
        expires = str(int(self.signed_ttl))
        query = {
            "X-Amz-Date": issued,
            "X-Amz-Expires": expires,
            "X-Amz-Nonce": nonce,
            "X-Amz-Signature": self.sign(f"{unquote(path)}|{issued}|{expires}|{nonce}"),
        }
        return f"{self.cdn_origin}{path}?{urlencode(query)}"

    def check_signed(self, path: str, query: Any) -> str | None:
        """None when ``query`` carries a valid, unexpired signature for ``path``; else why."""
        issued, expires = query.get("X-Amz-Date", ""), query.get("X-Amz-Expires", "")
        nonce = query.get("X-Amz-Nonce", "")
        wanted = self.sign(f"{path}|{issued}|{expires}|{nonce}")
        if not hmac.compare_digest(wanted, query.get("X-Amz-Signature", "")):
            return "SignatureDoesNotMatch"
        try:
            if self.clock.now() > float(issued) + float(expires):
                return "Request has expired"
        except ValueError:
            return "AuthorizationQueryParametersError"
        return None


def base_url(request: Request) -> str:
    """The origin the client used, without a trailing slash."""
    return str(request.base_url).rstrip("/")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Compact UTF-8 JSON (non-ASCII kept as is, like the real APIs)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status, headers=headers, media_type="application/json")


def query_without(request: Request, *names: str) -> list[tuple[str, str]]:
    """The request's query pairs minus ``names`` and the fault flag (for next-page links)."""
    skip = {*names, FLAG}
    return [(k, v) for k, v in request.query_params.multi_items() if k not in skip]


def byte_response(
    request: Request, data: bytes, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    """Serve ``data`` honouring HEAD and a single ``Range`` (206, or 416 when unsatisfiable)."""
    size = len(data)
    extra = {"Accept-Ranges": "bytes", **(headers or {})}
    spec = request.headers.get("range")
    status, start, end = 200, 0, size - 1
    if spec:
        match = _RANGE.match(spec.strip())
        if match is None or match.groups() == ("", ""):
            return _unsatisfiable(size)
        first, last = match.groups()
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        if start >= size or start > end:
            return _unsatisfiable(size)
        status = 206
        extra["Content-Range"] = f"bytes {start}-{end}/{size}"
    body = data[start : end + 1]
    if request.method == "HEAD":
        extra["Content-Length"] = str(len(body))
        return Response(b"", status, headers=extra, media_type=media_type)
    return Response(body, status, headers=extra, media_type=media_type)


def _unsatisfiable(size: int) -> Response:
    return Response(
        b"", 416, headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"}
    )
