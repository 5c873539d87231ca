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
    keypoints, descriptors = orb.detectAndCompute(grey, None)
    if descriptors is None or not keypoints:
        return LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8))
    points = np.array([k.pt for k in keypoints], dtype=np.float32)
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
    mirrored: bool


def verify(
    candidate_grey: U8Array,
    candidate: LocalFeatures,
    reference_grey: U8Array,
    reference: LocalFeatures,
    *,
    reference_frame: tuple[int, int],
    mirrored: bool,
    min_inliers: int,
) -> LocalMatch | None:
    """Match, fit and rectify; ``None`` when no plausible homography with enough inliers exists.

    ``reference_grey`` is the stored reference thumbnail; ``reference_frame`` the (w, h) of the
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
    homography, mask = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_PIXELS)
    if homography is None or mask is None:
        return None
    h64: npt.NDArray[np.float64] = np.asarray(homography, dtype=np.float64)
    inliers = int(mask.sum())
    if inliers < min_inliers or not _plausible(h64):
        return None
    thumb_h, thumb_w = reference_grey.shape[:2]
    scale = np.diag([thumb_w / reference_frame[0], thumb_h / reference_frame[1], 1.0])
    to_thumb = scale @ h64
    return _rectify(
        candidate_grey, reference_grey, to_thumb, h64, reference_frame, inliers, mirrored
    )


def _plausible(h: npt.NDArray[np.float64]) -> bool:
    det = float(h[0, 0] * h[1, 1] - h[0, 1] * h[1, 0])
    return 0.02 < abs(det) < 50.0 and abs(h[2, 0]) < 0.004 and abs(h[2, 1]) < 0.004


def _rectify(
    candidate_grey: U8Array,
    reference_grey: U8Array,
    to_thumb: npt.NDArray[np.float64],
    homography: npt.NDArray[np.float64],
    reference_frame: tuple[int, int],
    inliers: int,
    mirrored: bool,
) -> LocalMatch | None:
    thumb_h, thumb_w = reference_grey.shape[:2]
    warped = cv2.warpPerspective(candidate_grey, to_thumb, (thumb_w, thumb_h))
    ones = np.full(candidate_grey.shape[:2], 255, np.uint8)
    mask = cv2.warpPerspective(ones, to_thumb, (thumb_w, thumb_h), flags=cv2.INTER_NEAREST) > 0
    coverage = float(mask.mean())
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    if min(y1 - y0, x1 - x0) < MIN_REGION_SIDE:
        return None
    ref_crop = reference_grey[y0:y1, x0:x1]
    cand_crop = np.where(mask[y0:y1, x0:x1], warped[y0:y1, x0:x1], ref_crop).astype(np.uint8)
    ref_hashes = hash_image(np.repeat(ref_crop[:, :, None], 3, axis=2))
    cand_hashes = hash_image(np.repeat(cand_crop[:, :, None], 3, axis=2))
    corners = np.array(
        [[0, 0], [reference_frame[0], 0], list(reference_frame), [0, reference_frame[1]]],
        dtype=np.float64,
    ).reshape(-1, 1, 2)
    try:
        projected = cv2.perspectiveTransform(corners, np.linalg.inv(homography))
    except np.linalg.LinAlgError:
        return None
    area = abs(float(cv2.contourArea(projected.astype(np.float32))))
    placement = min(1.0, area / float(candidate_grey.shape[0] * candidate_grey.shape[1]))
    return LocalMatch(
        inliers=inliers,
        coverage=coverage,
        placement=placement,
        rectified_pdq=cand_hashes.pdq - ref_hashes.pdq,
        rectified_phash=cand_hashes.phash - ref_hashes.phash,
        mirrored=mirrored,
    )
