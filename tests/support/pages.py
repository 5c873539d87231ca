"""A tiny local site on 127.0.0.1 for capture tests: JS-rendered pages, walls, removals.

Routes:
    /js            content rendered by JavaScript after load (+ an image it loads)
    /item/<name>   a page showing /media/<name>.png; 404 once removed via ``site.remove(name)``
    /media/<n>.png a PNG (gzip-compressed on the wire when the client accepts it)
    /challenge     403 with Cloudflare-like challenge markup
    /soft-wall     200 whose body is a CAPTCHA interstitial
    /private       302 to /login (a login wall)
    /missing       404
    /slow          a page that takes ``slow_s`` seconds to answer (for kill tests)
"""

from __future__ import annotations

import gzip
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG, built without image libraries."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))  # fmt: skip


JS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Gallery item</title></head>
<body><div id="app">loading</div>
<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    document.getElementById('app').innerHTML =
      '<h1 id="rendered">Rendered by script: Moonfox 月狐</h1>' +
      '<img id="art" src="/media/moonfox.png" width="320" height="240">' +
      '<p>' + 'Lorem ipsum '.repeat(40) + '</p>';
  }, 50);
});
</script></body></html>"""

ITEM_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Item {name}</title></head>
<body><h1>Item {name}</h1><img src="/media/{name}.png" width="320" height="240">
<p>Uploaded by someone. Tags: character, lora.</p></body></html>"""

CHALLENGE = """<!doctype html><html><head><title>Just a moment...</title></head><body>
<div id="cf-challenge-running">Checking your browser before accessing the site.</div>
<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1"></script></body></html>"""

SOFT_WALL = """<!doctype html><html><head><title>Security check</title></head><body>
<p>Please verify you are human.</p><div class="g-recaptcha" data-sitekey="x"></div></body></html>"""

LOGIN = """<!doctype html><html><head><title>Log in</title></head><body><form>
<h1>Please log in</h1><input name="user"><input type="password" name="pw"><button>Log in</button>
</form></body></html>"""


@dataclass
class Site:
    url: str
    removed: set[str] = field(default_factory=set)
    slow_s: float = 30.0

    def remove(self, name: str) -> None:
        self.removed.add(name)


@contextmanager
def serve_pages() -> Iterator[Site]:
    site = Site(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(
            self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None
        ) -> None:
            headers = dict(extra or {})
            if ctype.startswith("image/") and "gzip" in self.headers.get("Accept-Encoding", ""):
                body = gzip.compress(body)
                headers["Content-Encoding"] = "gzip"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            html = "text/html; charset=utf-8"
            if path == "/js":
                self._send(200, JS_PAGE.encode(), html)
            elif path == "/listing":  # ?items=a,b,c: cards in that order (a home page's feed)
                query = self.path.split("?", 1)[1] if "?" in self.path else ""
                names = query.removeprefix("items=").split(",") if query else []
                cards = "".join(
                    f'<div class="card" style="height:180px"><a href="/item/{n}">Item {n}</a></div>'
                    for n in names
                )
                self._send(200, f"<html><body><h1>Home</h1>{cards}</body></html>".encode(), html)
            elif path.startswith("/item/"):
                name = path.rsplit("/", 1)[-1]
                if name in site.removed:
                    self._send(404, b"<html><body><h1>Not found</h1></body></html>", html)
                else:
                    self._send(200, ITEM_PAGE.format(name=name).encode(), html)
            elif path.startswith("/media/") and path.endswith(".png"):
                self._send(200, png(320, 240, (200, 40, 90)), "image/png")
            elif path == "/challenge":
                self._send(403, CHALLENGE.encode(), html, {"Server": "cloudflare"})
            elif path == "/soft-wall":
                self._send(200, SOFT_WALL.encode(), html)
            elif path == "/private":
                self._send(302, b"", html, {"Location": "/login?next=/private"})
            elif path == "/login":
                self._send(200, LOGIN.encode(), html)
            elif path == "/slow":
                time.sleep(site.slow_s)
                self._send(200, b"<html><body>slow</body></html>", html)
            else:
                self._send(404, b"<html><body>missing</body></html>", html)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
