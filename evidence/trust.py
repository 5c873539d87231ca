"""What the verifier trusts from outside the bundle, and the time tolerance it applies.

A bundle carries its own public key and its TSAs' CA certificates, so on their own they only
show that the bundle is *self-consistent*: anyone can make a consistent bundle with their own
key and their own look-alike TSA. A result is *anchored* only when the verifier brings:

- the operator's key fingerprint, published outside the bundle (in the notice sent to the
  platform, the report, the case file's key record) — ``--key-fingerprint``;
- the TSAs' root certificates from the verifier's own trust store (``[evidence] tsa_ca_files``
  or ``--tsa-ca``), never the copies inside the bundle.

Times: a capture's recorded start and end, and each custody anchor's entry, must lie within
``tolerance_s`` of the TSA's time (plus the TSA's stated accuracy). Ten minutes by default: the
window WACZ signing allows between ``created`` and the TSA time (research/evidence.md §2.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from evidence.exceptions import VerificationError

DEFAULT_TOLERANCE_S = 600.0


@dataclass(frozen=True)
class TrustAnchors:
    """The verifier's own anchors; empty fields mean "not given" (self-consistent only)."""

    key_fingerprint: str | None = None
    tsa_ca_pems: tuple[bytes, ...] = ()
    tolerance_s: float = DEFAULT_TOLERANCE_S

    @property
    def anchored(self) -> bool:
        """True when both the key and the TSA roots come from outside the bundle."""
        return bool(self.key_fingerprint) and bool(self.tsa_ca_pems)

    @classmethod
    def load(
        cls,
        *,
        key_fingerprint: str | None = None,
        tsa_ca_files: Sequence[Path] = (),
        tolerance_s: float = DEFAULT_TOLERANCE_S,
    ) -> TrustAnchors:
        """Read the CA files (errors name the file) and normalise the fingerprint."""
        pems = []
        for path in tsa_ca_files:
            try:
                pems.append(path.read_bytes())
            except OSError as exc:
                raise VerificationError(
                    f"{path}: cannot read trusted TSA CA ({exc.strerror})"
                ) from exc
        return cls(normalise_fingerprint(key_fingerprint), tuple(pems), tolerance_s)


def normalise_fingerprint(value: str | None) -> str | None:
    """Lower-case hex without separators (``AB:CD …`` and ``abcd…`` compare equal)."""
    if value is None:
        return None
    bare = value.replace(":", "").replace(" ", "").strip().lower()
    if len(bare) != 64 or any(c not in "0123456789abcdef" for c in bare):
        raise VerificationError(
            f"key fingerprint {value!r}: expected 64 hex digits (SHA-256 of the raw Ed25519 key)"
        )
    return bare


def within(moment: datetime, tsa_time: datetime, accuracy_s: float, tolerance_s: float) -> bool:
    """True when ``moment`` lies within tolerance + accuracy of ``tsa_time``, either side."""
    return abs(tsa_time - moment) <= timedelta(seconds=tolerance_s + accuracy_s)


def describe_gap(moment: datetime, tsa_time: datetime) -> str:
    """'3 days 2:00:00 before' / '12.0 s after' the TSA time, for check details."""
    gap = tsa_time - moment
    side = "before" if gap >= timedelta(0) else "after"
    gap = abs(gap)
    text = f"{gap.total_seconds():.1f} s" if gap < timedelta(minutes=2) else str(gap)
    return f"{text} {side}"
