"""An optional learned image embedding: an ONNX image encoder the user supplies.

Global hashes and local features find *copies*; a character redrawn in a new pose is not a copy
(research/hashing.md §6). A learned embedding (CLIP, DINOv2, an ISC descriptor exported to ONNX,
see docs/matching.md) places images of the same character near each other. The project never
downloads weights: the user points watch.toml's ``embedding_model`` at a file.

* :class:`EmbeddingModel` loads the file with onnxruntime (an optional dependency: ``pip install
  rightswatch[embedding]``), reads the input size from the model (``[N, 3, H, W]``; 224 when
  dynamic), and embeds RGB frames in batches: resize the short side to H, centre crop,
  scale to [0, 1], normalise with the preset's mean and std (CLIP or ImageNet), NCHW float32;
  the first output, ``[N, D]`` (or ``[N, tokens, D]``: the first token), L2-normalised.
* :class:`EmbeddingMatcher` embeds every reference once and calibrates **per character**: the
  highest cosine similarity between the character's references and (a) every other character's
  references, (b) the innocent images (the caller's, plus a small procedural set: flat colours,
  gradients, noise, shapes). A candidate must beat that ceiling by :data:`MARGIN` before the
  signal counts; it is a review-strength signal (at most :data:`MAX_WEIGHT`), never a flag on its
  own, because a learned similarity is an opinion, not a measurement of copying.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from matching.exceptions import MatchingError
from matching.hashes import U8Array
from matching.references import ReferenceFingerprint
from matching.verdict import Reason, SignalKind

F32Array = npt.NDArray[np.float32]

DEFAULT_SIDE = 224
DEFAULT_BATCH = 16
MARGIN = 0.02
"""Cosine similarity a candidate must exceed a character's calibrated ceiling by."""
MIN_THRESHOLD = 0.5
"""A threshold never below this, however spread out the library is."""
MIN_WEIGHT = 0.55
MAX_WEIGHT = 0.8


class EmbeddingModelError(MatchingError):
    """The embedding model cannot be loaded or run (missing runtime, bad file, odd shapes)."""


