"""Wall time, CPU time and peak memory of a command's whole process tree.

`/usr/bin/time -v` and a plain `wait4` see one process: a feedsvc build's
forkserver and its workers are grandchildren that the forkserver reaps (or
nobody does), so their CPU time and memory are lost. Here this process
becomes a child subreaper, so every orphaned descendant is re-parented to
it and reaped by it; the CPU figure is then this process's RUSAGE_CHILDREN
delta over the run, which covers every process of the tree. Memory is
sampled: the summed RSS (and PSS, which counts pages shared by forked
workers once) of every process in the tree, every `interval` seconds.
psutil is used when installed, /proc otherwise.
"""

from __future__ import annotations

import ctypes
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from build import _descendants  # noqa: E402
from common import rss_kb  # noqa: E402

try:
    import psutil
except ImportError:  # pragma: no cover - depends on the venv
    psutil = None

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux prctl), so their rusage reaches us when reaped."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _children_of_self() -> set[int]:
    if psutil is not None:
        return {p.pid for p in psutil.Process().children()}
    return {pid for pid in _descendants(os.getpid()) if _parent(pid) == os.getpid()}


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def _tree(roots: set[int]) -> set[int]:
    found = set(roots)
    if psutil is not None:
        for pid in roots:
            try:
                found.update(p.pid for p in psutil.Process(pid).children(recursive=True))
            except psutil.Error:
                continue
        return found
    for pid in roots:
        found.update(_descendants(pid))
    return found


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def reap_zombies() -> None:
    """Reap dead adopted orphans (say, a stopped server's workers) before a measurement,
    so their CPU time does not land in the next run's RUSAGE_CHILDREN delta."""
    for pid in _children_of_self():
        if _zombie(pid):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class TreeRun:
    returncode: int
    wall_s: float
    cpu_s: float          # user + system of every process in the tree
    user_s: float
    sys_s: float
    peak_rss_mb: float    # summed over the tree, sampled
    peak_pss_mb: float    # the same with shared pages counted once
    peak_processes: int
    stdout: str
    stderr: str


class _Sampler(threading.Thread):
    def __init__(self, exclude: set[int], interval: float) -> None:
        super().__init__(daemon=True)
        self.exclude, self.interval = exclude, interval
        self.peak_rss = self.peak_pss = self.peak_count = 0
        self.done = threading.Event()

    def sample(self) -> None:
        pids = _tree(_children_of_self() - self.exclude)
        rss = sum(rss_kb(pid) for pid in pids)
        pss = sum(_pss_kb(pid) for pid in pids)
        self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
        self.peak_count = max(self.peak_count, len(pids))

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.interval)


def run_tree(command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
             interval: float = 0.1, reap_timeout: float = 60.0) -> TreeRun:
    """Run `command` to completion and measure its whole tree (call become_subreaper() first).

    Children this process already had (servers started earlier) are left
    out of the memory samples; they are not reaped here, so their CPU
    time is not in the delta either.
    """
    reap_zombies()
    before = _children_of_self()
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler = _Sampler(before, interval)
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    sampler.start()
    try:
        out, err = process.communicate()
        wall = time.perf_counter() - started
        deadline = time.monotonic() + reap_timeout
        while True:  # orphans of the tree (forkserver, workers) were re-parented to us
            left = _children_of_self() - before
            if not left:
                break
            for pid in left:
                try:
                    if os.waitpid(pid, os.WNOHANG)[0] == 0 and time.monotonic() > deadline:
                        os.kill(pid, 9)
                except ChildProcessError:
                    continue
            time.sleep(0.02)
    finally:
        sampler.done.set()
        sampler.join()
        if process.poll() is None:  # interrupted: leave nothing running
            process.kill()
            process.wait()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = usage.ru_utime - usage_before.ru_utime
    system = usage.ru_stime - usage_before.ru_stime
    return TreeRun(process.returncode, wall, user + system, user, system,
                   sampler.peak_rss / 1024, sampler.peak_pss / 1024, sampler.peak_count, out, err)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
