"""The evidence package's operations the dashboard calls: verify, capture, export, notice.

Each is looked up in the evidence package when first used::

    verify    evidence.verify:verify_bundle(path, trusted_key_fingerprint=None) -> VerifyReport
    capture   evidence.casefile:capture_finding(store, finding_id, settings) -> CaptureResult
    export    evidence.bundle:export_bundle(store, ids, destination, settings) -> ExportResult
    notice    evidence.notice:draft_notice(store, finding_id, template, settings) -> NoticeResult
    settings  rightswatch.commands.evidence:evidence_settings(config) -> EvidenceSettings

so the dashboard runs against whatever the installed evidence package offers and says plainly
which operation is missing (:class:`OperationUnavailable`, a 503 page) instead of pretending.
Every operation runs with the evidence settings' ``operator`` set to the reviewer, so the
custody events the evidence package writes name the person who acted.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from evidence.store import Store
from rightswatch.config import WatchConfig
from rightswatch.review.errors import ReviewError

VERIFY = "evidence.verify:verify_bundle"
CAPTURE = "evidence.casefile:capture_finding"
EXPORT = "evidence.bundle:export_bundle"
NOTICE = "evidence.notice:draft_notice"
SETTINGS = "rightswatch.commands.evidence:evidence_settings"
EXPORTS_DIR = "exports"


class OperationUnavailable(ReviewError):
    """The installed evidence package does not offer an operation, or it cannot run here."""

    status_code = 503

    def __init__(self, what: str, reason: str | None = None) -> None:
        self.what = what
        super().__init__(reason or f"this installation has no {what.replace(':', '.')}")


def resolve(spec: str) -> Callable[..., Any]:
    """The callable ``module:name``, or :class:`OperationUnavailable`."""
    module_name, _, name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise OperationUnavailable(spec) from exc
    func = getattr(module, name, None)
    if not callable(func):
        raise OperationUnavailable(spec)
    return func  # type: ignore[no-any-return]


class VerifyState(StrEnum):
    VERIFIED = "verified"
    FAILED = "failed"
    MISSING = "missing"  # no sealed bundle on disk
    UNAVAILABLE = "unavailable"  # the evidence package has no verifier


@dataclass(frozen=True)
class Verification:
    state: VerifyState
    checks: int
    problems: tuple[str, ...]


def verify(path: Path | None, *, trusted_key_fingerprint: str | None = None) -> Verification:
    """Verify a sealed capture directory or bundle now, on every call (never a cached answer)."""
    if path is None or not path.exists():
        return Verification(VerifyState.MISSING, 0, ("no sealed bundle on disk",))
    try:
        func = resolve(VERIFY)
    except OperationUnavailable as exc:
        return Verification(VerifyState.UNAVAILABLE, 0, (str(exc),))
    report = func(path, trusted_key_fingerprint=trusted_key_fingerprint)
    problems = tuple(f"{c.name} {c.file}: {c.detail}" for c in report.problems)
    state = VerifyState.VERIFIED if report.ok else VerifyState.FAILED
    return Verification(state, len(report.checks), problems)


@dataclass(frozen=True)
class EvidenceOps:
    """Capture, export and notice for one case file, acting as a named reviewer."""

    store: Store
    config: WatchConfig | None
    evidence_root: Path

    def _settings(self, actor: str) -> Any:
        if self.config is None:
            raise OperationUnavailable(
                "settings", "evidence operations need the watch configuration: start with --config"
            )
        settings = resolve(SETTINGS)(self.config)
        return dataclasses.replace(settings, operator=actor)

    def capture(self, finding_id: int, *, actor: str) -> str:
        """Capture and seal the finding's page now; a sentence saying how it went."""
        settings = self._settings(actor)
        result = resolve(CAPTURE)(self.store, finding_id, settings)
        if result.sealed:
            return f"Capture {result.capture_id} sealed ({result.outcome.value})."
        return f"Capture {result.capture_id} failed: {result.message or result.outcome.value}."

    def export(self, finding_id: int, *, actor: str) -> Path:
        """Export the finding's sealed bundle below the evidence folder; the zip's path."""
        settings = self._settings(actor)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = self.evidence_root / EXPORTS_DIR / f"finding-{finding_id}-{stamp}.zip"
        resolve(EXPORT)(self.store, [finding_id], str(out), settings)
        return out

    def notice(self, finding_id: int, template: str, *, actor: str) -> Path:
        """Draft a notice for a confirmed finding; the drafted file's path."""
        settings = self._settings(actor)
        result = resolve(NOTICE)(self.store, finding_id, template, settings)
        path: Path = result.path
        return path
