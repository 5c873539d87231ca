"""Verdicts: the fused score, the decision and the reasons a lawyer can read.

Each signal becomes a :class:`Reason` with a weight in [0, 1]. Per character:

* image weight = the strongest image reason (several views of one match do not add up);
* text weight = noisy-OR of the strongest alias reason per field (independent places naming the
  character do add up);
* LoRA caption weight = the caption-frequency reason;
* generation weight = the strongest generation-provenance reason (a LoRA the image names is a
  flagged one, or is named after the character);
* embedding weight = the learned-embedding reason, when a model is configured;
* score = noisy-OR of them: ``1 - (1 - image)(1 - text)(1 - captions)(1 - generation)…``.

The decision follows :class:`~matching.thresholds.Thresholds` ``flag``/``review`` bands; an
allowlisted creator turns any decision into IGNORE with a reason saying so. Wording says
"resembles" or "matches alias", never "infringes": the verdict is a triage, not a finding.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# The one Decision enum: what the engine proposes is what the case file stores. evidence.kinds
# imports nothing but enum, so the likeness engine stays a pure library.
from evidence.kinds import Decision as Decision
from matching.thresholds import Thresholds


class SignalKind(enum.Enum):
    """The family of evidence behind a reason."""

    PDQ = "pdq"
    PHASH = "phash"
    LOCAL_FEATURES = "local_features"
    ALIAS = "alias"
    LORA_CAPTIONS = "lora_captions"
    GENERATION = "generation"
    EMBEDDING = "embedding"
    ALLOWLIST = "allowlist"
    SCOPE = "scope"
    """Not evidence: why the evidence present does not reach a decision (weight 0)."""

    @property
    def is_image(self) -> bool:
        return self in (SignalKind.PDQ, SignalKind.PHASH, SignalKind.LOCAL_FEATURES)


class Subject(enum.Enum):
    """What a candidate is, which decides what its pictures can show."""

    IMAGE = "image"
    """A picture: its pixels are the thing judged."""
    MODEL = "model"
    """A model (a LoRA, an embedding): its pictures are showcase images; what the model is comes
    from its own words and files."""


@dataclass(frozen=True)
class Reason:
    """One measured signal: its kind, measured value, a sentence, and the reference it concerns."""

    kind: SignalKind
    value: float
    sentence: str
    reference: str | None = None
    weight: float = 0.0
    group: str = ""
    """Reasons of one group (a text field) count once, by their strongest member."""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "value": self.value,
            "sentence": self.sentence,
            "reference": self.reference,
            "weight": round(self.weight, 4),
        }


@dataclass(frozen=True)
class Verdict:
    """The engine's answer for one character (``character`` None when nothing matched)."""

    character: str | None
    decision: Decision
    score: float
    reference: str | None
    reasons: tuple[Reason, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "character": self.character,
            "decision": self.decision.value,
            "score": round(self.score, 4),
            "reference": self.reference,
            "reasons": [r.to_json() for r in self.reasons],
        }


NO_MATCH = Verdict(None, Decision.IGNORE, 0.0, None, ())
"""What a caller reports for a candidate with no signal for any character."""


def decide(score: float, thresholds: Thresholds) -> Decision:
    if score >= thresholds.flag:
        return Decision.FLAG
    if score >= thresholds.review:
        return Decision.REVIEW
    return Decision.IGNORE


def fuse(
    character: str,
    reasons: Iterable[Reason],
    thresholds: Thresholds,
    *,
    allowlisted_creator: str | None = None,
) -> Verdict:
    """Combine one character's reasons into a :class:`Verdict` (see module docstring)."""
    ordered = sorted(reasons, key=lambda r: -r.weight)
    image = [r for r in ordered if r.kind.is_image]
    captions = [r for r in ordered if r.kind is SignalKind.LORA_CAPTIONS]
    generation = [r for r in ordered if r.kind is SignalKind.GENERATION]
    embedding = [r for r in ordered if r.kind is SignalKind.EMBEDDING]
    best_per_group: dict[str, float] = {}
    for r in ordered:
        if r.kind is SignalKind.ALIAS:
            best_per_group.setdefault(r.group, r.weight)
    remaining = 1.0
    for strongest in (image, captions, generation, embedding):
        remaining *= 1.0 - (strongest[0].weight if strongest else 0.0)
    for weight in best_per_group.values():
        remaining *= 1.0 - weight
    score = min(1.0, max(0.0, 1.0 - remaining))
    reference = image[0].reference if image else (embedding[0].reference if embedding else None)
    decision = decide(score, thresholds)
    if allowlisted_creator is not None:
        ordered.append(
            Reason(
                SignalKind.ALLOWLIST,
                1.0,
                f"creator '{allowlisted_creator}' is on the allowlist for {character}; "
                "not reported",
            )
        )
        decision = Decision.IGNORE
    return Verdict(character, decision, score, reference, tuple(ordered))
