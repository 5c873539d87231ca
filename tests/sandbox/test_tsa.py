"""The test TSA: replies verify with rfc3161-client and with `openssl ts -verify`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from tests.support.sandbox import SandboxServer

QUERY = {"Content-Type": "application/timestamp-query"}


def _stamp(sandbox: SandboxServer, data: bytes, algorithm: HashAlgorithm):
    request = TimestampRequestBuilder().data(data).hash_algorithm(algorithm).build()
    reply = httpx.post(sandbox.tsa_url, content=request.as_bytes(), headers=QUERY)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/timestamp-reply"
    return request, reply.content


def test_reply_verifies_with_rfc3161_client(sandbox: SandboxServer) -> None:
    root = x509.load_pem_x509_certificate(sandbox.ca_pem())
    for algorithm in (HashAlgorithm.SHA256, HashAlgorithm.SHA512):
        request, raw = _stamp(sandbox, b"manifest bytes", algorithm)
        response = decode_timestamp_response(raw)
        assert response.status == PKIStatus.GRANTED
        verifier = VerifierBuilder.from_request(request).add_root_certificate(root).build()
        assert verifier.verify_message(response, b"manifest bytes")
        try:
            verifier.verify_message(response, b"tampered bytes")
        except VerificationError as exc:
            assert "Mismatch" in str(exc)
        else:
            raise AssertionError("a tampered message verified")


def test_reply_verifies_with_openssl(sandbox: SandboxServer, tmp_path: Path) -> None:
    request, raw = _stamp(sandbox, b"evidence", HashAlgorithm.SHA256)
    (tmp_path / "req.tsq").write_bytes(request.as_bytes())
    (tmp_path / "resp.tsr").write_bytes(raw)
    (tmp_path / "ca.pem").write_bytes(sandbox.ca_pem())
    (tmp_path / "data").write_bytes(b"evidence")
    for source in (["-queryfile", "req.tsq"], ["-data", "data"]):
        result = subprocess.run(
            ["openssl", "ts", "-verify", *source, "-in", "resp.tsr", "-CAfile", "ca.pem"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert "Verification: OK" in result.stdout, result.stderr


def test_openssl_query_is_answered(sandbox: SandboxServer, tmp_path: Path) -> None:
    (tmp_path / "data").write_bytes(b"court report")
    subprocess.run(
        ["openssl", "ts", "-query", "-data", "data", "-sha384", "-cert", "-out", "q.tsq"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    raw = httpx.post(sandbox.tsa_url, content=(tmp_path / "q.tsq").read_bytes(), headers=QUERY)
    (tmp_path / "r.tsr").write_bytes(raw.content)
    (tmp_path / "ca.pem").write_bytes(sandbox.ca_pem())
    result = subprocess.run(
        ["openssl", "ts", "-verify", "-queryfile", "q.tsq", "-in", "r.tsr", "-CAfile", "ca.pem"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Verification: OK" in result.stdout, result.stderr


def test_tsa_certificate_is_labelled_and_time_stamping_only(sandbox: SandboxServer) -> None:
    leaf = x509.load_pem_x509_certificate(sandbox.get("/tsa/tsa.pem").content)
    root = x509.load_pem_x509_certificate(sandbox.ca_pem())
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert "UNTRUSTED" in leaf.subject.rfc4514_string()
    assert "UNTRUSTED" in root.subject.rfc4514_string()
    assert leaf.issuer == root.subject


def test_garbage_query_gets_a_rejection(sandbox: SandboxServer) -> None:
    reply = httpx.post(sandbox.tsa_url, content=b"not der", headers=QUERY)
    assert reply.status_code == 200
    response = subprocess.run(
        ["openssl", "ts", "-reply", "-in", "/dev/stdin", "-text"],
        input=reply.content,
        capture_output=True,
        check=True,
    )
    assert b"Status: Rejected." in response.stdout
    assert b"wrong format" in response.stdout


def test_wrong_content_type_is_refused(sandbox: SandboxServer) -> None:
    reply = httpx.post(sandbox.tsa_url, content=b"x", headers={"Content-Type": "text/plain"})
    assert reply.status_code == 415
