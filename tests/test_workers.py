"""A build killed outright must not leave its worker processes behind.

Ten SIGKILLed builds once left 19 processes holding 640 MB. This starts a real
`feedsvc build` over enough files for it to start its worker pool, kills the
build alone (not its process group) with SIGKILL, and waits for every process
it had started to go.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_clock import story, wait_until

CEILING = 30.0


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of a live process, None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), fields[0], int(fields[19])


def descendants(root: int) -> dict[int, int]:
    """Every live descendant of root: pid -> start time (to tell a reused pid apart)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _stat(int(entry))
            if info is not None:
                children.setdefault(info[0], []).append(int(entry))
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            info = _stat(child)
            if info is not None and child not in found:
                found[child] = info[2]
                todo.append(child)
    return found


def alive(pid: int, started: int) -> bool:
    info = _stat(pid)
    return info is not None and info[2] == started and info[1] not in ("Z", "X")


def test_workers_die_with_a_killed_build(tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    body = "A paragraph of text. " * 200
    for n in range(6000):  # far above the parallel threshold: the pool starts
        (content / f"a{n:05}.md").write_text(story(n, f"Topic {n % 7}") + body)
    env = {**os.environ, "FEEDSVC_CONTENT_DIR": str(content),
           "FEEDSVC_DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
           "FEEDSVC_CACHE_DIR": str(tmp_path / "cache"), "FEEDSVC_BUILD_WORKERS": "2"}
    build = subprocess.Popen([sys.executable, "-m", "feedsvc.cli", "build"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started: dict[int, int] = {}
    try:
        def workers_running() -> bool:
            started.update(descendants(build.pid))
            workers = [pid for pid in started  # grandchildren: forked by the fork server
                       if (info := _stat(pid)) is not None and info[0] != build.pid]
            return len(workers) >= 2 or build.poll() is not None

        assert wait_until(workers_running, CEILING, step=0.02)
        assert build.poll() is None, "the build finished before its workers were seen"
        os.kill(build.pid, signal.SIGKILL)  # the build alone: no clean-up runs
        build.wait(CEILING)
        started.update(dict(descendants(build.pid).items()))
        gone = wait_until(lambda: not [p for p, t in started.items() if alive(p, t)], CEILING)
        left = [p for p, t in started.items() if alive(p, t)]
        assert gone, f"processes left behind: {left}"
    finally:
        for pid, start in started.items():  # never leak them into the rest of the suite
            if alive(pid, start):
                os.kill(pid, signal.SIGKILL)
        if build.poll() is None:
            build.kill()
            build.wait()


def test_workers_finish_normally_when_the_build_does(tmp_path):
    """The watchdog must not kill a worker of a build that is still running."""
    content = tmp_path / "content"
    content.mkdir()
    for n in range(800):
        (content / f"a{n:04}.md").write_text(story(n))
    env = {**os.environ, "FEEDSVC_CONTENT_DIR": str(content),
           "FEEDSVC_DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
           "FEEDSVC_CACHE_DIR": str(tmp_path / "cache"), "FEEDSVC_BUILD_WORKERS": "2"}
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "feedsvc.cli", "build"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "published generation 1: 800 articles" in result.stdout
    assert time.monotonic() - start < 120


def _threshold() -> tuple[int, int, int]:
    return gc.get_threshold()


def test_build_workers_collect_garbage_less_often():
    """A worker runs only a build's work, at the build's collector thresholds."""
    from feedsvc.workers import BUILD_GC_THRESHOLD, WorkerPool

    with WorkerPool(2) as pool:
        executor = pool.executor()
        assert executor is not None
        assert executor.submit(_threshold).result(timeout=CEILING) == BUILD_GC_THRESHOLD


def test_the_processs_collector_thresholds_come_back_after_a_build():
    """The clock and `serve` build in a long-lived process: after a build, its own
    thresholds are back, including after a build that failed."""
    from feedsvc.workers import BUILD_GC_THRESHOLD, fewer_collections

    before = gc.get_threshold()
    seen = []
    try:
        with fewer_collections():
            seen.append(gc.get_threshold())
            raise RuntimeError("the build failed")
    except RuntimeError:
        pass
    assert seen == [BUILD_GC_THRESHOLD]
    assert gc.get_threshold() == before


# Run in a process of its own: its children, right after start_fork_server, and then
# how many of them are the fork server, once the forked child has become one (exec'd:
# waited for, as a loaded machine may take its time).
_COUNT_SERVERS = """
import os, sys, time
from feedsvc.workers import start_fork_server
start_fork_server(int(sys.argv[1]))
pid = os.getpid()

def children():
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return listing.read().split()

def servers():
    found = 0
    for child in children():
        try:
            with open(f"/proc/{child}/cmdline", "rb") as cmdline:
                found += b"forkserver" in cmdline.read()
        except OSError:
            pass
    return found

forked = len(children())
deadline = time.monotonic() + 60
while forked and not servers() and time.monotonic() < deadline:
    time.sleep(0.01)
print(forked, servers())
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads a process's children from /proc")
@pytest.mark.parametrize(("workers", "servers"), [(2, 1), (1, 0)])
def test_a_build_process_starts_its_fork_server_at_once(workers, servers):
    """`feedsvc build` starts the fork server before it imports the rest of the build
    (its own imports then overlap the server's); with one worker it starts nothing."""
    shown = subprocess.run([sys.executable, "-c", _COUNT_SERVERS, str(workers)],
                           capture_output=True, text=True, check=True)
    forked, found = map(int, shown.stdout.split())
    assert found == servers
    assert (forked > 0) == (workers > 1)
