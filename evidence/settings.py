"""Evidence settings as plain values (the CLI builds them from watch.toml's [evidence]).

The evidence package does not read the config itself (layering: rightswatch → evidence).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evidence.capture.chromium import CHROMIUM_PATH
from evidence.capture.guarded import CaptureGuard
from evidence.capture.sites import CaptureSite
from evidence.exceptions import TimestampError
from evidence.seal import SealConfig
from evidence.signing import Signer
from evidence.timestamp import DEFAULT_TIMEOUT, TsaSpec, timestamper_for
from evidence.trust import DEFAULT_TOLERANCE_S

SYSTEM_ROOTS = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class EvidenceSettings:
    """Where evidence lives, who signs, which TSAs stamp, who operates."""

    folder: Path
    signing_key: Path
    tsa_urls: tuple[str, ...]
    tsa_ca_files: tuple[Path, ...] = ()
    operator: str = "operator"
    timezone: str = "UTC"
    min_timestamps: int = 1
    tsa_timeout: float = DEFAULT_TIMEOUT
    chromium_path: str = CHROMIUM_PATH
    # how far a capture's recorded times may lie from its TSA time (see evidence/trust.py)
    time_tolerance_s: float = DEFAULT_TOLERANCE_S
    # a model's own file is captured (sealed beside its page) when no larger than this
    model_file_max_bytes: int = 64 * 1024 * 1024
    # what captures may fetch: configured platforms (may be local) and any public address
    capture_guard: CaptureGuard = field(default_factory=CaptureGuard)
    # the configured platforms' login sessions and robots.txt policies, for their pages
    capture_sites: tuple[CaptureSite, ...] = ()
    extra_ca: dict[str, bytes] = field(default_factory=dict, compare=False, hash=False)

    @property
    def captures_dir(self) -> Path:
        return self.folder / "captures"

    @property
    def notices_dir(self) -> Path:
        return self.folder / "notices"

    def tsa_specs(self) -> list[TsaSpec]:
        """One spec per TSA URL, with its pinned CA (or the system roots when none is set)."""
        if self.tsa_ca_files and len(self.tsa_ca_files) != len(self.tsa_urls):
            raise TimestampError(
                f"[evidence] tsa_ca_files has {len(self.tsa_ca_files)} entries for "
                f"{len(self.tsa_urls)} tsa_urls; give one CA file per TSA, in order"
            )
        specs = []
        for index, url in enumerate(self.tsa_urls):
            if url in self.extra_ca:
                ca = self.extra_ca[url]
            else:
                path = self.tsa_ca_files[index] if self.tsa_ca_files else SYSTEM_ROOTS
                try:
                    ca = path.read_bytes()
                except OSError as exc:
                    raise TimestampError(
                        f"{url}: cannot read TSA CA file {path} ({exc.strerror})"
                    ) from exc
            specs.append(TsaSpec(url, ca, self.tsa_timeout))
        return specs

    def trusted_ca_pems(self) -> tuple[bytes, ...]:
        """The configured TSA roots (``tsa_ca_files``), as a verifier's trust store."""
        pems = [self.extra_ca[url] for url in self.tsa_urls if url in self.extra_ca]
        for path in self.tsa_ca_files:
            try:
                pems.append(path.read_bytes())
            except OSError as exc:
                raise TimestampError(f"cannot read TSA CA file {path} ({exc.strerror})") from exc
        return tuple(pems)

    def sealing(self) -> SealConfig:
        """Signer and TSA clients; raises if the key or a CA file is missing."""
        signer = Signer.from_file(self.signing_key)
        stampers = tuple(timestamper_for(spec) for spec in self.tsa_specs())
        return SealConfig(signer, stampers, self.min_timestamps)
