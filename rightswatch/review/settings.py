"""What one review server needs to know, gathered once by the command and handed to the app."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evidence.store import Store
from rightswatch.config import WatchConfig
from rightswatch.errors import RightswatchError
from rightswatch.secretfile import SecretFileError, read_secret_file

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
TOKEN_ENV = "RIGHTSWATCH_REVIEW_TOKEN"  # noqa: S105 (a variable name, not a secret)
TOKEN_FILE_ENV = "RIGHTSWATCH_REVIEW_TOKEN_FILE"  # noqa: S105 (a variable name, not a secret)
MIN_TOKEN_CHARS = 32
SECRET_ENV = "RIGHTSWATCH_REVIEW_SECRET"  # noqa: S105 (a variable name, not a secret)
PAGE_SIZE = 25
# a signed session cookie older than this is refused (the reviewer signs in again)
SESSION_MAX_AGE_SECONDS = 12 * 3600


class TokenError(RightswatchError):
    """The sign-in token is too short or its file cannot be used (exit status 2)."""

    exit_code = 2


def load_token(token_file: Path | None = None, environ: dict[str, str] | None = None) -> str | None:
    """The sign-in token: ``token_file``, else $RIGHTSWATCH_REVIEW_TOKEN_FILE, else
    $RIGHTSWATCH_REVIEW_TOKEN; None when none is set. Never from the command line, where
    every local user can read it (``ps``). At least 32 characters; a file must be owner-only.
    """
    env = os.environ if environ is None else environ
    path = token_file or (Path(env[TOKEN_FILE_ENV]) if env.get(TOKEN_FILE_ENV) else None)
    source = TOKEN_ENV
    if path is not None:
        source = str(path)
        try:
            token = read_secret_file(path, "the review token")
        except SecretFileError as exc:
            raise TokenError(str(exc)) from exc
    else:
        token = env.get(TOKEN_ENV, "")
    if not token:
        return None
    if len(token) < MIN_TOKEN_CHARS:
        raise TokenError(
            f"{source}: the review token has {len(token)} characters; at least "
            f"{MIN_TOKEN_CHARS} are needed (e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')"
        )
    return token


class SessionTable:
    """Server-side sessions: a cookie is honoured only while its id is live here.

    Signing out (or signing in, which starts a new session) revokes the old id, so a copied
    cookie stops working at once; ids also lapse after ``max_age`` seconds.
    """

    def __init__(
        self,
        max_age: float = 12 * 3600,
        limit: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._live: dict[str, float] = {}
        self._lock = threading.Lock()
        self._max_age, self._limit, self._clock = max_age, limit, clock

    def issue(self) -> str:
        sid = secrets.token_urlsafe(24)
        with self._lock:
            now = self._clock()
            if len(self._live) >= self._limit:
                self._live = {k: t for k, t in self._live.items() if now - t < self._max_age}
                while len(self._live) >= self._limit:  # the oldest anonymous visits go first
                    self._live.pop(next(iter(self._live)))
            self._live[sid] = now
        return sid

    def live(self, sid: object) -> bool:
        with self._lock:
            started = self._live.get(sid) if isinstance(sid, str) else None
            return started is not None and self._clock() - started < self._max_age

    def revoke(self, sid: object) -> None:
        with self._lock:
            if isinstance(sid, str):
                self._live.pop(sid, None)


class LoginThrottle:
    """Back-off after failed sign-ins, per client address and overall.

    The first ``free`` failures cost nothing; each one after that doubles the wait before
    the next try is even checked (1 s, 2 s, 4 s … up to ``cap_s``). A success clears the
    client's count. The overall count stops a spread-out guessing attack the same way.
    """

    def __init__(
        self, free: int = 5, cap_s: float = 900.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._free, self._cap, self._clock = free, cap_s, clock

    def _wait(self, key: str) -> float:
        count, last = self._failures.get(key, (0, 0.0))
        if count < self._free:
            return 0.0
        delay = min(self._cap, 2.0 ** (count - self._free))
        return max(0.0, last + delay - self._clock())

    def retry_after(self, client: str) -> float:
        """Seconds ``client`` must wait before its next sign-in is checked (0: go ahead)."""
        with self._lock:
            return max(self._wait(client), self._wait("*"))

    def failed(self, client: str) -> None:
        with self._lock:
            now = self._clock()
            for key in (client, "*"):
                count, _ = self._failures.get(key, (0, 0.0))
                self._failures[key] = (count + 1, now)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


def session_secret() -> bytes:
    """The key that signs session cookies: $RIGHTSWATCH_REVIEW_SECRET, else fresh per process."""
    configured = os.environ.get(SECRET_ENV)
    return configured.encode("utf-8") if configured else secrets.token_bytes(32)


@dataclass(frozen=True)
class ReviewSettings:
    """One review server: its case file, evidence folder and who may act."""

    store: Store
    evidence_root: Path
    # watch.toml, where an allowlisted creator is written; None disables the allowlist action
    config_path: Path | None = None
    # the loaded watch.toml: evidence settings for capture, export and notices
    config: WatchConfig | None = None
    # required to sign in when set (always set for a non-loopback bind)
    token: str | None = None
    # the name decisions are recorded under when the reviewer has not signed in by name
    reviewer: str | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    secret: bytes = field(default_factory=session_secret, repr=False)
    page_size: int = PAGE_SIZE
    # the Ed25519 key fingerprint bundles must be signed with, if one is trusted
    trusted_key_fingerprint: str | None = None
    # mark the session cookie Secure even when the request did not arrive as https
    secure_cookies: bool = False
    # address of the TLS-terminating reverse proxy whose X-Forwarded-Proto is believed
    trusted_proxy: str = "127.0.0.1"
    sessions: SessionTable = field(default_factory=SessionTable, compare=False, repr=False)
    throttle: LoginThrottle = field(default_factory=LoginThrottle, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.token is not None and len(self.token) < MIN_TOKEN_CHARS:
            raise TokenError(
                f"the review token has {len(self.token)} characters; at least "
                f"{MIN_TOKEN_CHARS} are needed"
            )

    @property
    def evidence_folder(self) -> Path:
        """The evidence root, resolved once: every served file must lie below it."""
        return self.evidence_root.resolve()
