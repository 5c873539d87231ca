"""Errors of the front door (configuration and command use).

    RightswatchError
    ├── ConfigError        watch.toml is missing, unreadable or invalid (exit status 2)
    └── LibraryError       a reference image could not be taken into the library

Each message names the file, key or path it is about.
"""

from __future__ import annotations


class RightswatchError(Exception):
    """Root of every error raised by the rightswatch package."""

    exit_code = 1


class ConfigError(RightswatchError):
    """The watch configuration cannot be used."""

    exit_code = 2


class LibraryError(RightswatchError):
    """A reference image could not be taken into the library."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")
