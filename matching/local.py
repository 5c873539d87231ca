"""Local features: ORB keypoints, RANSAC homography and a re-hash of the rectified region.

Global hashes miss heavy crops, rotations by a few degrees, perspective and a character pasted
small into a new scene (research/hashing.md §3b: 0 % recall on 40 % placement). This stage
matches ORB descriptors between the candidate and a shortlisted reference, fits a homography with
RANSAC, checks it is a plausible similarity/perspective map, warps the candidate back into the
reference frame and compares the covered region with the same region of the reference, by PDQ
and pHash. Inlier counts alone are not trusted: same-style drawings share geometry (§5).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from matching.exceptions import FingerprintFormatError
from matching.hashes import U8Array, hash_image

ORB_FEATURES = 500
RATIO_TEST = 0.8
RANSAC_PIXELS = 5.0
MIN_REGION_SIDE = 24
SMALL_SIDE = 320
"""Frames smaller than this are upscaled (x2, x4…) before ORB, which finds little on them."""

F32Array = npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class LocalFeatures:
    """Keypoint positions (working-frame pixels) and their 32-byte ORB descriptors."""

    points: F32Array
    descriptors: U8Array

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def to_json(self) -> dict[str, Any]:
        return {
            "count": len(self),
            "points": base64.b64encode(self.points.astype("<f4").tobytes()).decode("ascii"),
            "descriptors": base64.b64encode(self.descriptors.tobytes()).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: Any, *, label: str) -> LocalFeatures:
        try:
            count = int(data["count"])
            points = np.frombuffer(base64.b64decode(data["points"]), dtype="<f4").astype(np.float32)
            desc = np.frombuffer(base64.b64decode(data["descriptors"]), dtype=np.uint8)
            return cls(points.reshape(count, 2), desc.reshape(count, 32).copy())
        except (KeyError, TypeError, ValueError) as exc:
            raise FingerprintFormatError(f"bad local features: {exc}", label=label) from exc


def extract_features(grey: U8Array, n_features: int = ORB_FEATURES) -> LocalFeatures:
    """ORB keypoints and descriptors of a greyscale working frame."""
    orb = cv2.ORB.create(nfeatures=n_features, fastThreshold=10)
    zoom = 1
    while max(grey.shape[:2]) * zoom < SMALL_SIDE:
        zoom *= 2
    if zoom > 1:
        size = (grey.shape[1] * zoom, grey.shape[0] * zoom)
        grey = np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_CUBIC), np.uint8)
    keypoints, descriptors = orb.detectAndCompute(grey, None)
    if descriptors is None or not keypoints:
        return LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8))
    points = (np.array([k.pt for k in keypoints], dtype=np.float32) / zoom).astype(np.float32)
    return LocalFeatures(points, np.ascontiguousarray(descriptors, dtype=np.uint8))


@dataclass(frozen=True)
class LocalMatch:
    """A verified geometric match of a candidate against one reference (or its mirror)."""

    inliers: int
    coverage: float
    """Fraction of the reference frame the candidate covers once rectified."""
    placement: float
    """Fraction of the candidate's area the reference region occupies."""
    rectified_pdq: int
    rectified_phash: int
    rectified_hue: float | None
    """Hue difference (degrees, see :func:`hue_difference`); None when either side is grey."""
    mirrored: bool
    agreement: float = 0.0
    """Fraction of the reference's covered foreground whose colour the candidate reproduces
    (see :func:`agreement`): a copy under stickers agrees where it is not covered."""
    precision: float = 0.0
    """Mean distance (reference-frame pixels) at which the inliers reproject: ~0.1 for the same
    pixels, above 1 for a redrawing or a resampled copy."""
    inlier_ratio: float = 0.0
    """Inliers among the ratio-test matches."""
    structure: float = 0.0
    """How well the outlines agree, whatever their colours (see :func:`edge_agreement`)."""


