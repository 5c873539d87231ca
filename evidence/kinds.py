"""The case file's vocabulary: every status, kind and decision, as enums free of SQLAlchemy.

One enum per concept. The models store them by value (``evidence.models``); every layer above
imports them from here, and the likeness engine (``matching.verdict``) returns :class:`Decision`
from here too, so a verdict's decision is the value the case file stores, with no translation.
This module imports nothing but :mod:`enum`.
"""

from __future__ import annotations

import enum

__all__ = [
    "CandidateKind",
    "CandidateState",
    "CaptureKind",
    "CaptureStatus",
    "Decision",
    "FindingStatus",
    "NoticeTemplate",
    "PlatformKind",
    "RunStatus",
]


class PlatformKind(enum.StrEnum):
    CIVITAI = "civitai"
    HUGGINGFACE = "huggingface"
    GALLERY = "gallery"


class CandidateKind(enum.StrEnum):
    IMAGE = "image"
    MODEL = "model"


class CandidateState(enum.StrEnum):
    """What the crawl could make of an item."""

    STORED = "stored"  # content fetched and recorded
    BLOCKED = "blocked"  # a bot challenge or login wall stood in the way
    FAILED = "failed"  # fetching or parsing failed; the reason is kept
    TAKEN_DOWN = "taken_down"  # the platform shows the item as removed


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # finished, with items recorded as failed
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class Decision(enum.StrEnum):
    """The likeness engine's proposal; a person confirms before anything is sent."""

    FLAG = "flag"
    REVIEW = "review"
    IGNORE = "ignore"


class FindingStatus(enum.StrEnum):
    NEW = "new"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    NOTICED = "noticed"
    REMOVED = "removed"
    PERSISTING = "persisting"


class CaptureKind(enum.StrEnum):
    INITIAL = "initial"
    RECHECK = "recheck"
    MANUAL = "manual"


class CaptureStatus(enum.StrEnum):
    PENDING = "pending"
    SEALED = "sealed"
    REMOVED = "removed"  # sealed proof that the page is gone
    FAILED = "failed"


class NoticeTemplate(enum.StrEnum):
    CIVIL_CODE_1195 = "civil-code-1195"
    DMCA = "dmca"
