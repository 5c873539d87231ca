"""A throwaway RFC 3161 timestamp authority for the demo and the tests. UNTRUSTED.

At first start a CA and a TSA certificate (critical extended key usage timeStamping) are
created in ``<state dir>/tsa/``; the CA key is discarded after signing the TSA certificate, so
nobody can mint more certificates under this root. Replies are built in-process with asn1crypto
and signed with ECDSA P-256 (recipe (b) of the evidence research notes, §4.3): a TSTInfo over
the query's message imprint and nonce, wrapped in CMS SignedData with the signed attributes
content type, signing time, message digest and ESS signing-certificate-v2. Only the TSA
certificate is embedded (one certificate keeps the SET DER-sorted for strict parsers).

Nothing signed here proves anything to a third party: the root is self-made and untrusted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import algos, cms, core, tsp, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox.errors import TimestampQueryError

POLICY_OID = "1.3.6.1.4.1.55555.1.1"  # private-arc policy id; means "sandbox, untrusted"
UNTRUSTED_LABEL = "rightswatch sandbox - UNTRUSTED - demo and tests only"
_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384}
_DIGESTS["sha512"] = hashlib.sha512
_README = (
    "Throwaway test timestamp authority created by the rightswatch sandbox.\n"
    "UNTRUSTED: for the demo and the tests only. The CA key was discarded after use.\n"
)


@dataclass(frozen=True)
class TimestampAuthority:
    """The test TSA: its certificates and signing key."""

    ca_pem: bytes
    tsa_pem: bytes
    tsa_key: ec.EllipticCurvePrivateKey

    @property
    def tsa_der(self) -> bytes:
        return cx509.load_pem_x509_certificate(self.tsa_pem).public_bytes(
            serialization.Encoding.DER
        )

    def reply(self, query_der: bytes, now: dt.datetime | None = None) -> bytes:
        """Answer a DER TimeStampReq with a DER TimeStampResp (granted or rejection)."""
        try:
            query = _parse_query(query_der)
        except TimestampQueryError as exc:
            return _rejection(str(exc))
        when = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        return self._granted(query, when)

    def _granted(self, query: tsp.TimeStampReq, when: dt.datetime) -> bytes:
        tsa_cert = x509.Certificate.load(self.tsa_der)
        info: dict[str, object] = {
            "version": "v1",
            "policy": POLICY_OID,
            "message_imprint": query["message_imprint"],
            "serial_number": secrets.randbits(63),
            "gen_time": when,
            "accuracy": {"seconds": 1},
            "ordering": False,
            "tsa": x509.GeneralName(name="directory_name", value=tsa_cert.subject),
        }
        if query["nonce"].native is not None:
            info["nonce"] = query["nonce"].native
        tst_der = tsp.TSTInfo(info).dump()
        signed_attrs = _signed_attributes(tst_der, self.tsa_der, when)
        signature = self.tsa_key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    name="issuer_and_serial_number",
                    value={
                        "issuer": tsa_cert.issuer,
                        "serial_number": tsa_cert.serial_number,
                    },
                ),
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": signed_attrs,
                "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                "signature": signature,
            }
        )
        signed: dict[str, object] = {
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": core.ParsableOctetString(tst_der),
            },
            "signer_infos": [signer],
        }
        if query["cert_req"].native:
            signed["certificates"] = [tsa_cert]
        token = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed)})
        resp = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})
        return bytes(resp.dump())


def _signed_attributes(tst_der: bytes, tsa_der: bytes, when: dt.datetime) -> cms.CMSAttributes:
    cert_id = {"hash_algorithm": {"algorithm": "sha256"}, "cert_hash": _sha256(tsa_der)}
    attrs = [
        cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
        cms.CMSAttribute(
            {"type": "signing_time", "values": [cms.Time(name="utc_time", value=when)]}
        ),
        cms.CMSAttribute({"type": "message_digest", "values": [_sha256(tst_der)]}),
        cms.CMSAttribute({"type": "signing_certificate_v2", "values": [{"certs": [cert_id]}]}),
    ]
    # DER wants the members of a SET OF in the order of their encodings.
    attrs.sort(key=lambda attr: attr.dump())
    return cms.CMSAttributes(attrs)


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _parse_query(query_der: bytes) -> tsp.TimeStampReq:
    try:
        query = tsp.TimeStampReq.load(query_der, strict=True)
        algorithm = query["message_imprint"]["hash_algorithm"]["algorithm"].native
        digest = query["message_imprint"]["hashed_message"].native
        policy = query["req_policy"].native
        version = query["version"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampQueryError(f"badDataFormat: not a TimeStampReq ({exc})") from exc
    if version != "v1":
        raise TimestampQueryError(f"badRequest: version {version!r}")
    if algorithm not in _DIGESTS:
        raise TimestampQueryError(f"badAlg: {algorithm!r} is not accepted")
    if len(digest) != _DIGESTS[algorithm]().digest_size:
        raise TimestampQueryError(f"badDataFormat: {algorithm} imprint of {len(digest)} bytes")
    if policy is not None and policy != POLICY_OID:
        raise TimestampQueryError(f"unacceptedPolicy: {policy}")
    return query


def _rejection(reason: str) -> bytes:
    code = reason.split(":", 1)[0]
    fail_info = {
        "badAlg": "bad_alg",
        "badRequest": "bad_request",
        "unacceptedPolicy": "unaccepted_policy",
    }.get(code, "bad_data_format")
    status = {
        "status": "rejection",
        "status_string": [reason],
        "fail_info": tsp.PKIFailureInfo({fail_info}),
    }
    # asn1crypto insists on a token, so the one-field SEQUENCE is written out by hand.
    body = bytes(tsp.PKIStatusInfo(status).dump())
    size = len(body)
    length = bytes([size]) if size < 0x80 else bytes([0x82]) + size.to_bytes(2, "big")
    return b"\x30" + length + body


def load_or_create(state_dir: Path) -> TimestampAuthority:
    """Load the TSA from ``state_dir/tsa``, creating a fresh CA and TSA certificate if absent."""
    folder = state_dir / "tsa"
    ca_path, tsa_path, key_path = folder / "ca.pem", folder / "tsa.pem", folder / "tsa.key.pem"
    if not (ca_path.exists() and tsa_path.exists() and key_path.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        ca_pem, tsa_pem, key_pem = _create_pki()
        for path, data in ((ca_path, ca_pem), (tsa_path, tsa_pem), (key_path, key_pem)):
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        (folder / "README.txt").write_text(_README, encoding="utf-8")
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TimestampQueryError(f"{key_path}: the TSA key is not an EC key")
    return TimestampAuthority(
        ca_pem=ca_path.read_bytes(), tsa_pem=tsa_path.read_bytes(), tsa_key=key
    )


def _name(common_name: str) -> cx509.Name:
    return cx509.Name(
        [
            cx509.NameAttribute(NameOID.COMMON_NAME, common_name),
            cx509.NameAttribute(NameOID.ORGANIZATION_NAME, UNTRUSTED_LABEL),
        ]
    )


def _create_pki() -> tuple[bytes, bytes, bytes]:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    until = now + dt.timedelta(days=3650)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("rightswatch sandbox Test Root CA (UNTRUSTED)")
    ca = (
        cx509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(cx509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            cx509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(cx509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    tsa = (
        cx509.CertificateBuilder()
        .subject_name(_name("rightswatch sandbox Test TSA (UNTRUSTED)"))
        .issuer_name(ca_name)
        .public_key(tsa_key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(cx509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            cx509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(cx509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(
            cx509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = tsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pem = serialization.Encoding.PEM
    return ca.public_bytes(pem), tsa.public_bytes(pem), key_pem
