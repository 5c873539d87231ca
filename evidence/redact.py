"""Secrets never written: credentials taken out of URLs, headers and text before they are stored.

Evidence must show what a platform served, not how we signed in. Every writer of WARC records,
capture metadata, plans, queue messages, logs and reports passes what it writes through here:

    redact_url(url)          password in the authority -> ``***``; token values -> ``REDACTED``
    redact_headers(pairs)    ``Cookie``, ``Set-Cookie``, ``(Proxy-)Authorization`` removed
    redact_text(text)        every URL inside free text redacted as above (log lines, errors)
    redact_mapping(value)    the same, recursively, over JSON-like data (plans, metadata)
    redact_logs()            a filter on the root handlers: every log line redacted

Query parameters are kept with a placeholder value rather than dropped, so a reader can still
see that the request carried one; a removed header leaves no trace (its name alone says nothing).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Set-Cookie too: the session a platform hands us is our credential from then on
SECRET_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})
# query parameters that carry a credential (compared lower-case); "...token" covers
# access_token, auth_token, x-amz-security-token and the like
SECRET_PARAMS = frozenset(
    {"token", "access_token", "api_key", "apikey", "api-key", "key", "password", "secret", "sig"}
)
PASSWORD_MASK = "***"  # noqa: S105  # the mask, not a password
VALUE_MASK = "REDACTED"

# scheme://user:password@host   (any scheme: postgresql+psycopg, redis, https, …)
_AUTHORITY = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)(?P<pw>[^\s/@]+)@")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")


def secret_param(name: str) -> bool:
    low = name.lower()
    return low in SECRET_PARAMS or low.endswith("token") or low.endswith("password")


def secret_field(name: str) -> bool:
    """A JSON field whose value is a credential (narrower than query names: no ``key``)."""
    low = name.lower()
    named = low in SECRET_HEADERS or low in {"password", "secret", "api_key", "apikey"}
    return named or low.endswith("token") or low.endswith("password")


def secret_header(name: str | bytes) -> bool:
    text = name.decode("latin-1") if isinstance(name, bytes) else name
    return text.strip().lower() in SECRET_HEADERS


def _redact_query(query: str) -> str:
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(secret_param(k) for k, _ in pairs):
        return query
    return urlencode([(k, VALUE_MASK if secret_param(k) else v) for k, v in pairs], safe="/:,")


def redact_url(url: str) -> str:
    """``url`` with its password and credential query values masked; other URLs unchanged."""
    masked = _AUTHORITY.sub(lambda m: f"{m.group('head')}{PASSWORD_MASK}@", url)
    try:
        parts = urlsplit(masked)
    except ValueError:
        return masked
    query = _redact_query(parts.query)
    if query == parts.query:
        return masked
    return urlunsplit(parts._replace(query=query))


def redact_headers(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The header pairs without the ones that carry credentials."""
    return [(name, value) for name, value in pairs if not secret_header(name)]


def redact_text(text: str) -> str:
    """Free text (a log line, an error) with every URL in it redacted."""
    return _URL.sub(lambda m: redact_url(m.group(0)), _AUTHORITY.sub(r"\g<head>***@", text))


def redact_mapping(value: Any) -> Any:
    """JSON-like data with URLs redacted in every string and secret keys' values masked."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            k: (VALUE_MASK if isinstance(k, str) and secret_field(k) and v else redact_mapping(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_mapping(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """A handler filter that redacts every log line (URLs with passwords or tokens in them).

    Install it on the handlers of a process that logs URLs it did not choose: the crawl child
    (Scrapy logs every URL it fetches), the worker and the scheduler.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def redact_logs(logger: logging.Logger | None = None) -> None:
    """Add :class:`RedactingFilter` to every handler of ``logger`` (default: the root)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