def verify(
    candidate_rgb: U8Array,
    candidate: LocalFeatures,
    reference_rgb: U8Array,
    reference: LocalFeatures,
    *,
    reference_frame: tuple[int, int],
    mirrored: bool,
    min_inliers: int,
) -> LocalMatch | None:
    """Match, fit and rectify; ``None`` when no plausible homography with enough inliers exists.

    ``reference_rgb`` is the stored reference thumbnail; ``reference_frame`` the (w, h) of the
    frame the reference keypoints were measured in (the thumbnail may be smaller).
    """
    if len(candidate) < min_inliers or len(reference) < min_inliers:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(candidate.descriptors, reference.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO_TEST * p[1].distance]
    if len(good) < min_inliers:
        return None
    src = candidate.points[[m.queryIdx for m in good]].reshape(-1, 1, 2)
    dst = reference.points[[m.trainIdx for m in good]].reshape(-1, 1, 2)
    homography, mask = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, RANSAC_PIXELS)
    if homography is None or mask is None:
        return None
    h64: npt.NDArray[np.float64] = np.asarray(homography, dtype=np.float64)
    inliers = int(mask.sum())
    if inliers < min_inliers or not _plausible(h64):
        return None
    kept = mask.ravel() > 0
    reprojected = cv2.perspectiveTransform(src[kept].astype(np.float64), h64)
    precision = float(np.linalg.norm(reprojected - dst[kept], axis=2).mean())
    thumb_h, thumb_w = reference_rgb.shape[:2]
    scale = np.diag([thumb_w / reference_frame[0], thumb_h / reference_frame[1], 1.0])
    region = _rectify(candidate_rgb, reference_rgb, scale @ h64)
    if region is None:
        return None
    coverage, pdq, phash, hue, agree, structure = region
    return LocalMatch(
        inliers=inliers,
        coverage=coverage,
        placement=_placement(h64, reference_frame, candidate_rgb.shape[:2]),
        rectified_pdq=pdq,
        rectified_phash=phash,
        rectified_hue=hue,
        mirrored=mirrored,
        agreement=agree,
        precision=precision,
        inlier_ratio=inliers / len(good),
        structure=structure,
    )


def _plausible(h: npt.NDArray[np.float64]) -> bool:
    det = float(h[0, 0] * h[1, 1] - h[0, 1] * h[1, 0])
    return 0.02 < abs(det) < 50.0 and abs(h[2, 0]) < 0.004 and abs(h[2, 1]) < 0.004


def _rectify(
    candidate_rgb: U8Array, reference_rgb: U8Array, to_thumb: npt.NDArray[np.float64]
) -> tuple[float, int, int, float | None, float, float] | None:
    """Warp the candidate into the thumbnail frame; compare the covered box with the reference."""
    thumb_h, thumb_w = reference_rgb.shape[:2]
    warped = cv2.warpPerspective(candidate_rgb, to_thumb, (thumb_w, thumb_h))
    ones = np.full(candidate_rgb.shape[:2], 255, np.uint8)
    mask = cv2.warpPerspective(ones, to_thumb, (thumb_w, thumb_h), flags=cv2.INTER_NEAREST) > 0
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    if min(y1 - y0, x1 - x0) < MIN_REGION_SIDE:
        return None
    box = mask[y0:y1, x0:x1]
    ref_crop = np.ascontiguousarray(reference_rgb[y0:y1, x0:x1])
    cand_crop = np.where(box[:, :, None], warped[y0:y1, x0:x1], ref_crop).astype(np.uint8)
    ref_hashes = hash_image(_grey3(ref_crop))
    cand_hashes = hash_image(_grey3(cand_crop))
    return (
        float(mask.mean()),
        cand_hashes.pdq - ref_hashes.pdq,
        cand_hashes.phash - ref_hashes.phash,
        hue_difference(cand_crop, ref_crop, box),
        agreement(cand_crop, ref_crop, box),
        edge_agreement(cand_crop, ref_crop, box),
    )


EDGE_TOLERANCE = 5
"""Pixels (thumbnail frame) an outline may move and still count as the same outline."""


def _edges(rgb: U8Array) -> npt.NDArray[np.bool_]:
    """Outlines of the Lab channels: edges whatever the colours either side are."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    found = np.zeros(rgb.shape[:2], dtype=bool)
    for channel in range(3):
        found |= cv2.Canny(np.ascontiguousarray(lab[:, :, channel]), 40, 100) > 0
    return found


def edge_agreement(cand: U8Array, ref: U8Array, box: npt.NDArray[np.bool_]) -> float:
    """F1 of the two outline maps within the covered region (each outline pixel counts when
    the other image has one within :data:`EDGE_TOLERANCE` pixels). A recoloured copy keeps its
    outlines (≥ 0.94 measured); a same-style look-alike moves eyes, limbs and emblem."""
    inner = cv2.erode(box.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    ec = _edges(cand) & inner
    er = _edges(ref) & inner
    if not er.any() or not ec.any():
        return 0.0
    kernel = np.ones((EDGE_TOLERANCE, EDGE_TOLERANCE), np.uint8)
    near_c = cv2.dilate(ec.astype(np.uint8), kernel) > 0
    near_r = cv2.dilate(er.astype(np.uint8), kernel) > 0
    recall = float((er & near_c).sum() / er.sum())
    precision = float((ec & near_r).sum() / ec.sum())
    return 0.0 if recall + precision == 0 else 2 * recall * precision / (recall + precision)


AGREE_SIDE = 32
AGREE_DELTA = 6.0
"""Lab distance (L scaled to 0-100) under which a cell's colour counts as the reference's."""
FOREGROUND_DELTA = 20.0
"""Lab distance from the reference's median colour that makes a cell foreground."""


