"""What one review server needs to know, gathered once by the command and handed to the app."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from evidence.store import Store
from rightswatch.config import WatchConfig

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
TOKEN_ENV = "RIGHTSWATCH_REVIEW_TOKEN"  # noqa: S105 (a variable name, not a secret)
SECRET_ENV = "RIGHTSWATCH_REVIEW_SECRET"  # noqa: S105 (a variable name, not a secret)
PAGE_SIZE = 25
# a signed session cookie older than this is refused (the reviewer signs in again)
SESSION_MAX_AGE_SECONDS = 12 * 3600


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

    @property
    def evidence_folder(self) -> Path:
        """The evidence root, resolved once: every served file must lie below it."""
        return self.evidence_root.resolve()
