"""Errors raised by the evidence package.

    EvidenceError                      root: the CLI turns any of these into one line + exit code
    ├── StoreError                     case-file database problems
    ├── SealError                      a capture directory could not be sealed (fail closed)
    │   ├── TimestampError             a TSA could not be reached or its token did not verify
    │   └── SigningError               the signing key is missing, unreadable or invalid
    ├── CustodyError                   the custody log is unreadable or its chain is broken
    ├── CaptureError                   a page could not be captured at all (browser, network)
    ├── BundleError                    an export bundle could not be written or opened
    ├── VerificationError              verification could not run (not: "a check failed")
    ├── ReportError                    the court report could not be rendered
    └── NoticeError                    a notice could not be drafted (e.g. finding not confirmed)

Every error carries context (file, URL or id) in its message.
"""

from __future__ import annotations


class EvidenceError(Exception):
    """Root of every error raised by the evidence package."""


class StoreError(EvidenceError):
    """The case-file database could not be used."""


class SealError(EvidenceError):
    """A capture directory could not be sealed."""


class TimestampError(SealError):
    """A timestamp authority could not be reached, or its token failed verification."""


class SigningError(SealError):
    """The signing key is missing, unreadable or invalid."""


class CustodyError(EvidenceError):
    """The custody log is unreadable or its hash chain is broken."""


class CaptureError(EvidenceError):
    """A page could not be captured (browser failure, network failure)."""


class BundleError(EvidenceError):
    """An export bundle could not be written or opened."""


class VerificationError(EvidenceError):
    """Verification could not run (unreadable bundle); failed checks are reported, not raised."""


class ReportError(EvidenceError):
    """A court report could not be rendered."""


class NoticeError(EvidenceError):
    """A notice could not be drafted."""
