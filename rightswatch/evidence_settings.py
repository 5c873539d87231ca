"""From watch.toml's [evidence] section to the evidence package's settings.

The evidence package never reads the configuration (layering); the front door builds its
plain settings here, with every path resolved against the config file's folder.
"""

from __future__ import annotations

from evidence.capture.guarded import CaptureGuard
from evidence.capture.sites import CaptureSite
from evidence.robots import PageRobots
from evidence.settings import EvidenceSettings
from rightswatch.config import WatchConfig
from rightswatch.crawling import login_session


def evidence_settings(config: WatchConfig) -> EvidenceSettings:
    """The evidence package's settings from watch.toml's [evidence] section."""
    ev = config.evidence
    return EvidenceSettings(
        folder=config.resolve(ev.folder),
        signing_key=config.resolve(ev.signing_key),
        tsa_urls=tuple(str(u) for u in ev.tsa_urls),
        tsa_ca_files=tuple(config.resolve(p) for p in ev.tsa_ca_files),
        operator=ev.operator,
        timezone=ev.timezone,
        time_tolerance_s=ev.time_tolerance_s,
        model_file_max_bytes=ev.model_file_max_bytes,
        capture_guard=CaptureGuard.for_platforms(
            (p.url, tuple(p.allowed_hosts)) for p in config.platforms
        ),
        # a capture of a platform's page runs with its login session and robots.txt policy
        # (a missing session file fails that platform's captures, not every evidence command)
        capture_sites=tuple(
            CaptureSite(
                name=p.name,
                base_url=p.url,
                storage_state=login_session(config, p, check=False),
                robots=PageRobots.OBEY if p.politeness.obey_robots_txt else PageRobots.IGNORE,
            )
            for p in config.platforms
        ),
    )
