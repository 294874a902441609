"""One pool of worker processes, shared by the phases of a build.

Parsing YAML and rendering entries are CPU-bound Python, so they need
processes, not threads, to use more than one core. Starting a pool costs a
few hundred milliseconds, so it is created only when a phase has enough work
to repay it, and reused by the next phase of the same build. Workers come from
a fork server that has already imported the parsing and rendering modules:
safe in a process that also runs threads (the scheduler, the web server), and
quick to start.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor

PRELOAD = ["feedsvc.content.parse", "feedsvc.render.entries"]


def worker_count(setting: int) -> int:
    return setting if setting > 0 else (os.cpu_count() or 1)


class WorkerPool:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None

    def executor(self) -> Executor | None:
        """The process pool, started on first call; None when running single-process."""
        if self.workers <= 1:
            return None
        if self._executor is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(PRELOAD)
            else:  # pragma: no cover - not POSIX
                context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
