"""The shared directory in which every web worker process keeps its metrics.

prometheus-client's multiprocess mode: each worker writes its counters and
histograms to memory-mapped files in `PROMETHEUS_MULTIPROC_DIR`, and a scrape
of any worker adds up every worker's files, so one scrape counts the whole
server. The variable must be set before prometheus-client is imported in a
worker, so the server command sets it here, before forking, and this module
imports nothing of prometheus-client. The directory must start empty (stale
files from an earlier run would be added in), so it is emptied at start-up.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


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
    path = Path(tempfile.mkdtemp(prefix="feedsvc-metrics-"))
    env[ENV] = str(path)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
