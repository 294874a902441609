"""The multiprocess metrics directory: prepared empty, dead workers' live gauges dropped."""

from __future__ import annotations

import subprocess

from feedsvc.web.multiproc import ENV, prepare_metrics_dir
from feedsvc.web.ops.metrics import forget_dead_workers


def test_an_operators_directory_is_emptied_and_a_private_one_made(tmp_path):
    given = tmp_path / "given"
    given.mkdir()
    (given / "counter_12.db").write_bytes(b"x")
    (given / "keep.txt").write_text("not ours")
    env = {ENV: str(given)}
    assert prepare_metrics_dir(env) == given
    assert [p.name for p in given.iterdir()] == ["keep.txt"]
    private: dict[str, str] = {}
    made = prepare_metrics_dir(private)
    assert private[ENV] == str(made) and made.is_dir() and not any(made.iterdir())


def test_live_gauges_of_dead_workers_are_dropped_and_counters_kept(tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that no longer exists
    import os

    for name in (f"gauge_livesum_{gone.pid}.db", f"counter_{gone.pid}.db", f"gauge_livesum_{os.getpid()}.db"):
        (tmp_path / name).write_bytes(b"")
    assert forget_dead_workers(tmp_path) == [gone.pid]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"counter_{gone.pid}.db", f"gauge_livesum_{os.getpid()}.db"])
