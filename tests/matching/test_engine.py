"""The engine on tiny generated images: each transform class found, negatives ignored."""

from __future__ import annotations

import json
import random
import re

import pytest

from matching import (
    CandidateEvidence,
    CharacterProfile,
    Decision,
    Engine,
    FingerprintFormatError,
    ImageDecodeError,
    ProfileError,
    ReferenceFingerprint,
    SignalKind,
    fingerprint_reference,
)
from tests.support.likeness import TRANSFORMS, draw_character, draw_lookalike, draw_scene, encode

SEEDS = (1, 2, 3)
NAMES = {1: "Hero", 2: "Villain", 3: "Sidekick"}


@pytest.fixture(scope="module")
def references() -> list[ReferenceFingerprint]:
    return [
        fingerprint_reference(
            encode(draw_character(seed, size=256)), name=f"{NAMES[seed].lower()}-front.png",
            character=NAMES[seed],
        )
        for seed in SEEDS
    ]  # fmt: skip


@pytest.fixture(scope="module")
def engine(references: list[ReferenceFingerprint]) -> Engine:
    return Engine([CharacterProfile(n) for n in NAMES.values()], references)


# One transform per class keeps the suite fast; benchmarks/likeness.py measures all of them.
CASES = [
    "jpeg q20",
    "greyscale",
    "resize",
    "mirror",
    "emoji overlay",
    "caption bar",
    "crop 60 %",
    "rotate ±8°",
    "perspective",
    "placed 30-60 % in a scene",
    "stickers over 1/5-1/3",
    "placed 40-50 % in a busy scene",
    "perspective 8-18 %",
]


@pytest.mark.parametrize("transform", CASES)
def test_each_transform_class_is_flagged_for_the_right_character(
    engine: Engine, transform: str
) -> None:
    _cls, apply = TRANSFORMS[transform]
    for seed in SEEDS:
        image = apply(draw_character(seed, size=256), random.Random(seed))
        verdicts = engine.judge(CandidateEvidence(images=(encode(image, "JPEG", 90),)))
        top = verdicts[0]
        assert (top.character, top.decision) == (NAMES[seed], Decision.FLAG), top.reasons
        assert top.reference == f"{NAMES[seed].lower()}-front.png"
        assert not any(v.decision is Decision.FLAG for v in verdicts[1:])


def test_mirrored_copy_reason_reads_like_a_sentence(engine: Engine) -> None:
    image = TRANSFORMS["mirror"][1](draw_character(1, size=256), random.Random(0))
    (top, *_rest) = engine.judge(CandidateEvidence(images=(encode(image),)))
    pdq = next(r for r in top.reasons if r.kind is SignalKind.PDQ)
    assert pdq.sentence.startswith("PDQ distance ")
    assert pdq.sentence.endswith(" of 256 to hero-front.png (mirrored)")
    assert top.to_json()["reasons"][0]["reference"] == "hero-front.png"


def test_scenes_and_strangers_are_not_flagged(engine: Engine) -> None:
    for k in range(4):
        for image in (draw_scene(k, size=256), draw_character(5000 + k, size=256)):
            verdicts = engine.judge(CandidateEvidence(images=(encode(image, "JPEG", 90),)))
            assert not any(v.decision is Decision.FLAG for v in verdicts)


def test_lookalikes_are_not_flagged(engine: Engine) -> None:
    flagged = 0
    for seed in SEEDS:
        for variant in range(3):
            image = draw_lookalike(seed, variant, size=256)
            verdicts = engine.judge(CandidateEvidence(images=(encode(image, "JPEG", 90),)))
            flagged += any(v.decision is Decision.FLAG for v in verdicts)
    assert flagged == 0


def test_a_copy_under_stickers_is_flagged_as_partly_covered(engine: Engine) -> None:
    image = TRANSFORMS["stickers over 1/5-1/3"][1](draw_character(2, size=256), random.Random(4))
    top = engine.judge(CandidateEvidence(images=(encode(image, "JPEG", 90),)))[0]
    assert (top.character, top.decision) == ("Villain", Decision.FLAG)
    assert re.search(
        r"is villain-front\.png partly covered \(stickers or overlays\): \d+ % of the "
        r"reference's drawn area is reproduced colour for colour, and \d+ ORB keypoints "
        r"reproject onto it within 0\.\d\d pixels on average",
        " | ".join(r.sentence for r in top.reasons),
    )


def test_recoloured_copies_are_reviewed_and_look_alikes_are_not(engine: Engine) -> None:
    recoloured = TRANSFORMS["hue rotated 90°"][1](draw_character(1, size=256), random.Random(0))
    top = engine.judge(CandidateEvidence(images=(encode(recoloured, "JPEG", 90),)))[0]
    assert (top.character, top.decision) == ("Hero", Decision.REVIEW)
    assert "a recoloured copy or a look-alike" in top.reasons[0].sentence
    reviewed = 0
    for seed in SEEDS:
        for variant in range(3):
            image = draw_lookalike(seed, variant, size=256)
            verdicts = engine.judge(CandidateEvidence(images=(encode(image, "JPEG", 90),)))
            reviewed += any(v.decision is not Decision.IGNORE for v in verdicts)
    assert reviewed == 0


def test_image_and_alias_signals_add_up(engine: Engine) -> None:
    image = draw_lookalike(1, 0, size=256)
    alone = engine.judge(CandidateEvidence(images=(encode(image),)))
    named = engine.judge(CandidateEvidence(images=(encode(image),), title="my Hero fan art"))
    score_alone = next((v.score for v in alone if v.character == "Hero"), 0.0)
    hero = next(v for v in named if v.character == "Hero")
    assert hero.score > score_alone
    assert any(r.kind is SignalKind.ALIAS for r in hero.reasons)


def test_bad_image_raises_naming_it(engine: Engine) -> None:
    with pytest.raises(ImageDecodeError, match=re.escape("post-7/2.png")):
        engine.judge(
            CandidateEvidence(
                images=(encode(draw_scene(1, 64)), b"not an image"),
                image_names=("post-7/1.png", "post-7/2.png"),
            )
        )


def test_fingerprint_json_round_trip(references: list[ReferenceFingerprint]) -> None:
    original = references[0]
    stored = json.loads(json.dumps(original.to_json()))
    again = ReferenceFingerprint.from_json(stored)
    assert again.to_json() == stored
    assert again.orientations == original.orientations
    assert len(again.features) == len(original.features)
    engine = Engine([CharacterProfile("Hero")], [again])
    image = encode(draw_character(1, size=256), "JPEG", 80)
    assert engine.judge(CandidateEvidence(images=(image,)))[0].decision is Decision.FLAG


def test_outdated_or_foreign_fingerprints_are_refused(
    references: list[ReferenceFingerprint],
) -> None:
    stored = references[0].to_json()
    with pytest.raises(FingerprintFormatError, match="rebuild"):
        ReferenceFingerprint.from_json({**stored, "version": 0})
    with pytest.raises(FingerprintFormatError, match="not a reference fingerprint"):
        ReferenceFingerprint.from_json({"name": "x"})
    with pytest.raises(FingerprintFormatError, match=re.escape("hero-front.png: malformed")):
        ReferenceFingerprint.from_json({**stored, "orientations": {"sideways": {}}})


def test_reference_of_unknown_character_is_refused(
    references: list[ReferenceFingerprint],
) -> None:
    with pytest.raises(ProfileError, match="unknown character 'Hero'"):
        Engine([CharacterProfile("Someone")], references[:1])
