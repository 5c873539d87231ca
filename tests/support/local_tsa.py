"""A local RFC 3161 timestamp authority on 127.0.0.1 for tests and benchmarks.

Certificates are made with the OpenSSL CLI and each request is answered by
``openssl ts -reply`` (research/evidence.md §4.3(a)). The CA is deliberately *not* added to
the response's certificate set (``certs=`` unset) so rfc3161-client can parse it.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TSA_CNF = """\
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = {dir}
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
[ v3_tsa ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
"""


@dataclass(frozen=True)
class LocalTsa:
    url: str
    ca_pem: bytes
    tsa_cert_pem: bytes
    directory: Path


def make_authority(directory: Path, name: str = "Test") -> Path:
    """Create CA and TSA certificates plus the OpenSSL TSA config in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tsa.cnf").write_text(TSA_CNF.format(dir=directory))
    (directory / "tsaserial").write_text("01\n")
    run = lambda *args: subprocess.run(args, cwd=directory, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
        "-subj", f"/CN={name} Root CA")  # fmt: skip
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", f"/CN={name} TSA")  # fmt: skip
    run("openssl", "x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "tsa.crt", "-days", "3650", "-extfile", "tsa.cnf",
        "-extensions", "v3_tsa")  # fmt: skip
    return directory


def reply(directory: Path, query: bytes) -> bytes:
    """Answer one DER TimeStampReq with ``openssl ts -reply``."""
    with tempfile.TemporaryDirectory() as tmp:
        q = Path(tmp) / "q.tsq"
        r = Path(tmp) / "r.tsr"
        q.write_bytes(query)
        subprocess.run(
            ["openssl", "ts", "-reply", "-queryfile", str(q), "-config",
             str(directory / "tsa.cnf"), "-out", str(r)],
            check=True, capture_output=True,
        )  # fmt: skip
        return r.read_bytes()


@contextmanager
def local_tsa(directory: Path, *, status: int = 200, delay_s: float = 0.0) -> Iterator[LocalTsa]:
    """Serve a TSA at ``http://127.0.0.1:<port>/tsa``; ``status`` != 200 makes it fail,
    ``delay_s`` makes it slow."""
    make_authority(directory)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if delay_s:
                time.sleep(delay_s)
            if status != 200:
                self.send_response(status)
                self.end_headers()
                return
            with lock:
                answer = reply(directory, body)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalTsa(
            url=f"http://127.0.0.1:{server.server_address[1]}/tsa",
            ca_pem=(directory / "ca.crt").read_bytes(),
            tsa_cert_pem=(directory / "tsa.crt").read_bytes(),
            directory=directory,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
