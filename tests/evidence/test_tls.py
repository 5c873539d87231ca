"""An HTTPS capture records the certificate's subject, issuer and validity, and the PEM."""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from evidence.capture import CaptureJob, CaptureOptions, CaptureOutcome, capture
from evidence.capture.browser import launch_browser
from tests.support.guard import allow


def make_certificate(tmp_path):  # type: ignore[no-untyped-def]
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "evidence-test.local"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Org")])  # fmt: skip
    now = datetime.now(UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return cert, base64.b64encode(hashlib.sha256(spki).digest()).decode()


def test_https_capture_records_certificate(tmp_path, sealing):
    cert, pin = make_certificate(tmp_path)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body><h1>Secure gallery item</h1></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{server.server_address[1]}/item/1"

    async def run():  # type: ignore[no-untyped-def]
        # the test certificate is trusted by its pin only, as a deliberate launch argument
        args = (f"--ignore-certificate-errors-spki-list={pin}",)
        async with launch_browser(extra_args=args) as browser:
            options = CaptureOptions(operator="Test Operator", settle_ms=50, pdf=False)
            return await capture(
                browser, CaptureJob(url, tmp_path / "caps", allow(url, options), sealing)
            )

    import asyncio

    try:
        result = asyncio.run(run())
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert result.outcome is CaptureOutcome.SEALED, result.message
    meta = json.loads((result.directory / "metadata.json").read_text())
    tls = meta["tls"]
    assert tls["https"] is True and tls["protocol"].startswith("TLS")
    assert tls["subject"] == "evidence-test.local" and tls["issuer"] == "evidence-test.local"
    assert tls["valid_to"].startswith(cert.not_valid_after_utc.date().isoformat())
    assert tls["certificate_file"] == "tls-certificate.pem"
    pem = (result.directory / "tls-certificate.pem").read_bytes()
    assert x509.load_pem_x509_certificate(pem) == cert
