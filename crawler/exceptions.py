"""The crawler's exception tree.

::

    CrawlerError                 base; rightswatch's CLI turns it into one line + exit code
     +-- CrawlConfigError        a crawl request or target that cannot be run (names the key)
     +-- ParseError              platform data that does not have the documented shape (URL)
     |    +-- SafetensorsHeaderError   an absurd or broken safetensors header (URL, reason)
     +-- MediaError              media that cannot be accepted (size cap, bomb, not an image)
     +-- CrawlFailed             the crawl child process failed (run id, exit status, log path)
"""

from __future__ import annotations


class CrawlerError(Exception):
    """Base of every error raised by the crawler package."""


class CrawlConfigError(CrawlerError):
    """A crawl request that cannot be run."""


class ParseError(CrawlerError):
    """Platform data that does not have the expected shape."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class SafetensorsHeaderError(ParseError):
    """A safetensors header that is absurd, truncated or not valid JSON."""


class MediaError(CrawlerError):
    """Media bytes that were refused (too big, decompression bomb, undecodable)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class CrawlFailed(CrawlerError):
    """The crawl child process ended badly."""
