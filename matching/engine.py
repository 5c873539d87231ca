"""The engine: built once from characters and reference fingerprints, judges candidates.

``Engine.judge`` gathers, per character, image reasons (:mod:`matching.similarity`), alias
reasons from every text field (:mod:`matching.text`), LoRA metadata reasons
(:mod:`matching.lora`), generation-provenance reasons (:mod:`matching.generation`: the LoRAs an
image names, linked to the flagged LoRAs the caller knows) and fuses them
(:mod:`matching.verdict`). Image signals are attributed to
the character of the reference they resemble, alias signals to the character whose alias matched,
so a positive never lands on another character.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from matching.decode import DecodedImage, decode_image
from matching.embedding import EmbeddingMatcher, EmbeddingModel
from matching.exceptions import ProfileError
from matching.generation import KnownLora, LoraLinker
from matching.hashes import U8Array
from matching.index import Backend
from matching.lora import caption_evidence, lora_text_fields
from matching.provenance import NO_PROVENANCE, Provenance
from matching.references import CharacterProfile, ReferenceFingerprint
from matching.similarity import ImageMatcher
from matching.text import AliasHit, AliasMatcher, MatchVariant, TextField, creator_key
from matching.thresholds import Thresholds
from matching.verdict import Decision, Reason, SignalKind, Subject, Verdict, fuse

STRONG_FIELD_WEIGHT = 0.62
WEAK_FIELD_WEIGHT = 0.45
MISSPELLING_FACTOR = 0.8


@dataclass(frozen=True)
class CandidateEvidence:
    """What is known about one upload: its image(s), its words, its LoRA metadata."""

    label: str = "candidate"
    subject: Subject = Subject.IMAGE
    """A picture, or a model whose pictures are its showcase (see :class:`Subject`)."""
    images: tuple[bytes, ...] = ()
    image_names: tuple[str, ...] = ()
    """Names for ``images`` (same order) used in errors and reasons; defaults to ``label``."""
    decoded: tuple[DecodedImage, ...] = ()
    """Images the caller already decoded with :func:`matching.decode_image` (judged after
    ``images``; never decoded again)."""
    generation: Provenance = NO_PROVENANCE
    """Generation metadata the platform reported (e.g. Civitai image ``meta``); what the image
    files themselves carry is read when they are decoded."""
    title: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    trigger_words: tuple[str, ...] = ()
    prompt: str = ""
    file_names: tuple[str, ...] = ()
    creator: str = ""
    lora_metadata: Mapping[str, str] | None = None
    """The safetensors ``__metadata__`` dict (see :func:`matching.read_safetensors_header`)."""
    trained_words: tuple[str, ...] = ()
    """Civitai ``trainedWords``."""
    instance_prompt: str = ""
    """Hugging Face DreamBooth ``instance_prompt``."""

    def text_fields(self) -> list[tuple[TextField, str]]:
        """Every (field, text) pair to search for aliases."""
        pairs: list[tuple[TextField, str]] = [
            (TextField.TITLE, self.title),
            (TextField.DESCRIPTION, self.description),
            (TextField.PROMPT, self.prompt),
            (TextField.INSTANCE_PROMPT, self.instance_prompt),
        ]
        pairs += [(TextField.TAG, t) for t in self.tags]
        pairs += [(TextField.TRIGGER_WORD, t) for t in self.trigger_words]
        pairs += [(TextField.FILE_NAME, t) for t in self.file_names]
        pairs += [(TextField.TRAINED_WORD, t) for t in self.trained_words]
        if self.lora_metadata:
            pairs += lora_text_fields(self.lora_metadata)
        return [(f, t) for f, t in pairs if t and t.strip()]


class Engine:
    """Likeness engine over a fixed set of characters and reference fingerprints."""

    def __init__(
        self,
        characters: Iterable[CharacterProfile],
        references: Iterable[ReferenceFingerprint],
        thresholds: Thresholds | None = None,
        *,
        backend: Backend = Backend.FAISS,
        known_loras: Iterable[KnownLora] = (),
        embedding: EmbeddingModel | None = None,
        innocents: Sequence[U8Array] = (),
    ) -> None:
        """``known_loras``: LoRAs the caller has flagged, to link generated images to.
        ``embedding``: an optional learned image encoder, calibrated here per character against
        the other characters' references and ``innocents`` (frames that show no character)."""
        self.characters = {c.name: c for c in characters}
        self.references = tuple(references)
        self.thresholds = thresholds or Thresholds()
        for ref in self.references:
            if ref.character not in self.characters:
                raise ProfileError(
                    f"reference belongs to unknown character {ref.character!r}", label=ref.name
                )
        self._images = ImageMatcher(self.references, self.thresholds, backend=backend)
        self._aliases = AliasMatcher(
            {c.name: c.aliases for c in self.characters.values()},
            fuzzy_min_length=self.thresholds.fuzzy_min_length,
        )
        self._embedding = (
            EmbeddingMatcher(embedding, self.references, innocents=innocents)
            if embedding is not None and self.references
            else None
        )
        self._loras = LoraLinker(
            [k for k in known_loras if k.character in self.characters], self._aliases
        )
        self._allowlist = {
            name: {creator_key(c) for c in profile.allowlisted_creators}
            for name, profile in self.characters.items()
        }

    def judge(self, candidate: CandidateEvidence) -> list[Verdict]:
        """One verdict per character with any signal, best first.

        Raises :class:`~matching.exceptions.ImageDecodeError` (naming the image) if an image
        cannot be decoded.
        """
        reasons: dict[str, list[Reason]] = {}
        names = candidate.image_names
        several = len(candidate.images) + len(candidate.decoded) > 1
        images = [
            decode_image(
                data,
                label=names[i] if i < len(names) else candidate.label,
                max_pixels=self.thresholds.max_pixels,
            )
            for i, data in enumerate(candidate.images)
        ]
        generation = candidate.generation
        frames = (*images, *candidate.decoded)
        prefixes = [f"image '{d.label}': " if several else "" for d in frames]
        for decoded, prefix in zip(frames, prefixes, strict=True):
            for character, found in self._images.reasons(decoded, prefix=prefix).items():
                reasons.setdefault(character, []).extend(found)
            generation = generation.merged(decoded.provenance)
        if self._embedding is not None and frames:
            embedded = self._embedding.reasons([d.rgb for d in frames], prefixes)
            for character, found in embedded.items():
                reasons.setdefault(character, []).extend(found)
        for character, found in self._loras.reasons(generation).items():
            reasons.setdefault(character, []).extend(found)
        for character, found in self.text_reasons(candidate, generation).items():
            reasons.setdefault(character, []).extend(found)
        for character, found in reasons.items():
            if frames and not any(_pixel(r) for r in found):
                found.extend(self._figure(frames, prefixes, character))
        creator = creator_key(candidate.creator) if candidate.creator else ""
        verdicts = [
            self._scoped(
                fuse(
                    character,
                    found,
                    self.thresholds,
                    allowlisted_creator=candidate.creator
                    if creator and creator in self._allowlist.get(character, set())
                    else None,
                ),
                candidate.subject,
                examined=bool(frames) and self._images.has_references(character),
            )
            for character, found in reasons.items()
        ]
        return sorted(verdicts, key=lambda v: (-v.score, v.character or ""))

    def _figure(
        self, frames: Sequence[DecodedImage], prefixes: Sequence[str], character: str
    ) -> list[Reason]:
        """The closer look at the pictures for a character only words or provenance name."""
        for decoded, prefix in zip(frames, prefixes, strict=True):
            found = self._images.figure_reasons(decoded, character, prefix=prefix)
            if found:
                return found
        return []

    def _scoped(self, verdict: Verdict, subject: Subject, *, examined: bool) -> Verdict:
        """What the evidence can decide for this kind of candidate.

        * A model whose only evidence is its showcase pictures is not reported as resembling:
          a style LoRA's cover may show anyone, and the pictures are judged as pictures.
        * A picture whose only evidence is the LoRA it names, its pixels examined against the
          character's references and no likeness found, asks for review (or is not reported,
          ``Thresholds.provenance_alone``): "resembles" needs a measured likeness.
        """
        if verdict.decision is Decision.IGNORE or verdict.character is None:
            return verdict
        kinds = {r.kind for r in verdict.reasons}
        if subject is Subject.MODEL:
            if kinds & {SignalKind.ALIAS, SignalKind.LORA_CAPTIONS}:
                return verdict
            return _capped(
                verdict,
                Decision.IGNORE,
                f"only the model's showcase pictures point to {verdict.character}; nothing the "
                "model says about itself (title, tags, trigger words, files, training captions) "
                "names it, so the model is not reported (its pictures are judged as pictures)",
            )
        ignore = self.thresholds.provenance_alone == "ignore"
        if (
            examined
            and (verdict.decision is Decision.FLAG or ignore)
            and SignalKind.GENERATION in kinds
            and not any(_pixel(r) for r in verdict.reasons)
        ):
            return _capped(
                verdict,
                Decision.IGNORE if ignore else Decision.REVIEW,
                f"no likeness to {verdict.character}'s references was measured in the pixels: "
                + (
                    "the LoRA it names alone does not report it"
                    if ignore
                    else "the LoRA it names asks a person to look"
                ),
            )
        return verdict

    def text_reasons(
        self, candidate: CandidateEvidence, generation: Provenance = NO_PROVENANCE
    ) -> dict[str, list[Reason]]:
        """Alias and LoRA-caption reasons per character."""
        found: dict[str, list[Reason]] = {}
        fields = candidate.text_fields()
        if generation.prompt and generation.prompt.strip() != candidate.prompt.strip():
            fields.append((TextField.GENERATION_PROMPT, generation.prompt))
        for text_field, text in fields:
            for hit in self._aliases.find(text, text_field):
                # One field counts once however many of its values name the character.
                found.setdefault(hit.character, []).append(_alias_reason(hit, text_field.value))
        if candidate.lora_metadata:
            th = self.thresholds
            for evidence in caption_evidence(candidate.lora_metadata, self._aliases):
                if evidence.captions < th.lora_caption_min:
                    continue
                ratio = min(1.0, evidence.ratio) if evidence.ratio is not None else None
                if ratio is not None and ratio >= th.lora_caption_ratio:
                    weight = 0.9 + 0.1 * ratio
                else:
                    weight = 0.6
                found.setdefault(evidence.character, []).append(
                    Reason(
                        SignalKind.LORA_CAPTIONS,
                        ratio if ratio is not None else float(evidence.captions),
                        evidence.sentence,
                        None,
                        weight,
                    )
                )
        return found


def _pixel(reason: Reason) -> bool:
    """A likeness measured in the pixels (a copy, a redrawn figure, the learned embedding)."""
    return reason.kind.is_image or reason.kind is SignalKind.EMBEDDING


def _capped(verdict: Verdict, decision: Decision, why: str) -> Verdict:
    if verdict.decision is Decision.FLAG or decision is Decision.IGNORE:
        verdict = replace(verdict, decision=decision)
    return replace(verdict, reasons=(*verdict.reasons, Reason(SignalKind.SCOPE, 0.0, why)))


def _alias_reason(hit: AliasHit, group: str) -> Reason:
    weight = STRONG_FIELD_WEIGHT if hit.field.strong else WEAK_FIELD_WEIGHT
    distance = 0.0
    if hit.variant is MatchVariant.MISSPELLING:
        weight *= MISSPELLING_FACTOR
        distance = 1.0
    return Reason(SignalKind.ALIAS, distance, hit.sentence, None, weight, group)
