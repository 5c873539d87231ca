"""What a candidate's evidence can decide: redrawn figures, provenance without a likeness, and
models whose only evidence is their showcase pictures (matching/engine.py ``_scoped``)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from matching import (
    CandidateEvidence,
    CharacterProfile,
    Decision,
    Engine,
    ReferenceFingerprint,
    SignalKind,
    Subject,
    Thresholds,
    fingerprint_reference,
    parse_a1111,
)
from sandbox.content import CHARACTERS, ImageRecipe, reference_images, render_image

SEED = 1


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def references() -> list[ReferenceFingerprint]:
    return [
        fingerprint_reference(_png(ref.image), name=ref.filename, character=ref.character)
        for ref in reference_images(seed=SEED)
    ]


def _engine(references: list[ReferenceFingerprint], **knobs: str) -> Engine:
    profiles = [CharacterProfile(c.name, dict(c.aliases)) for c in CHARACTERS]
    return Engine(profiles, references, Thresholds(**knobs))  # type: ignore[arg-type]


def _picture(how: str, name: str, seed: int) -> bytes:
    depicted = (name,) if how == "scene" else ()
    recipe = ImageRecipe(seed, how, characters=depicted, palette_of=name, reference=seed % 5)
    return _jpeg(render_image(recipe, SEED))


def _generated_with(name: str) -> CandidateEvidence:
    slug = name.lower()
    return CandidateEvidence(
        generation=parse_a1111(f"masterpiece, {slug}, <lora:{slug}_v1:0.8>\nSteps: 20, Seed: 1")
    )


def _verdict(engine: Engine, evidence: CandidateEvidence, name: str) -> tuple[Decision, str]:
    for verdict in engine.judge(evidence):
        if verdict.character == name:
            return verdict.decision, " | ".join(r.sentence for r in verdict.reasons)
    return Decision.IGNORE, ""


def test_a_redrawn_figure_with_its_lora_flags_and_the_same_lora_alone_does_not(
    references: list[ReferenceFingerprint],
) -> None:
    engine = _engine(references)
    flagged = 0
    for k, character in enumerate(CHARACTERS):
        for n in range(4):
            seed = 500 + 10 * k + n
            evidence = _generated_with(character.name)
            shown = CandidateEvidence(
                images=(_picture("scene", character.name, seed),), generation=evidence.generation
            )
            decision, sentences = _verdict(engine, shown, character.name)
            if decision is Decision.FLAG:
                flagged += 1
                assert "drawn anew, not copied" in sentences or "resembles" in sentences
                assert "generated with LoRA" in sentences
            for how in ("unrelated", "lookalike"):
                other = CandidateEvidence(
                    images=(_picture(how, character.name, seed),), generation=evidence.generation
                )
                decision, sentences = _verdict(engine, other, character.name)
                assert decision is Decision.IGNORE, (how, seed, sentences)
                assert "no likeness to" in sentences and "alone does not report it" in sentences
    assert flagged >= 10  # of 12 characters redrawn in new scenes


def test_provenance_alone_asks_for_review_when_so_configured(
    references: list[ReferenceFingerprint],
) -> None:
    engine = _engine(references, provenance_alone="review")
    name = CHARACTERS[1].name
    evidence = CandidateEvidence(
        images=(_picture("unrelated", name, 77),), generation=_generated_with(name).generation
    )
    decision, sentences = _verdict(engine, evidence, name)
    assert decision is Decision.REVIEW
    assert "the LoRA it names asks a person to look" in sentences


def test_a_model_is_not_reported_for_its_showcase_pictures_alone(
    references: list[ReferenceFingerprint],
) -> None:
    engine = _engine(references)
    name = CHARACTERS[0].name
    cover = _png(reference_images(seed=SEED)[0].image)  # a copy of the client's artwork
    style = CandidateEvidence(subject=Subject.MODEL, images=(cover,), title="Flat Vector Icons")
    decision, sentences = _verdict(engine, style, name)
    assert decision is Decision.IGNORE
    assert "only the model's showcase pictures point to" in sentences
    # the same cover posted as a picture is a copy, and flags
    assert _verdict(engine, CandidateEvidence(images=(cover,)), name)[0] is Decision.FLAG
    # a model that names the character itself is flagged, its cover adding to the score
    named = CandidateEvidence(
        subject=Subject.MODEL, images=(cover,), title=f"{name} character LoRA"
    )
    verdicts = engine.judge(named)
    top = verdicts[0]
    assert (top.character, top.decision) == (name, Decision.FLAG)
    assert {SignalKind.ALIAS, SignalKind.PDQ} <= {r.kind for r in top.reasons}
