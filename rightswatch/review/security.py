"""The dashboard's guard: bind rules, signed sessions, CSRF, sign-in and file confinement.

* The server binds 127.0.0.1 unless told otherwise; any other address needs a token
  (:func:`check_bind`).
* A session lives in a signed cookie (HMAC-SHA256, HttpOnly, SameSite=Strict, ``Secure`` when
  the request came over https) holding the reviewer's name, whether the token was given, a
  per-session CSRF token and a server-side session id: a cookie whose id is not live in the
  server's :class:`~rightswatch.review.settings.SessionTable` (revoked at sign-out or sign-in,
  or older than 12 hours) is worth nothing.
* Every state-changing request (anything but GET/HEAD/OPTIONS) must carry that CSRF token in the
  ``csrf_token`` form field or the ``X-CSRF-Token`` header, else it is refused with 403.
* Files are served only from below the evidence folder (:func:`confine`).
* Every response carries a strict Content-Security-Policy (no script at all); no referrer
  leaves for other sites; a cross-origin Origin header (or "null") is refused on posts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from rightswatch.review.errors import PathRefused, UnsafeBind
from rightswatch.review.settings import SESSION_MAX_AGE_SECONDS, ReviewSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "rw_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = b"x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# paths reachable before signing in
PUBLIC_PREFIXES = ("/login", "/static/")
MAX_FORM_BYTES = 1024 * 1024
SECURITY_HEADERS = (
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # same-origin: platforms never learn the dashboard's URLs, and the browser still sends a
    # real Origin on the dashboard's own form posts (no-referrer would make it "null")
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-loopback bind without a token."""
    if not is_loopback(host) and not token:
        raise UnsafeBind(host)


def allowed_hosts(host: str) -> list[str]:
    """Host headers the server answers (defeats DNS rebinding against a loopback bind)."""
    names = ["127.0.0.1", "localhost", "::1", "[::1]"]
    if not is_loopback(host):
        names.append("*" if host in ("0.0.0.0", "::") else host)  # noqa: S104
    return names


def confine(root: Path, requested: str) -> Path:
    """The file ``requested`` names below ``root``; anything else raises :class:`PathRefused`."""
    if "\x00" in requested or "\\" in requested:
        raise PathRefused(requested, "bad characters in path")
    if requested.startswith("/"):
        raise PathRefused(requested, "absolute paths are refused")
    if any(p in ("..", ".") for p in requested.split("/")):
        raise PathRefused(requested, "relative path components are refused")
    parts = PurePosixPath(requested).parts
    base = root.resolve()
    target = base.joinpath(*parts).resolve()
    if not target.is_relative_to(base):
        raise PathRefused(requested, "outside the evidence folder")
    if not target.is_file():
        raise PathRefused(requested, "no such file in the evidence folder")
    return target


def relative_to_root(root: Path, path: str | Path | None) -> str | None:
    """``path`` as a '/'-joined path below ``root`` (already resolved), or None when it lies
    elsewhere or is gone."""
    if not path:
        return None
    base = root
    candidate = Path(path)
    target = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if not target.is_relative_to(base) or not target.exists():
        return None
    return target.relative_to(base).as_posix()


class SessionCodec:
    """Signs and reads the session cookie: base64url(JSON) '.' base64url(HMAC-SHA256)."""

    def __init__(self, secret: bytes, max_age: int = SESSION_MAX_AGE_SECONDS) -> None:
        self._secret = secret
        self._max_age = max_age

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()

    def dumps(self, data: dict[str, Any]) -> str:
        payload = json.dumps({**data, "iat": int(time.time())}, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def loads(self, value: str) -> dict[str, Any] | None:
        """The session, or None when the cookie is forged, malformed or expired."""
        payload_b64, _, mac_b64 = value.partition(".")
        try:
            payload = _unb64(payload_b64)
            mac = _unb64(mac_b64)
        except ValueError:
            return None
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            data = json.loads(payload)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("iat"), int):
            return None
        if time.time() - data["iat"] > self._max_age:
            return None
        return data


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("bad base64") from exc


