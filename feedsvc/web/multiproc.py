"""The shared directory in which every web worker process keeps its metrics.

prometheus-client's multiprocess mode: each worker writes its counters and
histograms to memory-mapped files in `PROMETHEUS_MULTIPROC_DIR`, and a scrape
of any worker adds up every worker's files, so one scrape counts the whole
server. The variable must be set before prometheus-client is imported in a
worker, so the server command sets it here, before forking, and this module
imports nothing of prometheus-client. The directory must start empty (stale
files from an earlier run would be added in), so it is emptied at start-up, and
the private directories of servers killed outright are removed then too.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "feedsvc-metrics-"  # + the server's pid + a random part


def prepare_metrics_dir(environ: MutableMapping[str, str] | None = None) -> Path:
    """Make the metrics directory for a server about to start its workers; return it.

    An operator's `PROMETHEUS_MULTIPROC_DIR` is used (its `*.db` files are
    removed: they belong to an earlier run); otherwise a private temporary
    directory is made, put in the environment the workers inherit, and removed
    when this process exits."""
    env = os.environ if environ is None else environ
    given = env.get(ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
        return path
    remove_abandoned_dirs(Path(tempfile.gettempdir()))
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    env[ENV] = str(path)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def remove_abandoned_dirs(parent: Path) -> list[Path]:
    """Remove the private metrics directories of servers that are no longer running.

    A server removes its own directory when it exits, but not when it is killed
    outright (SIGKILL, the OOM killer): the directory's name carries the server's
    pid, so the next server to start finds and removes what a dead one left."""
    removed = []
    for path in parent.glob(f"{PREFIX}*"):
        pid = path.name[len(PREFIX):].split("-", 1)[0]
        if path.is_dir() and pid.isdigit() and not running(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def running(pid: int) -> bool:
    """Whether process `pid` exists (signal 0 asks without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True
