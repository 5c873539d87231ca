"""matching: the likeness engine (a pure library: no database, no network).

Callers fingerprint reference images once (:func:`fingerprint_reference`, stored as JSON),
build an :class:`Engine` from character profiles and fingerprints, and ask it to
:meth:`~Engine.judge` candidates (images, words, LoRA metadata). Errors derive from
:class:`MatchingError` (see :mod:`matching.exceptions`).
"""

from __future__ import annotations

from matching.decode import (
    DEFAULT_MAX_DECODE_BYTES,
    DEFAULT_MAX_PIXELS,
    DecodedImage,
    decode_image,
)
from matching.embedding import EmbeddingMatcher, EmbeddingModel, EmbeddingModelError, Normalisation
from matching.engine import CandidateEvidence, Engine
from matching.exceptions import (
    DecompressionBombError,
    FingerprintFormatError,
    ImageDecodeError,
    MatchingError,
    NotAnImageError,
    ProfileError,
    SafetensorsHeaderError,
)
from matching.generation import KnownLora
from matching.hashes import GlobalHashes, HashKind, Orientation, PerceptualHash, hash_image
from matching.index import Backend, BinaryIndex
from matching.lora import (
    DEFAULT_MAX_HEADER,
    SafetensorsHeader,
    header_length,
    parse_safetensors_header,
    read_safetensors_header,
)
from matching.provenance import (
    NO_PROVENANCE,
    LoraUse,
    Provenance,
    ProvenanceSource,
    parse_a1111,
    parse_civitai_meta,
    parse_comfyui,
)
from matching.references import (
    FINGERPRINT_VERSION,
    CharacterProfile,
    ReferenceFingerprint,
    fingerprint_reference,
)
from matching.text import AliasMatcher, TextField, fold
from matching.thresholds import Thresholds
from matching.verdict import NO_MATCH, Decision, Reason, SignalKind, Subject, Verdict

__all__ = [
    "DEFAULT_MAX_DECODE_BYTES",
    "DEFAULT_MAX_HEADER",
    "DEFAULT_MAX_PIXELS",
    "FINGERPRINT_VERSION",
    "NO_MATCH",
    "NO_PROVENANCE",
    "AliasMatcher",
    "Backend",
    "BinaryIndex",
    "CandidateEvidence",
    "CharacterProfile",
    "Decision",
    "DecodedImage",
    "DecompressionBombError",
    "EmbeddingMatcher",
    "EmbeddingModel",
    "EmbeddingModelError",
    "Engine",
    "FingerprintFormatError",
    "GlobalHashes",
    "HashKind",
    "ImageDecodeError",
    "KnownLora",
    "LoraUse",
    "MatchingError",
    "Normalisation",
    "NotAnImageError",
    "Orientation",
    "PerceptualHash",
    "ProfileError",
    "Provenance",
    "ProvenanceSource",
    "Reason",
    "ReferenceFingerprint",
    "SafetensorsHeader",
    "SafetensorsHeaderError",
    "SignalKind",
    "Subject",
    "TextField",
    "Thresholds",
    "Verdict",
    "decode_image",
    "fingerprint_reference",
    "fold",
    "hash_image",
    "header_length",
    "parse_a1111",
    "parse_civitai_meta",
    "parse_comfyui",
    "parse_safetensors_header",
    "read_safetensors_header",
]