def agreement(cand: U8Array, ref: U8Array, box: npt.NDArray[np.bool_]) -> float:
    """Fraction of the reference's covered *foreground* cells (a 32x32 grid; foreground = away
    from the reference's median colour, so a flat backdrop says nothing) whose mean Lab colour
    the rectified candidate reproduces within :data:`AGREE_DELTA`.

    A copy under stickers agrees wherever it is not covered; a same-style look-alike agrees
    only where outlines happen to coincide (measured in docs/matching.md).
    """
    size = (AGREE_SIDE, AGREE_SIDE)
    c = cv2.cvtColor(cv2.resize(cand, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2Lab)
    r = cv2.cvtColor(cv2.resize(ref, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2Lab)
    lab_c = c.astype(np.float32) * np.array([100 / 255, 1, 1], np.float32)
    lab_r = r.astype(np.float32) * np.array([100 / 255, 1, 1], np.float32)
    covered = cv2.resize(box.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    if not covered.any():
        return 0.0
    backdrop = np.median(lab_r[covered], axis=0)
    covered &= np.sqrt(((lab_r - backdrop) ** 2).sum(axis=2)) > FOREGROUND_DELTA
    if not covered.any():
        return 0.0
    distance = np.sqrt(((lab_c - lab_r) ** 2).sum(axis=2))
    return float((distance[covered] < AGREE_DELTA).mean())


def _grey3(rgb: U8Array) -> U8Array:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))


CHROMA_SIDE = 24
TAIL_PERCENTILE = 85
COLOURFUL = 12.0


def hue_difference(
    cand: U8Array, ref: U8Array, box: npt.NDArray[np.bool_] | None = None
) -> float | None:
    """Hue difference (degrees, Lab a*b* angle) between the regions, over cells coloured in both:
    the larger of the median and half the 85th percentile (so an overlay or sticker over less
    than ~15 % of the coloured area is tolerated, a repainted body is not).

    Coarse cells tolerate small misregistration; hue ignores saturation and brightness edits.
    None when too few cells carry colour in both (a greyscale copy, a grey reference).
    """
    size = (CHROMA_SIDE, CHROMA_SIDE)
    lab_c = cv2.cvtColor(cv2.resize(cand, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2Lab)
    lab_r = cv2.cvtColor(cv2.resize(ref, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2Lab)
    if box is None:
        covered = np.ones(size, dtype=bool)
    else:
        covered = cv2.resize(box.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    ab_c = lab_c[:, :, 1:].astype(np.float64)[covered] - 128.0
    ab_r = lab_r[:, :, 1:].astype(np.float64)[covered] - 128.0
    coloured = (np.hypot(ab_c[:, 0], ab_c[:, 1]) > COLOURFUL) & (
        np.hypot(ab_r[:, 0], ab_r[:, 1]) > COLOURFUL
    )
    if coloured.sum() < max(4, 0.05 * coloured.size):
        return None
    angle_c = np.arctan2(ab_c[coloured, 1], ab_c[coloured, 0])
    angle_r = np.arctan2(ab_r[coloured, 1], ab_r[coloured, 0])
    diff = np.degrees(np.abs(np.angle(np.exp(1j * (angle_c - angle_r)))))
    # A copy shifts few cells; a look-alike repaints a part (its body): the tail shows it.
    return float(max(np.median(diff), np.percentile(diff, TAIL_PERCENTILE) / 2))


def _placement(
    homography: npt.NDArray[np.float64], frame: tuple[int, int], candidate_shape: tuple[int, ...]
) -> float:
    """Fraction of the candidate's area covered by the reference frame's outline."""
    corners = np.array(
        [[0, 0], [frame[0], 0], list(frame), [0, frame[1]]], dtype=np.float64
    ).reshape(-1, 1, 2)
    try:
        projected = cv2.perspectiveTransform(corners, np.linalg.inv(homography))
    except np.linalg.LinAlgError:
        return 0.0
    area = abs(float(cv2.contourArea(projected.astype(np.float32))))
    return min(1.0, area / float(candidate_shape[0] * candidate_shape[1]))
