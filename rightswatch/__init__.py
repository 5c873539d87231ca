"""rightswatch: find, flag and prove AI-platform look-alikes of a client's characters."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rightswatch")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
