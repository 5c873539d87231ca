"""Ed25519 signing of manifests with the operator's key.

The private key is a PKCS#8 PEM file created with mode 0600; the public key is a
SubjectPublicKeyInfo PEM file that travels in every sealed capture and bundle. A signature
is the raw 64-byte Ed25519 signature of ``manifest.json`` exactly as written, so an
opposing expert can check it with standard tools only::

    openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin \
        -in manifest.json -sigfile manifest.sig
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evidence.exceptions import SigningError

PRIVATE_KEY_MODE = 0o600


@dataclass(frozen=True)
class KeyPair:
    """Paths of a key pair written by :func:`generate_keypair`, and the key's fingerprint."""

    private_path: Path
    public_path: Path
    fingerprint: str


def fingerprint(public_pem: bytes) -> str:
    """SHA-256 (hex) of the raw 32-byte public key: short, stable, tool-independent."""
    key = load_public_key(public_pem, source="public key")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def generate_keypair(private_path: Path, public_path: Path, *, force: bool = False) -> KeyPair:
    """Create a new Ed25519 key pair; the private key file gets mode 0600.

    Refuses to overwrite an existing key unless ``force`` is set, because losing the key
    that signed earlier evidence would make those bundles harder to defend.
    """
    for path in (private_path, public_path):
        if path.exists() and not force:
            raise SigningError(f"{path}: key file already exists (use --force to replace it)")
    if not private_path.parent.exists():  # a folder we create for the key is owner-only
        private_path.parent.mkdir(parents=True)
        private_path.parent.chmod(0o700)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_private(private_path, private_pem)
    tmp = public_path.with_name(f".{public_path.name}.tmp")
    tmp.write_bytes(public_pem)
    tmp.replace(public_path)
    return KeyPair(private_path, public_path, fingerprint(public_pem))


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_KEY_MODE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)
    path.chmod(PRIVATE_KEY_MODE)


def load_public_key(public_pem: bytes, *, source: str) -> Ed25519PublicKey:
    """Parse an Ed25519 public key PEM; ``source`` names where it came from in errors."""
    try:
        key = serialization.load_pem_public_key(public_pem)
    except ValueError as exc:
        raise SigningError(f"{source}: not a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{source}: not an Ed25519 public key")
    return key


@dataclass(frozen=True)
class Signer:
    """Signs bytes with the operator's Ed25519 private key."""

    key: Ed25519PrivateKey
    source: Path

    @classmethod
    def from_file(cls, private_path: Path) -> Signer:
        """Load the private key; refuses a key file readable by group or others."""
        try:
            data = private_path.read_bytes()
        except OSError as exc:
            raise SigningError(
                f"{private_path}: cannot read signing key ({exc.strerror}); "
                "create one with `rightswatch keys init`"
            ) from exc
        mode = private_path.stat().st_mode & 0o777
        if mode & 0o077:
            raise SigningError(
                f"{private_path}: signing key is accessible by others (mode {mode:o}); chmod 600 it"
            )
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise SigningError(f"{private_path}: not an unencrypted PEM private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningError(f"{private_path}: not an Ed25519 private key")
        return cls(key, private_path)

    @property
    def public_pem(self) -> bytes:
        """The matching public key as SubjectPublicKeyInfo PEM."""
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def fingerprint(self) -> str:
        """SHA-256 hex of the raw public key."""
        return fingerprint(self.public_pem)

    def sign(self, data: bytes) -> bytes:
        """The raw 64-byte Ed25519 signature of ``data``."""
        return self.key.sign(data)


def signature_valid(public_pem: bytes, data: bytes, signature: bytes, *, source: str) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``data`` under ``public_pem``."""
    key = load_public_key(public_pem, source=source)
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
