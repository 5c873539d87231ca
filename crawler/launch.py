"""Start and watch one crawl child process: the one launcher for local runs and shards alike.

Twisted's reactor cannot be restarted in a process (stack.md §5), so every crawl is a child,
``python -m crawler.crawl - REPORT.json``, hardened the same way wherever it is started:

- the plan goes in on stdin, so the case file's URL (and any password in it) is never written
  to disk; ``plan.json`` beside the run is a redacted copy for people, mode 0600;
- the run folder is created 0700; the child's stderr goes to ``log_file``;
- the child dies with its parent (``PR_SET_PDEATHSIG`` on Linux), so a killed worker or CLI
  never leaves an orphan crawling;
- an optional timeout kills it; Ctrl-C or any error in the parent kills it too;
- it does not inherit the workers' message secret (it parses hostile pages);
- each line of its stdout (progress) is handed to ``on_line``.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from crawler.plan import CrawlPlan
from evidence.folders import private_folder, write_private
from evidence.redact import redact_mapping

PR_SET_PDEATHSIG = 1
# environment a crawl child must not see (it parses hostile content)
WITHHELD_ENV = ("RIGHTSWATCH_WORKER_SECRET", "RIGHTSWATCH_WORKER_SECRET_FILE")


@dataclass(frozen=True)
class ChildOutcome:
    """How a crawl child ended."""

    code: int
    timed_out: bool
    report_file: Path
    log_file: Path

    def error(self, timeout_s: float | None) -> str | None:
        """None when the child exited 0 and wrote its report; else why not, in one line."""
        if self.timed_out:
            return f"crawl timed out after {timeout_s or 0:.0f}s and was stopped"
        if self.code != 0:
            return f"crawl process exited with status {self.code}; see {self.log_file}"
        if not self.report_file.exists():
            return f"crawl process wrote no report; see {self.log_file}"
        return None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The crawl child's environment: ours without the workers' message secret."""
    env = {k: v for k, v in environ.items() if k not in WITHHELD_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def redacted_plan(plan: CrawlPlan) -> str:
    """The plan as JSON with every credential masked (what may be written down)."""
    return json.dumps(redact_mapping(json.loads(plan.to_json())), sort_keys=True, indent=1)


def launch_crawl_child(
    plan: CrawlPlan,
    folder: Path,
    *,
    log_file: Path,
    on_line: Callable[[str], None] | None = None,
    timeout_s: float | None = None,
    on_start: Callable[[int], None] | None = None,
) -> ChildOutcome:
    """Run ``plan`` in a child process with its files in ``folder``; wait for it to end.

    ``on_start`` gets the child's pid as soon as it runs (the run row records it).
    """
    private_folder(plan.output_dir)
    private_folder(folder)
    report_file = folder / "report.json"
    write_private(folder / "plan.json", redacted_plan(plan))
    env = child_environment(os.environ)
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    with log_file.open("ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "crawler.crawl", "-", str(report_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
            preexec_fn=preexec,  # only prctl(2) between fork and exec
        )
        if on_start is not None:
            on_start(child.pid)
        timed_out = threading.Event()

        def stop_child() -> None:
            timed_out.set()
            child.kill()

        watchdog = threading.Timer(timeout_s, stop_child) if timeout_s else None
        if watchdog is not None:
            watchdog.start()
        try:
            assert child.stdin is not None and child.stdout is not None
            try:
                child.stdin.write(plan.to_json())
                child.stdin.close()
            except BrokenPipeError:
                pass  # the child died before reading; its exit status says why
            for line in child.stdout:
                if on_line is not None:
                    on_line(line)
            code = child.wait()
        except BaseException:
            child.kill()
            child.wait()
            raise
        finally:
            if watchdog is not None:
                watchdog.cancel()
            if child.stdout is not None:
                child.stdout.close()
    return ChildOutcome(
        code=code, timed_out=timed_out.is_set(), report_file=report_file, log_file=log_file
    )