class Normalisation(enum.Enum):
    """Per-channel mean and std the encoder was trained with."""

    CLIP = "clip"
    IMAGENET = "imagenet"

    @property
    def mean_std(self) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        if self is Normalisation.CLIP:
            return (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
        return (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class EmbeddingModel:
    """An ONNX image encoder run with onnxruntime on the CPU, one thread."""

    def __init__(
        self,
        path: Path,
        *,
        normalisation: Normalisation = Normalisation.IMAGENET,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        label = str(path)
        try:
            ort: Any = importlib.import_module("onnxruntime")
        except ImportError as exc:
            raise EmbeddingModelError(
                "onnxruntime is not installed (pip install 'rightswatch[embedding]')", label=label
            ) from exc
        if not path.is_file():
            raise EmbeddingModelError("no such model file", label=label)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise EmbeddingModelError(f"cannot load the ONNX model: {exc}", label=label) from exc
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise EmbeddingModelError("expected one image input shaped [N, 3, H, W]", label=label)
        shape = inputs[0].shape
        if shape[1] not in (3, "3") and isinstance(shape[1], int):
            raise EmbeddingModelError(f"input has {shape[1]} channels, expected 3", label=label)
        self.label = path.name
        self._input = inputs[0].name
        self.height = shape[2] if isinstance(shape[2], int) else DEFAULT_SIDE
        self.width = shape[3] if isinstance(shape[3], int) else DEFAULT_SIDE
        fixed_batch = shape[0] if isinstance(shape[0], int) else None
        self.batch_size = fixed_batch or max(1, batch_size)
        self.normalisation = normalisation

    def preprocess(self, rgb: U8Array) -> F32Array:
        """One 8-bit RGB frame → ``[3, H, W]`` float32 (short side resize, centre crop)."""
        h, w = rgb.shape[:2]
        scale = max(self.height / h, self.width / w)
        size = (max(self.width, round(w * scale)), max(self.height, round(h * scale)))
        resized = cv2.resize(
            rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        )
        top = (size[1] - self.height) // 2
        left = (size[0] - self.width) // 2
        crop = resized[top : top + self.height, left : left + self.width].astype(np.float32)
        mean, std = self.normalisation.mean_std
        scaled = (crop / 255.0 - np.array(mean, np.float32)) / np.array(std, np.float32)
        return np.ascontiguousarray(scaled.transpose(2, 0, 1), dtype=np.float32)

    def embed(self, frames: Sequence[U8Array]) -> F32Array:
        """``[len(frames), D]`` unit vectors, computed in batches of ``batch_size``."""
        out: list[F32Array] = []
        for start in range(0, len(frames), self.batch_size):
            batch = np.stack([self.preprocess(f) for f in frames[start : start + self.batch_size]])
            try:
                result = self._session.run(None, {self._input: batch})[0]
            except Exception as exc:
                raise EmbeddingModelError(f"the model failed: {exc}", label=self.label) from exc
            vectors = np.asarray(result, dtype=np.float32)
            if vectors.ndim == 3:
                vectors = vectors[:, 0, :]
            if vectors.ndim != 2 or vectors.shape[0] != batch.shape[0]:
                raise EmbeddingModelError(
                    f"output shaped {list(np.shape(result))}, expected [N, D]", label=self.label
                )
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            out.append(vectors / np.maximum(norms, 1e-12))
        if not out:
            return np.zeros((0, 0), np.float32)
        return np.concatenate(out).astype(np.float32)


def innocent_frames(count: int = 24, side: int = 128, seed: int = 7) -> list[U8Array]:
    """A small procedural set of images that show no character: flat colours, gradients,
    noise and random shapes (a floor for calibration when the caller supplies none)."""
    rng = np.random.default_rng(seed)
    frames: list[U8Array] = []
    for k in range(count):
        kind = k % 4
        if kind == 0:
            frame = np.full((side, side, 3), [int(rng.integers(256)) for _ in range(3)], np.uint8)
        elif kind == 1:
            ramp = np.linspace(0, 1, side, dtype=np.float32)[None, :, None]
            a = np.array([int(rng.integers(256)) for _ in range(3)], np.float32)
            b = np.array([int(rng.integers(256)) for _ in range(3)], np.float32)
            frame = np.broadcast_to(a + (b - a) * ramp, (side, side, 3)).astype(np.uint8)
        elif kind == 2:
            frame = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        else:
            frame = np.full((side, side, 3), 235, np.uint8)
            for _ in range(6):
                colour = tuple(int(rng.integers(256)) for _ in range(3))
                centre = (int(rng.integers(side)), int(rng.integers(side)))
                cv2.circle(frame, centre, int(rng.integers(5, side // 3)), colour, -1)
        frames.append(np.ascontiguousarray(frame))
    return frames


@dataclass(frozen=True)
class CharacterCalibration:
    """A character's threshold and what set it."""

    character: str
    threshold: float
    ceiling: float
    """Highest similarity of its references to anything that is not it."""
    ceiling_source: str


class EmbeddingMatcher:
    """Reference embeddings, per-character thresholds, and reasons for candidate frames."""

    def __init__(
        self,
        model: EmbeddingModel,
        references: Sequence[ReferenceFingerprint],
        *,
        innocents: Sequence[U8Array] = (),
    ) -> None:
        self.model = model
        self.references = list(references)
        self._vectors = model.embed([r.thumbnail for r in self.references])
        innocent = [*innocents, *innocent_frames()]
        self._innocent = model.embed(innocent)
        self.calibration: dict[str, CharacterCalibration] = {}
        owners = np.array([r.character for r in self.references])
        for character in dict.fromkeys(r.character for r in self.references):
            own = self._vectors[owners == character]
            others = self._vectors[owners != character]
            ceiling, source = -1.0, "nothing"
            if len(others):
                sims = own @ others.T
                ceiling, source = float(sims.max()), "another character's reference"
            if len(self._innocent):
                top = float((own @ self._innocent.T).max())
                if top > ceiling:
                    ceiling, source = top, "an innocent image"
            threshold = min(0.99, max(MIN_THRESHOLD, ceiling + MARGIN))
            self.calibration[character] = CharacterCalibration(
                character, threshold, ceiling, source
            )

    def reasons(
        self, frames: Sequence[U8Array], prefixes: Sequence[str]
    ) -> dict[str, list[Reason]]:
        """Reasons per character for candidate frames (embedded in one batch)."""
        found: dict[str, list[Reason]] = {}
        if not frames or not self.references:
            return found
        sims = self.model.embed(frames) @ self._vectors.T
        for row, prefix in zip(sims, prefixes, strict=True):
            best: dict[str, tuple[float, int]] = {}
            for j, sim in enumerate(row.tolist()):
                character = self.references[j].character
                if character not in best or sim > best[character][0]:
                    best[character] = (sim, j)
            for character, (sim, j) in best.items():
                cal = self.calibration[character]
                if sim < cal.threshold:
                    continue
                span = max(1e-6, 1.0 - cal.threshold)
                weight = MIN_WEIGHT + (MAX_WEIGHT - MIN_WEIGHT) * min(
                    1.0, (sim - cal.threshold) / span
                )
                ref = self.references[j]
                sentence = (
                    f"{prefix}learned embedding ({self.model.label}): cosine similarity "
                    f"{sim:.3f} to {ref.name}, above {character}'s calibrated threshold "
                    f"{cal.threshold:.3f} (the closest {cal.ceiling_source} scores "
                    f"{cal.ceiling:.3f})"
                )
                found.setdefault(character, []).append(
                    Reason(SignalKind.EMBEDDING, sim, sentence, ref.name, weight)
                )
        return found
