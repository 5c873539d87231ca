"""Custody anchors: the head of a finding's custody chain, timestamped by the TSAs.

Custody entries carry the operator's own clock, so on their own an operator could delete an
entry, recompute the chain and re-seal. An *anchor* closes that gap: at the end of each run
and at every export the hash of the chain's last entry (``head``, as 64 ASCII hex digits) is
sent to every configured TSA, and an ``anchored`` entry records the tokens (base64 DER) in the
chain itself. Its ``prev`` is the head the tokens cover. Rewriting anything before an anchor
changes the head, so the anchor's tokens no longer verify; new tokens carry the time they were
obtained, which then lies far from the ``anchored`` entry's own time (see evidence/verify.py).

A standard-tools check of one anchor (VERIFY.md shows it)::

    printf %s <head> > head.txt
    base64 -d <<< '<tsr>' > anchor.tsr
    openssl ts -verify -in anchor.tsr -data head.txt -CAfile <TSA root> -untrusted <certs>
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evidence import ledger
from evidence.custody import CustodyAction, CustodyEntry
from evidence.exceptions import TimestampError
from evidence.store import Store
from evidence.timestamp import Timestamper, TimestampToken

ATTEMPTS = 3  # a head that moved while the TSAs answered is anchored again


@dataclass(frozen=True)
class AnchorResult:
    """One finding's anchor (``entry`` None when its chain was empty or already anchored)."""

    finding_id: int
    entry: CustodyEntry | None


def head_data(head_hash: str) -> bytes:
    """The bytes a custody anchor timestamps: the head hash as ASCII hex."""
    return head_hash.encode("ascii")


def token_record(token: TimestampToken) -> dict[str, Any]:
    """How one anchor token is kept in the custody entry (and in custody.jsonl)."""
    return {
        "tsa": token.tsa_url,
        "gen_time": token.gen_time.isoformat(),
        "serial": str(token.serial_number),
        "serial_hex": f"{token.serial_number:x}",
        "accuracy_s": token.accuracy_s,
        "tsr": base64.b64encode(token.response).decode("ascii"),
    }


def _stamp(head: CustodyEntry, stampers: Sequence[Timestamper]) -> list[dict[str, Any]]:
    tokens, failures = [], []
    for stamper in stampers:
        try:
            tokens.append(token_record(stamper.stamp(head_data(head.hash))))
        except TimestampError as exc:
            failures.append(str(exc))
    if not tokens:
        raise TimestampError(
            f"{head.subject}: custody head not anchored ({'; '.join(failures) or 'no TSA'})"
        )
    return tokens


def anchor_finding(
    store: Store,
    finding_id: int,
    stampers: Sequence[Timestamper],
    *,
    actor: str,
    purpose: str,
    always: bool = False,
    details: dict[str, Any] | None = None,
) -> AnchorResult:
    """Timestamp the head of one finding's chain and record an ``anchored`` entry.

    Skips an empty chain, and (unless ``always``) one whose last entry is already an anchor.
    Raises :class:`TimestampError` when no TSA gives a verified token.
    """
    for _ in range(ATTEMPTS):
        with store.session() as session:
            entries = ledger.chain(session, finding_id=finding_id)
        if not entries:
            return AnchorResult(finding_id, None)
        head = entries[-1]
        if head.action is CustodyAction.ANCHORED and not always:
            return AnchorResult(finding_id, None)
        tokens = _stamp(head, stampers)
        with store.session() as session:
            now = ledger.chain(session, finding_id=finding_id)
            if now[-1].hash != head.hash:
                continue  # another event arrived meanwhile: anchor the new head
            entry = ledger.record(
                session,
                CustodyAction.ANCHORED,
                actor=actor,
                finding_id=finding_id,
                details={
                    **(details or {}),
                    "purpose": purpose,
                    "head": head.hash,
                    "head_seq": head.seq,
                    "tokens": tokens,
                },
            )
            return AnchorResult(finding_id, entry)
    raise TimestampError(f"finding:{finding_id}: custody kept changing; anchor not recorded")
