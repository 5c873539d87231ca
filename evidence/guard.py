"""The one guard every outbound fetch passes: crawler, browser, evidence capture and media.

A fetch is allowed when, in this order:

1. its scheme is ``http`` or ``https`` (``file:``, ``data:``, ``ftp:``, ``s3:`` and the rest
   are refused; a browser's own ``data:``/``blob:``/``about:`` URLs never reach the network and
   are the browser side's business, see :func:`is_network_url`);
2. its host matches one of the policy's host entries (any host when the policy is open);
3. its port is one the matching entry allows (an entry without a port allows the scheme's
   default port only; ``host:port`` allows that port);
4. after DNS resolution (:func:`check_resolved`), none of the host's addresses is private,
   loopback, link-local, shared, multicast, reserved or unspecified, unless the operator named
   the host as local by writing it as a literal address or ``localhost`` (in the base URL or an
   entry; the sandbox configures itself this way). A name that resolves to 127.0.0.1 is the
   DNS-rebinding trick and is refused, even the platform's own name.

Host entries are exact names (``image.civitai.com``), names with a port (``127.0.0.2:8001``),
or patterns: ``*.hf.co`` matches any name ending in ``.hf.co`` (not ``hf.co`` itself), and a
``*`` inside a label matches within that label only (``cdn-lfs*.huggingface.co`` matches
``cdn-lfs-us-1.huggingface.co``). Patterns never make an address local.

Every refusal is a :class:`~evidence.exceptions.FetchRefused` naming the URL and the reason,
raised before any byte of the response is written anywhere.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlsplit

from evidence.exceptions import FetchRefused

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})
# Browser-internal URLs: they never reach the network, so the guard does not judge them.
NON_NETWORK_PREFIXES = ("data:", "blob:", "about:", "chrome:", "chrome-extension:", "devtools:")

Resolver = Callable[[str, int], Iterable[str]]


def is_network_url(url: str) -> bool:
    """False for browser-internal URLs (``data:``, ``blob:``, ``about:``...)."""
    return not url.lower().startswith(NON_NETWORK_PREFIXES)


def is_local_address(address: str) -> bool:
    """True for an address a public platform never has (private, loopback, link-local...)."""
    text = address.strip("[]").split("%", 1)[0]
    if text.lower() in LOCAL_NAMES or text.lower().endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # Not globally routable: private, loopback, link-local, shared (100.64/10), reserved,
    # documentation and unspecified ranges; multicast too.
    return bool(not ip.is_global or ip.is_multicast)


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host in LOCAL_NAMES
    return True


@dataclass(frozen=True)
class HostEntry:
    """One allowlist entry: an exact host or a pattern, with an optional port."""

    pattern: str  # lower case, without the port; IPv6 literals without brackets
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> HostEntry:
        """``host``, ``host:port``, ``*.suffix``, ``[v6]:port``; a bad entry is a ValueError."""
        raw = text.strip().lower()
        if not raw or "/" in raw or "@" in raw or " " in raw:
            raise ValueError(f"host entry {text!r} is not a host name, pattern or host:port")
        port: int | None = None
        if raw.startswith("["):
            end = raw.find("]")
            if end < 0:
                raise ValueError(f"host entry {text!r} has an unclosed IPv6 bracket")
            host, rest = raw[1:end], raw[end + 1 :]
            if rest:
                if not rest.startswith(":") or not rest[1:].isdigit():
                    raise ValueError(f"host entry {text!r} has a bad port")
                port = int(rest[1:])
        elif raw.count(":") == 1:
            host, _, port_text = raw.partition(":")
            if not port_text.isdigit():
                raise ValueError(f"host entry {text!r} has a bad port")
            port = int(port_text)
        else:
            host = raw  # a bare IPv6 literal, or a name
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"host entry {text!r}: port {port} is out of range")
        if not host or host.strip("*.") == "":
            raise ValueError(f"host entry {text!r} matches every host; list the hosts instead")
        return cls(host, port)

    @property
    def is_pattern(self) -> bool:
        return "*" in self.pattern

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        pattern = self.pattern
        prefix = ""
        if pattern.startswith("*."):
            prefix, pattern = r"(?:[^.]+\.)+", pattern[2:]
        body = r"[^.]*".join(re.escape(part) for part in pattern.split("*"))
        return re.compile(prefix + body)

    def matches(self, host: str) -> bool:
        if not self.is_pattern:
            return host == self.pattern
        return self._regex.fullmatch(host) is not None

    def allows_port(self, scheme: str, port: int) -> bool:
        if self.port is not None:
            return port == self.port
        return port == DEFAULT_PORTS.get(scheme)

    def __str__(self) -> str:
        host = f"[{self.pattern}]" if ":" in self.pattern else self.pattern
        return host if self.port is None else f"{host}:{self.port}"


@dataclass(frozen=True)
class FetchPolicy:
    """What one fetcher may reach. Build with :meth:`for_platform` or :meth:`public`."""

    entries: tuple[HostEntry, ...] = ()
    open_hosts: bool = False  # any public host, any port (a manual capture)
    local_hosts: frozenset[str] = field(default_factory=frozenset)  # may resolve privately
    setting: str = "allowed_hosts"  # the configuration key a user changes to allow a host

    @classmethod
    def for_platform(
        cls,
        base_url: str,
        hosts: Iterable[str] = (),
        *,
        setting: str = "allowed_hosts",
    ) -> FetchPolicy:
        """The base URL's host and port, plus ``hosts`` (entries or patterns).

        A malformed entry is a :class:`FetchRefused`-free ``ValueError`` naming it: the caller
        turns it into a configuration error.
        """
        parts = urlsplit(base_url)
        base_host = (parts.hostname or "").lower()
        if parts.scheme not in ALLOWED_SCHEMES or not base_host:
            raise ValueError(f"base URL {base_url!r} is not an http(s) URL")
        base_port = parts.port or DEFAULT_PORTS[parts.scheme]
        entries = [HostEntry(base_host, base_port)]
        if parts.port is None:
            entries.append(HostEntry(base_host, None))
        local = {base_host} if _is_literal(base_host) else set()
        for text in hosts:
            entry = HostEntry.parse(text)
            entries.append(entry)
            if not entry.is_pattern and _is_literal(entry.pattern):
                local.add(entry.pattern)
        return cls(tuple(dict.fromkeys(entries)), False, frozenset(local), setting)

    @classmethod
    def public(cls) -> FetchPolicy:
        """Any public http(s) address on any port; nothing local (a manual capture)."""
        return cls((), True, frozenset(), "")

    def describe(self) -> str:
        if self.open_hosts:
            return "any public http(s) host"
        return ", ".join(str(e) for e in self.entries)

    def _hint(self, host: str) -> str:
        return f"; add {host!r} to {self.setting} to allow it" if self.setting else ""

    def check_url(self, url: str) -> tuple[str, int]:
        """Scheme, host and port, without DNS. Returns ``(host, port)``; raises FetchRefused."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise FetchRefused(url, f"malformed URL ({exc})") from exc
        scheme = parts.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            raise FetchRefused(url, f"scheme {scheme or '(none)'!r} is not http or https")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise FetchRefused(url, "no host")
        if parts.username is not None or parts.password is not None:
            raise FetchRefused(url, "credentials in the URL are refused")
        effective_port = port if port is not None else DEFAULT_PORTS[scheme]
        if self.open_hosts:
            if is_local_address(host):
                raise FetchRefused(url, f"{host} is a private, loopback or link-local address")
            return host, effective_port
        matching = [e for e in self.entries if e.matches(host)]
        if not matching:
            raise FetchRefused(url, f"host {host!r} is not allowed{self._hint(host)}")
        if not any(e.allows_port(scheme, effective_port) for e in matching):
            allowed = ", ".join(str(e) for e in matching)
            raise FetchRefused(
                url, f"port {effective_port} of {host!r} is not allowed (entries: {allowed})"
            )
        if is_local_address(host) and host not in self.local_hosts:
            raise FetchRefused(url, f"{host} is a private, loopback or link-local address")
        return host, effective_port

    def check_address(self, url: str, host: str, address: str) -> None:
        """Refuse ``address`` (what ``host`` resolved or connected to) when it is local."""
        if host in self.local_hosts:
            return
        if is_local_address(address):
            raise FetchRefused(
                url, f"{host} resolved to {address}, a private, loopback or link-local address"
            )

    def check_resolved(self, url: str, resolve: Resolver | None = None) -> tuple[str, ...]:
        """:meth:`check_url`, then every address the host resolves to. Returns the addresses."""
        host, port = self.check_url(url)
        resolver = resolve or system_resolve
        try:
            addresses = tuple(resolver(host, port))
        except OSError as exc:
            raise FetchRefused(url, f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise FetchRefused(url, f"{host} resolved to no address")
        for address in addresses:
            self.check_address(url, host, address)
        return addresses


def system_resolve(host: str, port: int) -> tuple[str, ...]:
    """The addresses ``getaddrinfo`` gives for ``host`` (a literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))
