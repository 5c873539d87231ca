"""Run the dashboard with uvicorn, after the bind check."""

from __future__ import annotations

import uvicorn
from rich.console import Console

from rightswatch.review.app import create_app
from rightswatch.review.security import check_bind
from rightswatch.review.settings import ReviewSettings


def serve(settings: ReviewSettings) -> None:
    """Serve until interrupted; refuses a non-loopback bind without a token."""
    check_bind(settings.host, settings.token)
    settings.evidence_root.mkdir(parents=True, exist_ok=True)
    Console(stderr=True, highlight=False).print(
        f"review dashboard on http://{settings.host}:{settings.port}/ "
        f"(evidence: {settings.evidence_folder})"
    )
    try:
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            server_header=False,
            # believe X-Forwarded-Proto (https: Secure cookies) from the TLS proxy only
            proxy_headers=True,
            forwarded_allow_ips=settings.trusted_proxy,
        )
    finally:
        settings.store.dispose()
