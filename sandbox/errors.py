"""Errors raised by the sandbox.

Exception tree::

    SandboxError                 base of everything the sandbox raises on purpose
     ├── FaultSpecError          a --faults SPEC that cannot be parsed (names the rule)
     ├── ContentError            unknown character, pose or item id (names it)
     └── TimestampQueryError     an RFC 3161 query that cannot be answered (names the reason)
"""

from __future__ import annotations


class SandboxError(Exception):
    """Base class of the sandbox's own errors."""


class FaultSpecError(SandboxError):
    """A fault specification is malformed."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"bad fault rule {rule!r}: {reason}")
        self.rule = rule
        self.reason = reason


class ContentError(SandboxError):
    """Content was asked for that the sandbox does not know."""


class TimestampQueryError(SandboxError):
    """A timestamp query is malformed or asks for something the test TSA refuses."""
