"""The evidence package's operations the dashboard calls: verify, export, capture, notice.

Each is looked up in the evidence package when first used (``evidence.verify.verify_bundle``,
``evidence.bundle.export_findings``, ``evidence.capture.run.capture_finding``,
``evidence.notice.draft_notice``), so the dashboard runs against whatever the installed evidence
package offers and says plainly which operation is missing instead of pretending. A missing
operation raises :class:`OperationUnavailable`; the page shows it as such.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from rightswatch.review.errors import ReviewError

VERIFY = "evidence.verify:verify_bundle"
EXPORT = "evidence.bundle:export_findings"
CAPTURE = "evidence.capture.run:capture_finding"
NOTICE = "evidence.notice:draft_notice"


class OperationUnavailable(ReviewError):
    """The installed evidence package does not offer an operation."""

    status_code = 503

    def __init__(self, spec: str) -> None:
        self.spec = spec
        super().__init__(f"this installation's evidence package has no {spec.replace(':', '.')}")


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
