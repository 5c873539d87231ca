"""The evidence package's operations the dashboard calls: verify, capture, export, notice.

    verify    evidence.verify.verify_bundle       live status of a capture, on every page view
    capture   evidence.casefile.capture_finding   capture and seal the finding's page now
    export    evidence.bundle.export_bundle       a sealed, self-verifying case zip
    notice    evidence.notice.draft_notice        a takedown notice for a confirmed finding

Every operation runs with the evidence settings' ``operator`` set to the reviewer, so the
custody events the evidence package writes (captured, sealed, exported, noticed) name the person
who acted. The settings come from watch.toml's [evidence] section, as for the CLI commands.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from evidence.bundle import export_bundle
from evidence.casefile import capture_finding
from evidence.notice import draft_notice
from evidence.settings import EvidenceSettings
from evidence.store import Store
from evidence.verify import verify_bundle
from rightswatch.config import WatchConfig
from rightswatch.evidence_settings import evidence_settings
from rightswatch.review.errors import ReviewError

EXPORTS_DIR = "exports"


class OperationUnavailable(ReviewError):
    """An evidence operation cannot run here (no watch configuration to take settings from)."""

    status_code = 503


class VerifyState(StrEnum):
    VERIFIED = "verified"
    FAILED = "failed"
    MISSING = "missing"  # no sealed bundle on disk


@dataclass(frozen=True)
class Verification:
    state: VerifyState
    checks: int
    problems: tuple[str, ...]


def verify(path: Path | None, *, trusted_key_fingerprint: str | None = None) -> Verification:
    """Verify a sealed capture directory or bundle now, on every call (never a cached answer)."""
    if path is None or not path.exists():
        return Verification(VerifyState.MISSING, 0, ("no sealed bundle on disk",))
    report = verify_bundle(path, trusted_key_fingerprint=trusted_key_fingerprint)
    problems = tuple(f"{c.name} {c.file}: {c.detail}" for c in report.problems)
    state = VerifyState.VERIFIED if report.ok else VerifyState.FAILED
    return Verification(state, len(report.checks), problems)


@dataclass(frozen=True)
class EvidenceOps:
    """Capture, export and notice for one case file, acting as a named reviewer."""

    store: Store
    config: WatchConfig | None
    evidence_root: Path

    def _settings(self, actor: str) -> EvidenceSettings:
        if self.config is None:
            raise OperationUnavailable(
                "evidence operations need the watch configuration: start with --config"
            )
        settings = evidence_settings(self.config)
        return dataclasses.replace(settings, operator=actor, folder=self.evidence_root)

    def capture(self, finding_id: int, *, actor: str) -> str:
        """Capture and seal the finding's page now; a sentence saying how it went."""
        settings = self._settings(actor)
        result = capture_finding(self.store, finding_id, settings)
        if result.sealed:
            return f"Capture {result.capture_id} sealed ({result.outcome.value})."
        return f"Capture {result.capture_id} failed: {result.message or result.outcome.value}."

    def export(self, finding_id: int, *, actor: str) -> Path:
        """Export the finding's sealed bundle below the evidence folder; the zip's path."""
        settings = self._settings(actor)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = self.evidence_root / EXPORTS_DIR / f"finding-{finding_id}-{stamp}.zip"
        export_bundle(self.store, [finding_id], str(out), settings)
        return out

    def notice(self, finding_id: int, template: str, *, actor: str) -> Path:
        """Draft a notice for a confirmed finding; the drafted file's path."""
        settings = self._settings(actor)
        return draft_notice(self.store, finding_id, template, settings).path
