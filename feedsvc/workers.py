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

import ctypes
import gc
import multiprocessing
import os
import select
import signal
import sys
import threading
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AbstractContextManager
from multiprocessing.context import BaseContext

from feedsvc.interpreter import set_for_a_while

PRELOAD = ["feedsvc.content.parse", "feedsvc.render.entries"]


def worker_count(setting: int) -> int:
    return setting if setting > 0 else (os.cpu_count() or 1)


# The cyclic garbage collector's thresholds while a build runs. A build makes objects by
# the hundred thousand (parse results, the catalog, entry fragments) that live until it
# ends, and next to no cyclic garbage; at Python's default (a young collection every 700
# allocations, each walking every young object) a cold build of 10,000 files collected
# 273 times in its parent alone (0.19 s), and each worker as often. At these, the
# parent collects 22 times (0.07 s).
BUILD_GC_THRESHOLD = (50_000, 20, 50)


def fewer_collections() -> AbstractContextManager[None]:
    """Collect less often for the length of a build; the process's own thresholds after,
    also when two builds overlap (`interpreter.set_for_a_while`).

    For the whole process, as the collector is: in the clock, a link check running
    beside the build collects less often too, which costs it nothing."""
    return set_for_a_while(gc.get_threshold, _set_threshold, BUILD_GC_THRESHOLD)


def _set_threshold(thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(*thresholds)


PR_SET_PDEATHSIG = 1


def _start_worker(build_pid: int) -> None:
    """Worker initializer: a worker only ever does a build's work (see BUILD_GC_THRESHOLD)
    and must not outlive the build."""
    gc.set_threshold(*BUILD_GC_THRESHOLD)
    _die_with(build_pid)


def _die_with(build_pid: int) -> None:
    """Never outlive the build that started this worker.

    A build killed with SIGKILL runs no clean-up, and its workers (children of
    the fork server, not of the build) used to stay alive forever, blocked on
    their task queue. Two guards: the kernel sends SIGKILL when the fork server
    that forked us dies (`PR_SET_PDEATHSIG`; it exits when the build does), and
    a watchdog thread waits on a pidfd of the build itself and exits the moment
    it is gone, whichever process was our parent.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the watchdog remains
            pass
    threading.Thread(target=_watch, args=(build_pid, os.getppid()), name="build-watchdog",
                     daemon=True).start()


def _watch(build_pid: int, parent_pid: int) -> None:
    try:
        fd = os.pidfd_open(build_pid)
    except (AttributeError, OSError):  # older kernels: poll instead
        fd = None
    if fd is not None:
        select.select([fd], [], [])  # readable once the build has exited
        os._exit(1)
    while True:  # pragma: no cover - fallback for systems without pidfd
        if os.getppid() != parent_pid:
            os._exit(1)
        try:
            os.kill(build_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        threading.Event().wait(1.0)


def _fork_server_context() -> BaseContext | None:
    """The fork server's context, preloading PRELOAD; None where there is none (not POSIX)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None  # pragma: no cover - not POSIX
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start_fork_server(workers: int) -> None:
    """Start the fork server that a build's worker processes come from now, not when
    the first files are ready to parse: its first 0.2 s go to importing the parser and
    the renderers (PRELOAD), and a new `feedsvc build` process spends as long importing
    its own modules and opening the store, on the other core. `feedsvc build` calls
    this when there is no parse cache, so every file will be parsed: a build that may
    find nothing changed would pay for a server it does not use (a no-change rebuild
    took 0.34 s instead of 0.28, its process tree 91 MB instead of 44). Long-lived
    processes need not call this: their fork server stays up from build to build."""
    if workers > 1 and _fork_server_context() is not None:
        from multiprocessing import forkserver

        forkserver.ensure_running()


class WorkerPool:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None

    def executor(self) -> Executor | None:
        """The process pool, started on first call; None when running single-process."""
        if self.workers <= 1:
            return None
        if self._executor is None:
            context = _fork_server_context() or multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                                 initializer=_start_worker, initargs=(os.getpid(),))
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
