"""Exact Hamming-distance search over packed binary codes.

faiss ``IndexBinaryFlat`` is exhaustive and exact; its ``range_search`` radius is exclusive, so
the radius passed is ``T + 1`` (research/hashing.md §4: 1e9 64-bit pairs in 0.65 s on one core).
A numpy ``bitwise_count`` backend (~12x slower) gives the same results and serves as a check
and a fallback. Neither loops over pairs in Python.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import faiss
import numpy as np
import numpy.typing as npt

from matching.hashes import U8Array

I64Array = npt.NDArray[np.int64]
_BLOCK = 2048


class Backend(enum.Enum):
    """Which search implementation an index uses."""

    FAISS = "faiss"
    NUMPY = "numpy"


@dataclass(frozen=True, eq=False)
class Hits:
    """Parallel arrays: query row, indexed row, Hamming distance."""

    query: I64Array
    entry: I64Array
    distance: I64Array

    def __len__(self) -> int:
        return int(self.query.shape[0])


class BinaryIndex:
    """Packed codes ``uint8[N, nbytes]`` searchable by Hamming radius or nearest neighbour."""

    def __init__(self, codes: U8Array, *, backend: Backend = Backend.FAISS) -> None:
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        if codes.ndim != 2 or codes.shape[1] % 8:
            raise ValueError(f"codes must be uint8[N, 8k], got shape {codes.shape}")
        self.backend = backend
        self.nbytes = int(codes.shape[1])
        self.size = int(codes.shape[0])
        self._words = codes.view(np.uint64)
        self._faiss = faiss.IndexBinaryFlat(self.nbytes * 8) if backend is Backend.FAISS else None
        if self._faiss is not None and self.size:
            self._faiss.add(codes)

    def range_search(self, queries: U8Array, radius: int) -> Hits:
        """Every (query, entry) pair at Hamming distance ``<= radius``."""
        queries = np.ascontiguousarray(queries, dtype=np.uint8).reshape(-1, self.nbytes)
        if not self.size or not queries.shape[0]:
            empty = np.zeros(0, np.int64)
            return Hits(empty, empty, empty)
        if self._faiss is not None:
            lims, dist, ids = self._faiss.range_search(queries, radius + 1)
            query = np.repeat(
                np.arange(queries.shape[0], dtype=np.int64), np.diff(lims).astype(np.int64)
            )
            return Hits(query, ids.astype(np.int64), dist.astype(np.int64))
        q_words = queries.view(np.uint64)
        parts: list[tuple[I64Array, I64Array, I64Array]] = []
        for start in range(0, q_words.shape[0], _BLOCK):
            block = q_words[start : start + _BLOCK]
            dist = self._distances(block)
            rows, cols = np.nonzero(dist <= radius)
            parts.append((rows.astype(np.int64) + start, cols.astype(np.int64), dist[rows, cols]))
        return Hits(*(np.concatenate([p[k] for p in parts]) for k in range(3)))

    def nearest(self, queries: U8Array) -> tuple[I64Array, I64Array]:
        """For each query, the nearest entry and its distance."""
        queries = np.ascontiguousarray(queries, dtype=np.uint8).reshape(-1, self.nbytes)
        if not self.size or not queries.shape[0]:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        if self._faiss is not None:
            dist, ids = self._faiss.search(queries, 1)
            return ids[:, 0].astype(np.int64), dist[:, 0].astype(np.int64)
        q_words = queries.view(np.uint64)
        best_ids, best_dist = [], []
        for start in range(0, q_words.shape[0], _BLOCK):
            dist = self._distances(q_words[start : start + _BLOCK])
            arg = dist.argmin(axis=1)
            best_ids.append(arg.astype(np.int64))
            best_dist.append(dist[np.arange(dist.shape[0]), arg])
        return np.concatenate(best_ids), np.concatenate(best_dist)

    def _distances(self, q_words: npt.NDArray[np.uint64]) -> I64Array:
        out = np.zeros((q_words.shape[0], self.size), dtype=np.int64)
        for w in range(q_words.shape[1]):
            out += np.bitwise_count(q_words[:, w, None] ^ self._words[None, :, w])
        return out


def limit_threads(count: int) -> None:
    """Cap the threads faiss (OpenMP) and OpenCV use; call once per worker process."""
    import cv2

    faiss.omp_set_num_threads(count)
    cv2.setNumThreads(count)


def thread_counts() -> tuple[int, int]:
    """The current (faiss, OpenCV) thread caps, for :func:`restore_threads`."""
    import cv2

    return int(faiss.omp_get_max_threads()), int(cv2.getNumThreads())


def restore_threads(counts: tuple[int, int]) -> None:
    """Put back the caps :func:`thread_counts` returned."""
    import cv2

    faiss.omp_set_num_threads(counts[0])
    cv2.setNumThreads(counts[1])
