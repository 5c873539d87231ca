"""RFC 3161 trusted timestamps: TSA clients behind a Protocol and a scheme map.

Requests are built and tokens verified with rfc3161-client (research/evidence.md §4.1); the
HTTP transport is httpx. A token is accepted only after it verifies against the TSA's pinned
CA certificate(s): status granted, chain valid at genTime, critical timeStamping EKU, nonce and
message imprint equal to ours. Anything else raises :class:`TimestampError` naming the URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from rfc3161_client import (
    HashAlgorithm,
    TimeStampRequest,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerifierBuilder,
    decode_timestamp_response,
)
from rfc3161_client import VerificationError as TokenVerificationError

from evidence.exceptions import TimestampError

DEFAULT_TIMEOUT = 15.0
TSQ_MEDIA_TYPE = "application/timestamp-query"


@dataclass(frozen=True)
class TsaSpec:
    """One configured timestamp authority: its URL and the pinned CA certificate(s) (PEM)."""

    url: str
    ca_pem: bytes
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class TimestampToken:
    """A verified RFC 3161 response (the ``.tsr`` bytes) and what it says."""

    tsa_url: str
    response: bytes
    ca_pem: bytes
    signer_certs_pem: bytes
    gen_time: datetime
    serial_number: int
    policy: str
    # the capture host's clock half-way through the TSA round trip (None when not measured)
    local_time: datetime | None = None
    # the TSA's stated accuracy of gen_time in seconds (None when the token states none)
    accuracy_s: float | None = None

    @property
    def clock_offset_s(self) -> float | None:
        """TSA time minus the local clock: how far the capture host's clock was off."""
        if self.local_time is None:
            return None
        return (self.gen_time - self.local_time).total_seconds()

    @property
    def name(self) -> str:
        """A file-name-safe label for this TSA, e.g. ``127.0.0.1-8123-tsa``."""
        return tsa_label(self.tsa_url)


class Timestamper(Protocol):
    """Anything that can obtain a verified timestamp token over some bytes."""

    @property
    def url(self) -> str: ...

    def stamp(self, data: bytes) -> TimestampToken: ...


def tsa_label(url: str) -> str:
    """A file-name-safe label derived from a TSA URL."""
    bare = re.sub(r"^[a-z]+://", "", url)
    return re.sub(r"[^A-Za-z0-9.]+", "-", bare).strip("-") or "tsa"


def load_certificates(pem: bytes, *, source: str) -> list[x509.Certificate]:
    """Every certificate in a PEM blob; errors name ``source``."""
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise TimestampError(f"{source}: no readable PEM certificate ({exc})") from exc
    return certs


def _verifier(
    ca_pem: bytes, *, source: str, request: TimeStampRequest | None = None
) -> VerifierBuilder:
    certs = load_certificates(ca_pem, source=source)
    roots = [c for c in certs if c.issuer == c.subject] or certs
    builder = VerifierBuilder.from_request(request) if request is not None else VerifierBuilder()
    for cert in roots:
        builder = builder.add_root_certificate(cert)
    for cert in certs:
        if cert not in roots:
            builder = builder.add_intermediate_certificate(cert)
    return builder


def verify_token(
    response: bytes,
    data: bytes,
    ca_pem: bytes,
    *,
    source: str,
    request: TimeStampRequest | None = None,
) -> TimeStampResponse:
    """Check a ``.tsr`` over ``data`` against the pinned CA; return the decoded response.

    Raises :class:`TimestampError` (naming ``source``) on any failure: undecodable token,
    status not granted, broken chain, missing EKU, wrong nonce, wrong message imprint.
    """
    try:
        decoded = decode_timestamp_response(response)
    except ValueError as exc:
        raise TimestampError(f"{source}: not a decodable RFC 3161 response ({exc})") from exc
    try:
        _verifier(ca_pem, source=source, request=request).build().verify_message(decoded, data)
    except (TokenVerificationError, ValueError) as exc:
        raise TimestampError(f"{source}: timestamp token does not verify ({exc})") from exc
    return decoded


def accuracy_seconds(decoded: TimeStampResponse) -> float | None:
    """The token's stated accuracy (RFC 3161 ``Accuracy``) in seconds, or None."""
    try:
        accuracy = decoded.tst_info.accuracy
    except (ValueError, AttributeError):
        return None
    if accuracy is None:
        return None
    return (
        float(accuracy.seconds or 0)
        + (accuracy.millis or 0) / 1000
        + (accuracy.micros or 0) / 1_000_000
    )