def new_session(settings: ReviewSettings) -> dict[str, Any]:
    """An anonymous session with its own server-side id and CSRF token."""
    sid = settings.sessions.issue()
    return {"csrf": secrets.token_urlsafe(32), "reviewer": None, "auth": False, "sid": sid}


def restart_session(settings: ReviewSettings, session: dict[str, Any], **values: Any) -> None:
    """Revoke ``session``'s id and give it a new one and a new CSRF token (sign-in, sign-out):
    a copy of the old cookie is worthless from now on."""
    settings.sessions.revoke(session.get("sid"))
    session.update(new_session(settings), **values)


class Guard:
    """ASGI middleware: session cookie, sign-in, CSRF and security headers around the app."""

    def __init__(self, app: ASGIApp, settings: ReviewSettings) -> None:
        self.app = app
        self.settings = settings
        self.codec = SessionCodec(settings.secret)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        loaded = self._load(headers)
        session = loaded if loaded is not None else new_session(self.settings)
        original = dict(session)
        scope["rw_session"] = session
        method = scope["method"]
        path = scope["path"]

        if method not in SAFE_METHODS:
            body, too_big = await _read_body(receive)
            if too_big:
                await _plain(send, 413, "request body too large")
                return
            if loaded is None or not _csrf_ok(headers, body, session["csrf"]):
                await _plain(send, 403, "refused: missing or wrong CSRF token")
                return
            if not _same_origin(headers):
                await _plain(send, 403, "refused: cross-origin request")
                return
            receive = _replay(body)

        if not path.startswith(PUBLIC_PREFIXES) and not self._signed_in(session):
            if method in SAFE_METHODS:
                await _redirect(send, "/login?next=" + _quote_next(scope))
            else:
                await _plain(send, 403, "refused: sign in first")
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = list(SECURITY_HEADERS)
                if loaded is None or session != original:
                    secure = scope.get("scheme") == "https" or self.settings.secure_cookies
                    extra.append((b"set-cookie", self._cookie(session, secure)))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def _load(self, headers: dict[bytes, bytes]) -> dict[str, Any] | None:
        for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                data = self.codec.loads(value)
                if (
                    data is not None
                    and isinstance(data.get("csrf"), str)
                    and self.settings.sessions.live(data.get("sid"))
                ):
                    data.pop("iat", None)
                    return data
        return None

    def _signed_in(self, session: dict[str, Any]) -> bool:
        if self.settings.token and not session.get("auth"):
            return False
        return bool(session.get("reviewer") or self.settings.reviewer)

    def _cookie(self, session: dict[str, Any], secure: bool) -> bytes:
        value = self.codec.dumps(session)
        return (
            f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; "
            f"Max-Age={SESSION_MAX_AGE_SECONDS}{'; Secure' if secure else ''}"
        ).encode("latin-1")


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers", [])}


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _csrf_ok(headers: dict[bytes, bytes], body: bytes, expected: str) -> bool:
    given = headers.get(CSRF_HEADER, b"").decode("latin-1")
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    if not given and content_type.startswith("application/x-www-form-urlencoded"):
        values = parse_qs(body.decode("utf-8", errors="replace")).get(CSRF_FIELD, [])
        given = values[0] if len(values) == 1 else ""
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def _same_origin(headers: dict[bytes, bytes]) -> bool:
    """A browser's Origin, when sent, must name the host it is talking to."""
    origin = headers.get(b"origin")
    if origin is None:
        return True
    host = headers.get(b"host", b"").decode("latin-1")
    return urlsplit(origin.decode("latin-1")).netloc == host


def _quote_next(scope: Scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    target = scope["path"] + (f"?{query}" if query else "")
    return quote(target, safe="")


async def _plain(send: Send, status: int, text: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), *SECURITY_HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})


async def _redirect(send: Send, location: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode("latin-1")), *SECURITY_HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": b""})


def safe_next(target: str | None) -> str:
    """A same-site path to return to after signing in; anything else becomes '/'."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
