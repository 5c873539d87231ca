"""The optional learned embedding: a tiny ONNX encoder built here (no weights downloaded).

The test model averages 8x8 blocks of a 32x32 input and flattens them: a 48-dimensional
"embedding" of the coarse colour layout. It is enough to check loading, preprocessing, batching,
per-character calibration, the reason sentence, and that the engine is unchanged without it.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from matching import (
    CandidateEvidence,
    CharacterProfile,
    EmbeddingModel,
    EmbeddingModelError,
    Engine,
    Normalisation,
    SignalKind,
    fingerprint_reference,
)
from matching.embedding import EmbeddingMatcher, innocent_frames
from tests.support.likeness import TRANSFORMS, draw_character, draw_lookalike, encode


def _model(path: Path, *, batch: int | str = "N", side: int = 32) -> Path:
    pixels = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [batch, 3, side, side])
    out = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, 48])
    pool = helper.make_node(
        "AveragePool", ["pixels"], ["pooled"], kernel_shape=[side // 4] * 2, strides=[side // 4] * 2
    )
    flat = helper.make_node("Flatten", ["pooled"], ["embedding"], axis=1)
    graph = helper.make_graph([pool, flat], "blocks", [pixels], [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _model(tmp_path_factory.mktemp("onnx") / "blocks.onnx")


def _refs(count: int) -> list:
    return [
        fingerprint_reference(encode(draw_character(i)), name=f"c{i}.png", character=f"C{i}")
        for i in range(count)
    ]


def test_loading_reads_the_input_size_and_refuses_bad_files(
    model_path: Path, tmp_path: Path
) -> None:
    model = EmbeddingModel(model_path)
    assert (model.height, model.width, model.batch_size) == (32, 32, 16)
    with pytest.raises(EmbeddingModelError, match="no such model file"):
        EmbeddingModel(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf at all")
    with pytest.raises(EmbeddingModelError, match=r"junk.onnx: cannot load the ONNX model"):
        EmbeddingModel(junk)


def test_preprocessing_resizes_crops_and_normalises(model_path: Path) -> None:
    model = EmbeddingModel(model_path, normalisation=Normalisation.CLIP)
    frame = np.zeros((40, 80, 3), np.uint8)
    frame[:, 20:60] = (255, 0, 0)  # the centre square is red, the sides black
    tensor = model.preprocess(frame)
    assert tensor.shape == (3, 32, 32) and tensor.dtype == np.float32
    mean, std = Normalisation.CLIP.mean_std
    # short side 40 -> 32, long side 80 -> 64, centre crop keeps the red square
    assert tensor[0, 16, 16] == pytest.approx((1.0 - mean[0]) / std[0], abs=1e-5)
    assert tensor[1, 16, 16] == pytest.approx((0.0 - mean[1]) / std[1], abs=1e-5)
    vector = model.embed([frame])[0]
    assert vector.shape == (48,) and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_batching_gives_the_same_vectors_as_one_at_a_time(model_path: Path, tmp_path: Path) -> None:
    frames = [np.asarray(draw_character(i, 64)) for i in range(5)]
    batched = EmbeddingModel(model_path, batch_size=2).embed(frames)
    single = np.concatenate([EmbeddingModel(model_path).embed([f]) for f in frames])
    assert batched.shape == (5, 48)
    assert np.allclose(batched, single, atol=1e-6)
    fixed = EmbeddingModel(_model(tmp_path / "fixed.onnx", batch=1))
    assert fixed.batch_size == 1
    assert np.allclose(fixed.embed(frames), single, atol=1e-6)


def test_calibration_is_per_character_and_above_every_impostor(model_path: Path) -> None:
    refs = _refs(4)
    matcher = EmbeddingMatcher(EmbeddingModel(model_path), refs)
    model = matcher.model
    vectors = model.embed([r.thumbnail for r in refs])
    innocent = model.embed(innocent_frames())
    for i, ref in enumerate(refs):
        cal = matcher.calibration[ref.character]
        others = np.delete(vectors, i, axis=0)
        ceiling = max(float((vectors[i] @ others.T).max()), float((vectors[i] @ innocent.T).max()))
        assert cal.ceiling == pytest.approx(ceiling, abs=1e-5)
        assert cal.threshold >= ceiling
    assert len({round(c.threshold, 6) for c in matcher.calibration.values()}) > 1


def test_the_engine_gives_an_embedding_reason_with_the_figure(model_path: Path) -> None:
    refs = _refs(4)
    profiles = [CharacterProfile(r.character) for r in refs]
    engine = Engine(profiles, refs, embedding=EmbeddingModel(model_path))
    blurred = TRANSFORMS["blur"][1](draw_character(2), random.Random(1))
    verdicts = engine.judge(CandidateEvidence(images=(encode(blurred, "JPEG", 90),)))
    top = verdicts[0]
    assert top.character == "C2"
    reason = next(r for r in top.reasons if r.kind is SignalKind.EMBEDDING)
    assert re.match(
        r"learned embedding \(blocks\.onnx\): cosine similarity (0\.9\d\d|1\.000) to c2\.png",
        reason.sentence,
    )
    assert "above C2's calibrated threshold" in reason.sentence
    assert reason.value > engine._embedding.calibration["C2"].threshold  # type: ignore[union-attr]
    # a look-alike in another palette stays below the character's threshold
    other = engine.judge(CandidateEvidence(images=(encode(draw_lookalike(2, 0), "JPEG", 90),)))
    assert not any(r.kind is SignalKind.EMBEDDING for v in other for r in v.reasons)


def test_the_engine_is_unchanged_without_a_model(model_path: Path) -> None:
    refs = _refs(3)
    profiles = [CharacterProfile(r.character) for r in refs]
    plain = Engine(profiles, refs)
    data = encode(draw_character(1), "JPEG", 90)
    before = [v.to_json() for v in plain.judge(CandidateEvidence(images=(data,)))]
    assert before and all(r["kind"] != "embedding" for v in before for r in v["reasons"])
    with_model = Engine(profiles, refs, embedding=EmbeddingModel(model_path))
    after = [v.to_json() for v in with_model.judge(CandidateEvidence(images=(data,)))]
    kept = [{**v, "reasons": [r for r in v["reasons"] if r["kind"] != "embedding"]} for v in after]
    assert [(v["character"], v["decision"]) for v in kept] == [
        (v["character"], v["decision"]) for v in before
    ]
