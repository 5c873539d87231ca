"""The likeness engine on the sandbox's world: the demo client's characters and platform images.

References are the client's official artwork (``sandbox.content.reference_images``, 5 per
character); candidates are platform images drawn by ``render_image`` for every ``how`` (the
derivations of a reference, the character redrawn in a new scene, a pair, a look-alike, an
unrelated scene). Prints, per ``how``, the share of images flagged or reviewed for the depicted
character, and flags on any other character.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/likeness_sandbox.py     # ~1 minute
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/likeness_sandbox.py --embedding-model m.onnx
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/likeness_sandbox.py --named  # LoRA outputs
"""

from __future__ import annotations

import argparse
import io
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching import (
    NO_PROVENANCE,
    CandidateEvidence,
    CharacterProfile,
    Decision,
    EmbeddingModel,
    Engine,
    Normalisation,
    fingerprint_reference,
    parse_a1111,
)
from sandbox.content import CHARACTERS, IMAGE_HOWS, ImageRecipe, reference_images, render_image


def _jpeg(image: object) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=90)  # type: ignore[attr-defined]
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-how", type=int, default=12, help="images per how and character")
    parser.add_argument("--embedding-model", type=Path, help="an ONNX image encoder (optional)")
    parser.add_argument("--normalisation", choices=["clip", "imagenet"], default="imagenet")
    parser.add_argument(
        "--named",
        action="store_true",
        help="every picture names a LoRA after the character it is drawn for (the palette's "
        "character for look-alikes and unrelated scenes), as LoRA outputs do",
    )
    args = parser.parse_args()
    profiles = [CharacterProfile(c.name, dict(c.aliases)) for c in CHARACTERS]
    refs = []
    for ref in reference_images(seed=1):
        out = io.BytesIO()
        ref.image.save(out, "PNG")
        refs.append(
            fingerprint_reference(out.getvalue(), name=ref.filename, character=ref.character)
        )
    model = (
        EmbeddingModel(args.embedding_model, normalisation=Normalisation(args.normalisation))
        if args.embedding_model
        else None
    )
    engine = Engine(profiles, refs, embedding=model)
    names = [c.name for c in CHARACTERS]
    print(f"sandbox world seed 1: {len(names)} characters, {len(refs)} references\n")
    print(
        "| how | images | FLAG (depicted character) | FLAG+REVIEW | FLAG on another character "
        "| REVIEW on another character |"
    )
    print("|---|---|---|---|---|---|")
    seed = 10_000
    for how in IMAGE_HOWS:
        counts: Counter[str] = Counter()
        for k, name in enumerate(names):
            for n in range(args.per_how):
                seed += 1
                depicted: tuple[str, ...] = ()
                if how not in ("lookalike", "unrelated"):
                    depicted = (name,) if how != "pair" else (name, names[(k + 1) % len(names)])
                recipe = ImageRecipe(
                    seed, how, characters=depicted, palette_of=name, reference=n % 5
                )
                generation = (
                    parse_a1111(f"masterpiece, <lora:{name.lower()}_v1:0.8>\nSteps: 20, Seed: 1")
                    if args.named
                    else NO_PROVENANCE
                )
                verdicts = engine.judge(
                    CandidateEvidence(
                        images=(_jpeg(render_image(recipe, 1)),), generation=generation
                    )
                )
                counts["images"] += 1
                by_char = {v.character: v.decision for v in verdicts}
                if depicted and by_char.get(depicted[0]) is Decision.FLAG:
                    counts["flag"] += 1
                if depicted and by_char.get(depicted[0], Decision.IGNORE) is not Decision.IGNORE:
                    counts["either"] += 1
                others = [c for c, d in by_char.items() if d is Decision.FLAG and c not in depicted]
                counts["wrong"] += bool(others)
                counts["wrong_review"] += any(
                    d is Decision.REVIEW and c not in depicted for c, d in by_char.items()
                )
        total = counts["images"]
        shown = "-" if how in ("lookalike", "unrelated") else f"{counts['flag'] / total:.3f}"
        either = "-" if how in ("lookalike", "unrelated") else f"{counts['either'] / total:.3f}"
        print(
            f"| {how} | {total} | {shown} | {either} | {counts['wrong']} "
            f"| {counts['wrong_review']} |"
        )


if __name__ == "__main__":
    main()
