"""A pool of scan worker processes that pays start-up once, used only when it is faster.

Start-up is what made two processes slower than one: a spawned worker imports OpenCV, faiss,
SQLAlchemy and the engine again and rebuilds the indexes (seconds on a busy machine). Here the
parent imports and builds the engine once, then *forks* the workers: they inherit the built
engine (copy-on-write), so a worker costs a fork (milliseconds), not an import. The workers are
forked when the pool is entered, before the caller starts any progress thread, and each limits
faiss and OpenCV to one thread (the processes are the parallelism).

Where ``fork`` does not exist (Windows, macOS default), workers are spawned and build the
engine from the picklable :class:`~crawler.engine_builder.EngineSpec`; start-up is then paid per
worker, so the pool is used from :data:`SPAWN_POOL_FROM` files on.

When to use it is decided from data, never from a clock: the number of files and the CPUs this
process may run on. ``benchmarks/likeness_speed.py --only scan`` measures the choice.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from multiprocessing.pool import Pool
from pathlib import Path
from types import TracebackType

from crawler.engine_builder import EngineSpec, build_engine
from matching import Engine
from matching.index import limit_threads, restore_threads, thread_counts
from rightswatch.scan import ScanResult, scan_one

FORK_POOL_FROM = 24
"""Files from which forked workers are used (a fork costs about one file's judging)."""
SPAWN_POOL_FROM = 400
"""Files from which spawned workers are used (each re-imports and rebuilds: seconds)."""
MAX_CHUNK = 8

_ENGINE: list[Engine] = []


def usable_cpus() -> int:
    """CPUs this process may run on (affinity), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def choose_processes(files: int, workers: int = 0) -> int:
    """How many processes a scan of ``files`` files uses (``workers`` > 0 forces it)."""
    if workers > 0:
        return max(1, min(workers, files)) if files else 1
    cpus = usable_cpus()
    threshold = FORK_POOL_FROM if can_fork() else SPAWN_POOL_FROM
    if cpus < 2 or files < threshold:
        return 1
    return min(cpus, max(1, files // (threshold // 2)))


def _init_forked() -> None:
    """Nothing to do: the parent capped its thread pools before forking.

    Resizing OpenCV's pool in a forked child waits for worker threads that exist only in the
    parent, and hangs; so the cap is set in the parent, whose idle pool threads are then
    stopped, and the children inherit it.
    """


def _init_spawned(spec: EngineSpec) -> None:
    limit_threads(1)
    _ENGINE[:] = [build_engine(spec)]


def _scan_path(path: str) -> ScanResult:
    return scan_one(_ENGINE[0], Path(path))


class ScanPool:
    """``with ScanPool(spec, workers=0, files=n) as pool: pool.map(paths)``.

    With one process the engine is built here and files are judged in this process; with more,
    the workers start (fork) when the pool is entered.
    """

    def __init__(self, spec: EngineSpec, *, workers: int = 0, files: int = 0) -> None:
        self.spec = spec
        self.processes = choose_processes(files, workers)
        self.forked = can_fork()
        self._pool: Pool | None = None
        self._threads: tuple[int, int] | None = None

    def __enter__(self) -> ScanPool:
        if self.processes <= 1:
            _ENGINE[:] = [build_engine(self.spec)]
        elif self.forked:
            _ENGINE[:] = [build_engine(self.spec)]
            self._threads = thread_counts()
            limit_threads(1)
            self._pool = multiprocessing.get_context("fork").Pool(
                self.processes, initializer=_init_forked
            )
        else:
            self._pool = multiprocessing.get_context("spawn").Pool(
                self.processes, initializer=_init_spawned, initargs=(self.spec,)
            )
        return self

    def map(self, paths: Sequence[str]) -> Iterator[ScanResult]:
        """Results in the order of ``paths``."""
        if self._pool is None:
            assert _ENGINE, "enter the pool first"
            for path in paths:
                yield scan_one(_ENGINE[0], Path(path))
            return
        chunk = max(1, min(MAX_CHUNK, len(paths) // (self.processes * 4)))
        yield from self._pool.imap(_scan_path, paths, chunksize=chunk)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            if exc_type is None:
                self._pool.close()
            else:
                self._pool.terminate()
            self._pool.join()
            self._pool = None
        if self._threads is not None:
            restore_threads(self._threads)
            self._threads = None
        _ENGINE.clear()


def scan_files(
    files: Sequence[Path], spec: EngineSpec, *, workers: int = 0
) -> Iterator[ScanResult]:
    """Judge every file, in order (``workers`` > 0 forces the number of processes)."""
    with ScanPool(spec, workers=workers, files=len(files)) as pool:
        yield from pool.map([str(p) for p in files])
