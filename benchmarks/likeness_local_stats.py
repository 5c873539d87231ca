"""The local-match measurements the partial-reuse and recolour thresholds are read from.

For copies under a few transforms and for negatives (same-style look-alikes, other characters),
verify each candidate against every reference (and its mirror) without any threshold, keep the
match with the most inliers, and print quantiles of: inliers, inlier ratio, reprojection error
(``precision``), foreground colour agreement, outline agreement (``structure``) and rectified PDQ.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/likeness_local_stats.py   # ~3 minutes
"""

from __future__ import annotations

import argparse
import random
import sys
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching import decode_image, fingerprint_reference
from matching.local import LocalMatch, extract_features, verify
from tests.support.likeness import TRANSFORMS, draw_character, draw_lookalike, encode

TRANSFORM_SETS = ("stickers over 1/5-1/3", "hue rotated 90°", "emoji overlay", "rotate ±8°")
FIELDS = ("inliers", "inlier_ratio", "precision", "agreement", "structure", "rectified_pdq")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--characters", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--lookalikes", type=int, default=6)
    parser.add_argument("--strangers", type=int, default=80)
    args = parser.parse_args()
    refs = [
        fingerprint_reference(encode(draw_character(i)), name=f"char{i:02d}.png", character=str(i))
        for i in range(args.characters)
    ]

    def best(data: bytes) -> LocalMatch | None:
        image = decode_image(data, label="candidate")
        feats = extract_features(image.grey)
        found: list[LocalMatch] = []
        for ref in refs:
            for mirrored in (False, True):
                match = verify(
                    image.rgb,
                    feats,
                    np.ascontiguousarray(np.fliplr(ref.thumbnail)) if mirrored else ref.thumbnail,
                    ref.mirrored_features if mirrored else ref.features,
                    reference_frame=ref.frame_size,
                    mirrored=mirrored,
                    min_inliers=12,
                )
                if match is not None and match.coverage >= 0.25:
                    found.append(match)
        return max(found, key=lambda m: m.inliers) if found else None

    sets: dict[str, list[bytes]] = {}
    for name in TRANSFORM_SETS:
        sets[name] = [
            encode(
                TRANSFORMS[name][1](
                    draw_character(i), random.Random(zlib.crc32(f"{name}/{i}/{rep}".encode()))
                ),
                "JPEG",
                90,
            )
            for i in range(args.characters)
            for rep in range(args.repeats)
        ]
    sets["look-alike"] = [
        encode(draw_lookalike(i, v), "JPEG", 90)
        for i in range(args.characters)
        for v in range(args.lookalikes)
    ]
    sets["other character"] = [
        encode(draw_character(10_000 + k), "JPEG", 90) for k in range(args.strangers)
    ]
    print(
        "| set | n matched | "
        + " | ".join(f"{f}: min / 10 % / median / 90 % / max" for f in FIELDS)
        + " |"
    )
    print("|---|---|" + "---|" * len(FIELDS))
    for name, images in sets.items():
        matches = [m for m in (best(d) for d in images) if m is not None]
        cells = []
        for f in FIELDS:
            a = np.array([float(getattr(m, f)) for m in matches])
            q = [a.min(), *np.percentile(a, [10, 50, 90]), a.max()] if a.size else []
            cells.append(
                " / ".join(
                    f"{v:.2f}" if f not in ("inliers", "rectified_pdq") else f"{v:.0f}" for v in q
                )
            )
        print(f"| {name} | {len(matches)} of {len(images)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