def verify_anchored(
    response: bytes, data: bytes, trusted: Sequence[bytes], *, source: str
) -> tuple[TimeStampResponse, int]:
    """Verify a token against the verifier's own TSA roots; return it and which root matched.

    Tries each trusted PEM in turn; raises :class:`TimestampError` naming ``source`` when none
    of them anchors the token (a token that verifies only against a CA shipped beside it is
    self-consistent, not anchored).
    """
    problems = []
    for index, ca_pem in enumerate(trusted):
        try:
            return verify_token(response, data, ca_pem, source=source), index
        except TimestampError as exc:
            problems.append(str(exc).removeprefix(f"{source}: "))
    detail = "; ".join(problems) or "no trusted TSA CA given"
    raise TimestampError(
        f"{source}: not anchored: no CA in the verifier's trust store verifies it ({detail})"
    )


def _signer_certs_pem(decoded: TimeStampResponse) -> bytes:
    pems = []
    for der in sorted(decoded.signed_data.certificates):
        cert = x509.load_der_x509_certificate(der)
        pems.append(cert.public_bytes(serialization.Encoding.PEM))
    return b"".join(pems)


def token_from_response(
    url: str,
    response: bytes,
    data: bytes,
    ca_pem: bytes,
    request: TimeStampRequest | None = None,
    local_time: datetime | None = None,
) -> TimestampToken:
    """Verify ``response`` and wrap it as a :class:`TimestampToken`."""
    decoded = verify_token(response, data, ca_pem, source=url, request=request)
    info = decoded.tst_info
    return TimestampToken(
        tsa_url=url,
        response=response,
        ca_pem=ca_pem,
        signer_certs_pem=_signer_certs_pem(decoded),
        gen_time=info.gen_time,
        serial_number=info.serial_number,
        policy=info.policy.dotted_string,
        local_time=local_time,
        accuracy_s=accuracy_seconds(decoded),
    )


class HttpTimestamper:
    """RFC 3161 over HTTP(S): POST a DER TimeStampReq, receive a TimeStampResp."""

    def __init__(self, spec: TsaSpec) -> None:
        self._spec = spec
        load_certificates(spec.ca_pem, source=f"{spec.url} (CA)")

    @property
    def url(self) -> str:
        return self._spec.url

    def stamp(self, data: bytes) -> TimestampToken:
        if not data:
            raise TimestampError(f"{self.url}: refusing to timestamp empty data")
        request = (
            TimestampRequestBuilder()
            .data(data)
            .hash_algorithm(HashAlgorithm.SHA256)
            .nonce(nonce=True)
            .cert_request(cert_request=True)
            .build()
        )
        sent = datetime.now(UTC)
        try:
            reply = httpx.post(
                self.url,
                content=request.as_bytes(),
                headers={"Content-Type": TSQ_MEDIA_TYPE},
                timeout=self._spec.timeout,
            )
        except httpx.HTTPError as exc:
            raise TimestampError(f"{self.url}: TSA request failed ({exc!r})") from exc
        if reply.status_code != httpx.codes.OK:
            raise TimestampError(f"{self.url}: TSA answered HTTP {reply.status_code}")
        local = sent + (datetime.now(UTC) - sent) / 2
        return token_from_response(
            self.url, reply.content, data, self._spec.ca_pem, request, local_time=local
        )


TIMESTAMPERS: dict[str, Callable[[TsaSpec], Timestamper]] = {
    "http": HttpTimestamper,
    "https": HttpTimestamper,
}


def timestamper_for(spec: TsaSpec) -> Timestamper:
    """The client for ``spec.url``'s scheme (see :data:`TIMESTAMPERS`)."""
    scheme = spec.url.split("://", 1)[0].lower() if "://" in spec.url else ""
    factory = TIMESTAMPERS.get(scheme)
    if factory is None:
        known = ", ".join(sorted(TIMESTAMPERS))
        raise TimestampError(f"{spec.url}: unsupported TSA scheme {scheme!r} (known: {known})")
    return factory(spec)


def timestampers_for(specs: Sequence[TsaSpec]) -> list[Timestamper]:
    """One client per configured TSA."""
    return [timestamper_for(spec) for spec in specs]
