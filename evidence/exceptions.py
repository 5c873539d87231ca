"""Errors raised by the evidence package.

    EvidenceError
    ├── StoreError                 the case-file database
    │   ├── DatabaseUnavailable    the URL cannot be reached or opened
    │   ├── MigrationError         the schema could not be brought up to date
    │   ├── LeaseHeld              another live process holds a named lease
    │   ├── NotFound               a row asked for by id does not exist
    │   └── SlotTaken              a capture with this idempotency key is already recorded
    ├── SealError                  a directory could not be sealed (fail closed)
    │   ├── TimestampError         a TSA could not be reached or its token did not verify
    │   └── SigningError           the signing key is missing, unreadable or invalid
    ├── CustodyError               the custody log is unreadable or its chain is broken
    ├── CaptureError               a page could not be captured at all (browser start-up)
    ├── FetchRefused               the fetch guard refused a URL (scheme, host, port, address)
    ├── BundleError                an export bundle could not be written or opened
    ├── VerificationError          verification could not run (failed checks are reported)
    ├── ReportError                the court report could not be rendered
    ├── NoticeError                a notice could not be drafted (e.g. finding not confirmed)
    └── DecisionError              a review decision that review may not make

Every error carries the context a user needs to act: the URL, file or row id.
"""

from __future__ import annotations

from datetime import datetime


class EvidenceError(Exception):
    """Root of every error the evidence package raises."""


class StoreError(EvidenceError):
    """The case-file database failed."""


class DatabaseUnavailable(StoreError):
    """The database URL cannot be reached or opened."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"cannot open database {url}: {reason}")


class MigrationError(StoreError):
    """The schema could not be upgraded."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"cannot upgrade database {url}: {reason}")


class SlotTaken(StoreError):
    """A capture row with this idempotency key already exists (one per finding and slot)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"capture slot {key!r} is already taken by another capture")


class NotFound(StoreError):
    """A row asked for by id does not exist."""

    def __init__(self, what: str, ident: object) -> None:
        self.what = what
        self.ident = ident
        super().__init__(f"no {what} with id {ident}")


class SealError(EvidenceError):
    """A capture directory could not be sealed."""


class TimestampError(SealError):
    """A timestamp authority could not be reached, or its token failed verification."""


class SigningError(SealError):
    """The signing key is missing, unreadable or invalid."""


class CustodyError(EvidenceError):
    """The custody log is unreadable or its hash chain is broken."""


class CaptureError(EvidenceError):
    """A page could not be captured at all (the browser would not start)."""


class FetchRefused(EvidenceError):
    """The fetch guard (evidence/guard.py) refused a URL before anything was fetched or written."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"fetch refused: {url}: {reason}")


class BundleError(EvidenceError):
    """An export bundle could not be written or opened."""


class VerificationError(EvidenceError):
    """Verification could not run (unreadable bundle); failed checks are reported, not raised."""


class ReportError(EvidenceError):
    """A court report could not be rendered."""


class NoticeError(EvidenceError):
    """A notice could not be drafted."""


class DecisionError(EvidenceError):
    """A review decision that is not review's to make (e.g. setting 'noticed' by hand)."""


class LeaseHeld(StoreError):
    """Another live process holds the lease (e.g. a run of the same configuration)."""

    def __init__(self, name: str, holder: str, expires_at: datetime) -> None:
        self.name = name
        self.holder = holder
        self.expires_at = expires_at
        super().__init__(
            f"{name!r} is already running ({holder}, "
            f"lease until {expires_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
