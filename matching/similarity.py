"""Image signals: global-hash search over every reference, then local-feature verification.

Built once from the reference fingerprints:

* one PDQ and one pHash :class:`~matching.index.BinaryIndex` holding, per reference, the 8
  dihedral orientations and the crop tiles (each row remembers its reference and variant);
* one ORB descriptor index over every reference and its mirror image, used to shortlist
  references for geometric verification by nearest-neighbour votes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from matching.decode import DecodedImage
from matching.hashes import HashKind, Orientation, U8Array, hash_image
from matching.index import Backend, BinaryIndex
from matching.local import LocalFeatures, LocalMatch, extract_features, hue_difference, verify
from matching.references import TILES, ReferenceFingerprint
from matching.thresholds import Thresholds
from matching.verdict import Reason, SignalKind

RECOLOURED_WEIGHT = 0.7
"""Cap on an image signal whose colours differ from the reference (review, not flag)."""
NOTED_WEIGHT = 0.45
FOCUSED_FEATURES = 3000
"""ORB keypoints for the closer look at one named character (the general search uses 500,
and a busy background takes most of them)."""
REDRAWN_WEIGHT = 0.6
"""Weight of a figure drawn anew in a reference's pose: a review on its own."""
"""Weight of a reason that is reported but does not by itself ask for review."""


@dataclass(frozen=True)
class _Row:
    reference: int
    variant: str
    """Orientation phrase ("" for the original, "mirrored"…) or tile label."""
    is_tile: bool
    quality: int
    orientation: Orientation = Orientation.ORIGINAL


