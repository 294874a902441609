"""`feedsvc serve`'s loop: build, serve, and rebuild on every save, in one process.

The clock's scheduler rebuilds on its interval, a watcher rebuilds on every
change to the content directory, and both go through one lock so that two
builds never overlap; the web server runs in the foreground until Ctrl-C. What
to show about each build is the caller's (`on_build`): this module decides when
there is something to show.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from feedsvc.models import BuildStatus
from feedsvc.settings import Settings, as_environment
from feedsvc.watch import ContentWatcher
from feedsvc.web.launch import ServerOptions, run_web_server

if TYPE_CHECKING:
    from feedsvc.clock import Clock
    from feedsvc.models import BuildReport

# Ctrl-C must stop a local run: a granian worker started beside the scheduler's
# threads can stay stuck after serving (seen: waiting on a futex after SIGINT), and
# granian waits for it without limit unless told otherwise.
SERVE_KILL_TIMEOUT_S = 3

# Called after a build worth showing: its report (None: another clock holds the lease
# on this store, so it builds and this process does not) and what caused it.
OnBuild = Callable[["BuildReport | None", str], None]


def hand_settings_to_workers(settings: Settings) -> None:
    """The server's worker process builds its settings from the environment (granian
    imports `create_app` afresh): hand it these, whole (as_environment round-trips
    through load_settings), so it serves what this process builds."""
    os.environ.update(as_environment(settings))


def run_local(settings: Settings, clock: Clock, host: str, port: int, *, watch: bool,
              on_build: OnBuild, on_listening: Callable[[], None] | None = None) -> None:
    """Serve on host:port until stopped, rebuilding on the schedule and (with `watch`)
    on every change. Scheduled builds that changed nothing are not shown.
    `on_listening` runs once the port listens (to print where to go)."""
    one_build_at_a_time = threading.Lock()

    def build(cause: str = "") -> None:
        with one_build_at_a_time:
            result = clock.build_job()
        if result is None or cause or result.status is not BuildStatus.UNCHANGED:
            on_build(result, cause)

    def changed(paths: list[str]) -> None:
        shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        build(cause=f"changed {shown}: ")

    scheduler = clock.scheduler(blocking=False)
    scheduler.modify_job("build", func=build)  # the schedule and the watcher share one lock
    scheduler.start()
    watcher = ContentWatcher(settings.content_dir, changed).start() if watch else None
    try:
        run_web_server(ServerOptions(host, port, workers=1, threads=4,
                                     access_log=settings.access_log,
                                     kill_timeout=SERVE_KILL_TIMEOUT_S, stop_on_hangup=True,
                                     on_listening=on_listening))
    finally:
        if watcher is not None:
            watcher.stop()
        scheduler.shutdown(wait=False)
