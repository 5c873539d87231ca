"""Every tunable number of the engine, in one typed place.

Defaults come from ``benchmarks/likeness.py`` (see docs/matching.md for the printed run and the
reasoning); research/hashing.md gave the starting points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from matching.decode import DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class Thresholds:
    """Decision bands on the fused score, and the per-signal knobs."""

    flag: float = 0.85
    """Fused score at or above which a verdict is FLAG."""
    review: float = 0.5
    """Fused score at or above which a verdict is REVIEW."""

    pdq_flag: int = 28
    """PDQ distance (of 256) at or below which the global match alone flags."""
    pdq_review: int = 48
    """PDQ distance at or below which the global match asks for review."""
    pdq_min_quality: int = 50
    """Candidates or references below this PDQ quality (flat images) give no PDQ signal."""
    phash_review: int = 8
    """pHash distance (of 64) giving a review signal, only when PDQ agrees loosely…"""
    phash_pdq_guard: int = 90
    """…i.e. when the same pair's PDQ distance is at most this (64-bit hashes alone collide)."""

    local_min_inliers: int = 12
    """RANSAC inliers a local-feature match needs before it is rectified."""
    local_rectified_pdq: int = 48
    """Rectified-region PDQ distance that verifies a local match…"""
    local_rectified_phash: int = 12
    """…together with at most this rectified-region pHash distance."""
    local_max_hue: float = 20.0
    """Median hue difference (degrees) above which an image match only asks for review…"""
    recoloured_max_pdq: int = 20
    """…and only when its (rectified) PDQ distance is at most this, or its outlines agree to
    ``recoloured_min_structure``; a recoloured match with a looser structure is a same-style
    look-alike far more often than a copy (it is noted, not sent to review)."""
    recoloured_min_structure: float = 0.94
    """Outline agreement (F1, see ``matching.local.edge_agreement``) of a recoloured copy."""
    local_occluded_agreement: float = 0.25
    """A local match whose rectified region fails the re-hash (stickers, overlays) is still a
    copy when at least this share of the reference's foreground agrees colour for colour…"""
    local_occluded_precision: float = 0.6
    """…its inliers reproject within this many pixels on average (the same pixels, not a
    redrawing: look-alikes measure 0.3-2.5, redrawn characters of the same style above 1)…"""
    local_occluded_min_inliers: int = 20
    """…with at least this many inliers…"""
    local_occluded_min_ratio: float = 0.45
    """…making up at least this share of the ratio-test matches."""
    redrawn_min_inliers: int = 22
    """A local match that fails the copy checks (its rectified region re-hashes differently)
    still shows the reference's figure drawn anew (a new rendering of its pose), when the words
    or the generation data already name that character, with at least this many RANSAC
    inliers…"""
    redrawn_min_structure: float = 0.35
    """…and outlines that agree at least this much (F1, ``matching.local.edge_agreement``).
    Measured on the sandbox's benchmark: same-style look-alikes and unrelated scenes reach at
    most 17 inliers and outline agreement 0.44; redrawn figures 23-140 and 0.37-0.89
    (docs/matching.md)."""
    redrawn_min_agreement: float = 0.1
    """…and a tenth of the reference's drawn area in its own colours (another character of the
    same body family measures 0.01-0.04, see ``redrawn_unnamed_agreement``)."""
    redrawn_close_inliers: int = 12
    """A named figure with fewer inliers (a small figure in a busy scene) still counts when its
    outlines agree at least ``redrawn_unnamed_structure`` and its colours at least
    ``redrawn_unnamed_agreement``: geometry, outlines and colours all point the same way."""
    redrawn_unnamed_inliers: int = 20
    """With nothing else naming the character, a redrawn figure needs this many inliers…"""
    redrawn_unnamed_structure: float = 0.5
    """…this outline agreement…"""
    redrawn_unnamed_agreement: float = 0.4
    """…and this share of the reference's drawn area in the reference's own colours
    (``matching.local.agreement``): characters of one body family (same template, other
    colours and details) reach 118 inliers and 0.78 outline agreement by geometry alone, but
    reproduce at most 0.35 of the colours; the same character redrawn 0.19-0.88."""
    redrawn_placement: tuple[float, float] = (0.04, 0.9)
    """The figure covers this share of the image (a plausible figure, not a degenerate or
    whole-frame fit). A redrawn figure asks for review; with the LoRA the image was generated
    with, or an alias, it can flag."""
    local_min_coverage: float = 0.25
    """Fraction of the reference the rectified candidate must cover."""
    local_shortlist: int = 4
    """References verified geometrically per candidate image (by descriptor votes)."""
    local_vote_distance: int = 40
    """ORB descriptor distance (of 256) at which a nearest neighbour votes for its reference."""
    local_min_votes: int = 8
    """Votes a reference needs to be shortlisted."""

    provenance_alone: Literal["ignore", "review"] = "ignore"
    """What generation provenance (the LoRA an image names) decides when the pixels, examined
    against the character's references, show no likeness: "review" (a person looks) or
    "ignore". It never flags alone: "resembles" needs a measured likeness."""

    fuzzy_min_length: int = 6
    """Aliases this long or longer also match at edit distance 1."""
    lora_caption_min: int = 3
    """Training captions naming a character before the LoRA caption signal counts."""
    lora_caption_ratio: float = 0.1
    """Share of training captions naming a character that flags on its own."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    """Images declaring more pixels are refused (decompression-bomb guard)."""
