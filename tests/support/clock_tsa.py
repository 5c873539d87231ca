"""A TSA whose clock a test sets: the sandbox authority, served over HTTP or called in-process.

The evidence attacks need a *genuine* TSA that answers later than the capture (an opposing
party re-stamping a forged bundle a day or a month afterwards) and a *look-alike* TSA (same
names, different key). Both are the sandbox's authority (sandbox/tsa.py) with a chosen clock;
nothing waits for real time to pass.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

from evidence.timestamp import TimestampToken, token_from_response
from sandbox.tsa import TimestampAuthority, load_or_create


@dataclass
class ClockStamper:
    """A :class:`evidence.timestamp.Timestamper` answering in-process at now + ``offset``."""

    authority: TimestampAuthority
    url: str
    offset: timedelta = field(default_factory=timedelta)

    def stamp(self, data: bytes) -> TimestampToken:
        request = (
            TimestampRequestBuilder()
            .data(data)
            .hash_algorithm(HashAlgorithm.SHA256)
            .nonce(nonce=True)
            .cert_request(cert_request=True)
            .build()
        )
        answer = self.authority.reply(request.as_bytes(), now=datetime.now(UTC) + self.offset)
        return token_from_response(self.url, answer, data, self.authority.ca_pem, request)


def authority(directory: Path) -> TimestampAuthority:
    """A fresh sandbox authority (a second call elsewhere makes a look-alike: same names)."""
    return load_or_create(directory)


@dataclass(frozen=True)
class ServedTsa:
    url: str
    authority: TimestampAuthority

    @property
    def ca_pem(self) -> bytes:
        return self.authority.ca_pem

    def later(self, offset: timedelta) -> ClockStamper:
        """The same TSA (same URL, key and CA), answering ``offset`` from now."""
        return ClockStamper(self.authority, self.url, offset)


@contextmanager
def served_tsa(directory: Path) -> Iterator[ServedTsa]:
    """Serve a sandbox authority at ``http://127.0.0.1:<port>/tsa`` with the real clock."""
    tsa = authority(directory)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = tsa.reply(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ServedTsa(f"http://127.0.0.1:{server.server_address[1]}/tsa", tsa)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