class ImageMatcher:
    """Finds which references an image resembles; reasons are grouped by character."""

    def __init__(
        self,
        references: Sequence[ReferenceFingerprint],
        thresholds: Thresholds,
        *,
        backend: Backend = Backend.FAISS,
    ) -> None:
        self.references = list(references)
        self.thresholds = thresholds
        rows: list[_Row] = []
        pdq: list[bytes] = []
        phash: list[bytes] = []
        for i, ref in enumerate(self.references):
            for orientation, hashes in ref.orientations.items():
                rows.append(_Row(i, orientation.phrase, False, hashes.pdq_quality, orientation))
                pdq.append(hashes.pdq.value)
                phash.append(hashes.phash.value)
            for tile in ref.tiles:
                rows.append(_Row(i, tile.label, True, tile.hashes.pdq_quality))
                pdq.append(tile.hashes.pdq.value)
                phash.append(tile.hashes.phash.value)
        self._rows = rows
        self._by_character: dict[str, tuple[int, ...]] = {}
        for i, ref in enumerate(self.references):
            self._by_character[ref.character] = (*self._by_character.get(ref.character, ()), i)
        self._pdq_codes = _pack(pdq, HashKind.PDQ.bits // 8)
        self._pdq = BinaryIndex(self._pdq_codes, backend=backend)
        self._phash = BinaryIndex(_pack(phash, HashKind.PHASH.bits // 8), backend=backend)
        owners: list[np.ndarray] = []
        descriptors: list[np.ndarray] = []
        for i, ref in enumerate(self.references):
            for mirrored, feats in ((0, ref.features), (1, ref.mirrored_features)):
                owners.append(np.full(len(feats), 2 * i + mirrored, dtype=np.int64))
                descriptors.append(feats.descriptors)
        self._orb_owner = np.concatenate(owners) if owners else np.zeros(0, np.int64)
        self._orb = BinaryIndex(
            np.concatenate(descriptors) if descriptors else np.zeros((0, 32), np.uint8),
            backend=backend,
        )

    def reasons(self, image: DecodedImage, *, prefix: str = "") -> dict[str, list[Reason]]:
        """Image reasons per character name for one decoded candidate image."""
        th = self.thresholds
        found: dict[str, list[Reason]] = {}
        hashes = hash_image(image.rgb)
        strong: set[str] = set()
        best_pdq: dict[int, tuple[int, _Row]] = {}
        if hashes.pdq_quality >= th.pdq_min_quality:
            hits = self._pdq.range_search(hashes.pdq.as_array()[None, :], th.pdq_review)
            for entry, dist in zip(hits.entry.tolist(), hits.distance.tolist(), strict=True):
                row = self._rows[entry]
                if row.quality < th.pdq_min_quality:
                    continue
                if row.reference not in best_pdq or dist < best_pdq[row.reference][0]:
                    best_pdq[row.reference] = (dist, row)
        for ref_i, (dist, row) in best_pdq.items():
            ref = self.references[ref_i]
            hue = hue_difference(
                image.rgb_like(_reference_view(ref, row)), _reference_view(ref, row)
            )
            reason = _pdq_reason(ref, dist, row, th, prefix)
            if hue is not None and hue > th.local_max_hue:
                reason = _recoloured(reason, hue, strict=dist <= th.recoloured_max_pdq)
            elif dist <= th.pdq_flag:
                strong.add(ref.character)
            found.setdefault(ref.character, []).append(reason)
        self._phash_reasons(hashes.phash.as_array(), hashes.pdq.as_array(), found, prefix)
        self._local_reasons(image, strong, found, prefix)
        return found

    def _phash_reasons(
        self, phash: np.ndarray, pdq: np.ndarray, found: dict[str, list[Reason]], prefix: str
    ) -> None:
        th = self.thresholds
        hits = self._phash.range_search(phash[None, :], th.phash_review)
        if not len(hits):
            return
        pdq_dist = np.bitwise_count(self._pdq_codes[hits.entry] ^ pdq[None, :]).sum(axis=1)
        best: dict[int, tuple[int, _Row]] = {}
        for entry, dist, guard in zip(
            hits.entry.tolist(), hits.distance.tolist(), pdq_dist.tolist(), strict=True
        ):
            row = self._rows[entry]
            if guard > th.phash_pdq_guard:
                continue
            if row.reference not in best or dist < best[row.reference][0]:
                best[row.reference] = (dist, row)
        for ref_i, (dist, row) in best.items():
            ref = self.references[ref_i]
            where = _variant_words(ref, row)
            # 64-bit hashes collide at scale: a pHash match alone is noted, never a review
            weight = NOTED_WEIGHT
            found.setdefault(ref.character, []).append(
                Reason(
                    SignalKind.PHASH,
                    float(dist),
                    f"{prefix}pHash distance {dist} of 64 to {where}",
                    ref.name,
                    weight,
                )
            )

    def _local_reasons(
        self, image: DecodedImage, strong: set[str], found: dict[str, list[Reason]], prefix: str
    ) -> None:
        th = self.thresholds
        if not self._orb.size:
            return
        feats = extract_features(image.grey)
        if len(feats) < th.local_min_inliers:
            return
        nearest, dist = self._orb.nearest(feats.descriptors)
        owners = self._orb_owner[nearest[dist <= th.local_vote_distance]]
        votes = np.bincount(owners, minlength=2 * len(self.references))
        order = np.argsort(-votes, kind="stable")
        checked = 0
        best: dict[int, LocalMatch] = {}
        for key in order.tolist():
            if votes[key] < th.local_min_votes or checked >= th.local_shortlist:
                break
            ref_i, mirrored = divmod(key, 2)
            ref = self.references[ref_i]
            if ref.character in strong:
                continue
            checked += 1
            match = self._verify(image, feats, ref, bool(mirrored))
            if match is not None and (ref_i not in best or self._better(match, best[ref_i])):
                best[ref_i] = match
        for ref_i, match in best.items():
            ref = self.references[ref_i]
            found.setdefault(ref.character, []).append(self._match_reason(ref, match, prefix))

    def _match_reason(self, ref: ReferenceFingerprint, match: LocalMatch, prefix: str) -> Reason:
        """The reason for a verified local match: a redrawn figure, a covered copy, a copy (a
        recoloured one only asks for review, see :func:`_recoloured`)."""
        th = self.thresholds
        if not self._copied(match):
            return _redrawn_reason(ref, match, prefix)
        occluded = self._occluded(match)
        reason = _local_reason(ref, match, prefix, occluded=occluded)
        hue = match.rectified_hue
        if not occluded and hue is not None and hue > th.local_max_hue:
            strict = (
                match.rectified_pdq <= th.recoloured_max_pdq
                or match.structure >= th.recoloured_min_structure
            )
            reason = _recoloured(reason, hue, strict=strict)
        return reason

    def has_references(self, character: str) -> bool:
        """Whether any reference of ``character`` is known (its pictures can be checked)."""
        return character in self._by_character

    def figure_reasons(
        self, image: DecodedImage, character: str, *, prefix: str = ""
    ) -> list[Reason]:
        """A closer look for one character the words already name (an alias, the LoRA the
        image was generated with) when the general search found nothing: more keypoints, and
        every reference of that character verified rather than a shortlist by votes. Returns
        the best match's reason, or nothing."""
        th = self.thresholds
        indices = self._by_character.get(character, ())
        if not indices:
            return []
        feats = extract_features(image.grey, FOCUSED_FEATURES)
        if len(feats) < th.local_min_inliers:
            return []
        # the references (and mirrors) in the order of the candidate's descriptor votes; a
        # clear copy or figure ends the look
        nearest, dist = self._orb.nearest(feats.descriptors)
        votes = np.bincount(
            self._orb_owner[nearest[dist <= th.local_vote_distance]],
            minlength=2 * len(self.references),
        )
        keys = [2 * i + mirrored for i in indices for mirrored in (0, 1)]
        best: tuple[ReferenceFingerprint, LocalMatch] | None = None
        for key in sorted(keys, key=lambda k: -int(votes[k])):
            ref_i, mirrored = divmod(key, 2)
            ref = self.references[ref_i]
            match = self._verify(image, feats, ref, bool(mirrored), named=True)
            if match is not None and (best is None or self._better(match, best[1])):
                best = (ref, match)
                if self._copied(match) or match.inliers >= 2 * th.redrawn_min_inliers:
                    break
        if best is None:
            return []
        return [self._match_reason(*best, prefix)]

    def _occluded(self, match: LocalMatch) -> bool:
        """The same pixels as the reference where visible, the rest covered (stickers)."""
        th = self.thresholds
        return (
            match.agreement >= th.local_occluded_agreement
            and match.precision <= th.local_occluded_precision
            and match.inliers >= th.local_occluded_min_inliers
            and match.inlier_ratio >= th.local_occluded_min_ratio
        )

    def _verify(
        self,
        image: DecodedImage,
        feats: LocalFeatures,
        ref: ReferenceFingerprint,
        mirrored: bool,
        *,
        named: bool = False,
    ) -> LocalMatch | None:
        th = self.thresholds
        match = verify(
            image.rgb,
            feats,
            np.ascontiguousarray(np.fliplr(ref.thumbnail)) if mirrored else ref.thumbnail,
            ref.mirrored_features if mirrored else ref.features,
            reference_frame=ref.frame_size,
            mirrored=mirrored,
            min_inliers=th.local_min_inliers,
        )
        if match is None or match.coverage < th.local_min_coverage:
            return None
        if self._copied(match) or self._redrawn(match, named=named):
            return match
        return None

    def _better(self, match: LocalMatch, than: LocalMatch) -> bool:
        """A copy beats a redrawing; between two of a kind, more inliers win."""
        copied, other = self._copied(match), self._copied(than)
        if copied != other:
            return copied
        return match.inliers > than.inliers

    def _copied(self, match: LocalMatch) -> bool:
        """The rectified region re-hashes like the reference (or is a covered copy)."""
        th = self.thresholds
        return (
            match.rectified_pdq <= th.local_rectified_pdq
            and match.rectified_phash <= th.local_rectified_phash
        ) or self._occluded(match)

    def _redrawn(self, match: LocalMatch, *, named: bool) -> bool:
        """Not the reference's pixels, but its figure drawn anew in the same pose: many
        geometrically consistent keypoints and outlines that agree; more of both when nothing
        else names the character (see ``Thresholds``)."""
        th = self.thresholds
        low, high = th.redrawn_placement
        if not low <= match.placement <= high:
            return False
        close = (
            match.inliers >= th.redrawn_close_inliers
            and match.structure >= th.redrawn_unnamed_structure
            and match.agreement >= th.redrawn_unnamed_agreement
        )
        if named and close:
            return True
        inliers, structure = (
            (th.redrawn_min_inliers, th.redrawn_min_structure)
            if named
            else (th.redrawn_unnamed_inliers, th.redrawn_unnamed_structure)
        )
        return (
            match.inliers >= inliers
            and match.structure >= structure
            and match.agreement
            >= (th.redrawn_min_agreement if named else th.redrawn_unnamed_agreement)
        )


def _reference_view(ref: ReferenceFingerprint, row: _Row) -> U8Array:
    """The part of the reference thumbnail a global-hash row describes, turned like it."""
    thumb = ref.thumbnail
    if row.is_tile:
        left, top, right, bottom = TILES[row.variant]
        h, w = thumb.shape[:2]
        y0, x0 = round(top * h), round(left * w)
        y1, x1 = max(y0 + 1, round(bottom * h)), max(x0 + 1, round(right * w))
        return np.ascontiguousarray(thumb[y0:y1, x0:x1])
    return row.orientation.apply(thumb)


def _recoloured(reason: Reason, hue: float, *, strict: bool) -> Reason:
    """A match whose colours differ: a review when its structure is near-identical (a
    recoloured copy), else only noted (a same-style look-alike, far more often)."""
    if strict:
        return replace(
            reason,
            sentence=f"{reason.sentence}; but its colours differ (hue difference "
            f"{hue:.0f}°): a recoloured copy or a look-alike",
            weight=min(reason.weight, RECOLOURED_WEIGHT),
        )
    return replace(
        reason,
        sentence=f"{reason.sentence}; but its colours differ (hue difference {hue:.0f}°) and "
        "its shapes only loosely agree: more likely a look-alike in the same style",
        weight=min(reason.weight, NOTED_WEIGHT),
    )


def _pack(codes: list[bytes], nbytes: int) -> np.ndarray:
    if not codes:
        return np.zeros((0, nbytes), np.uint8)
    return np.frombuffer(b"".join(codes), dtype=np.uint8).reshape(len(codes), nbytes).copy()


def _variant_words(ref: ReferenceFingerprint, row: _Row) -> str:
    if row.is_tile:
        return f"the {row.variant} crop of {ref.name}"
    return f"{ref.name} ({row.variant})" if row.variant else ref.name


def _pdq_reason(
    ref: ReferenceFingerprint, dist: int, row: _Row, th: Thresholds, prefix: str
) -> Reason:
    if dist <= th.pdq_flag:
        weight = 0.9 + 0.1 * (1.0 - dist / (th.pdq_flag + 1))
    else:
        span = max(1, th.pdq_review - th.pdq_flag)
        weight = 0.5 + 0.3 * (th.pdq_review - dist) / span
    return Reason(
        SignalKind.PDQ,
        float(dist),
        f"{prefix}PDQ distance {dist} of 256 to {_variant_words(ref, row)}",
        ref.name,
        weight,
    )


def _local_reason(
    ref: ReferenceFingerprint, match: LocalMatch, prefix: str, *, occluded: bool = False
) -> Reason:
    mirrored = " (mirrored)" if match.mirrored else ""
    if occluded:
        sentence = (
            f"{prefix}a region covering about {round(match.placement * 100)} % of the image "
            f"is {ref.name}{mirrored} partly covered (stickers or overlays): "
            f"{round(match.agreement * 100)} % of the reference's drawn area is reproduced colour "
            f"for colour, and {match.inliers} ORB keypoints reproject onto it within "
            f"{match.precision:.2f} pixels on average"
        )
        weight = 0.9 + min(0.05, match.inliers / 4000)
        return Reason(SignalKind.LOCAL_FEATURES, float(match.inliers), sentence, ref.name, weight)
    sentence = (
        f"{prefix}a region covering about {round(match.placement * 100)} % of the image "
        f"resembles {ref.name}{mirrored}: {match.inliers} geometrically consistent ORB keypoints, "
        f"rectified-region PDQ distance {match.rectified_pdq} of 256 and pHash distance "
        f"{match.rectified_phash} of 64"
    )
    weight = 0.9 + min(0.08, match.inliers / 2000)
    return Reason(SignalKind.LOCAL_FEATURES, float(match.inliers), sentence, ref.name, weight)


def _redrawn_reason(ref: ReferenceFingerprint, match: LocalMatch, prefix: str) -> Reason:
    mirrored = " (mirrored)" if match.mirrored else ""
    sentence = (
        f"{prefix}a figure covering about {round(match.placement * 100)} % of the image "
        f"resembles {ref.name}{mirrored} drawn anew, not copied: {match.inliers} geometrically "
        f"consistent ORB keypoints and {round(match.structure * 100)} % outline agreement, but "
        f"its pixels differ (rectified-region PDQ distance {match.rectified_pdq} of 256)"
    )
    return Reason(
        SignalKind.LOCAL_FEATURES, float(match.inliers), sentence, ref.name, REDRAWN_WEIGHT
    )
