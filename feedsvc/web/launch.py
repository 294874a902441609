"""Starting the web process: `create_app()` under granian, in the foreground.

The CLI decides what to serve; this module knows how a server is started so that
slow clients cannot starve the others (`granian_limits`), so that all workers
share one /metrics (the metrics directory is prepared before they fork), so
that a second server on a busy port is refused rather than sharing it, and so
that Ctrl-C stops its workers (`worker_app`).
granian is the only server: see "Why granian" in docs/operations.md.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from feedsvc.settings import Settings, load_settings
from feedsvc.web.listening import ensure_port_free, wait_until_accepting

if TYPE_CHECKING:
    from flask import Flask


# Seconds a stopping worker has to answer what it has in flight (feed answers take
# milliseconds) before granian kills it; a worker stalled in granian's own shutdown
# (see worker_app) is killed then too, losing what it counted since its last flush
# (a second of request counts, a few seconds of feed polls).
WEB_KILL_TIMEOUT_S = 5
# Seconds `on_listening` waits for a worker to accept: far beyond any start-up here.
LISTEN_CEILING_S = 120.0


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """How many processes and threads serve, and where. `kill_timeout`: seconds granian
    waits for a stopping worker before killing it. `on_listening` runs (in a thread
    of its own) once the port accepts connections, so a URL it prints works at once."""

    host: str
    port: int
    workers: int = 1
    threads: int = 4
    access_log: bool = False
    kill_timeout: int = WEB_KILL_TIMEOUT_S
    stop_on_hangup: bool = False
    on_listening: Callable[[], None] | None = None


def run_web_server(options: ServerOptions) -> None:
    """Run create_app() under granian until it is stopped.

    A busy port is refused (PortInUse) before the server starts. granian answers
    SIGHUP by respawning its workers; with `stop_on_hangup` (serve, which runs in a
    terminal) SIGHUP stops it like SIGTERM, so closing the terminal does not leave
    it running in the background.
    """
    ensure_port_free(options.host, options.port)
    from granian import Granian
    from granian.constants import Interfaces

    from feedsvc.web.multiproc import prepare_metrics_dir

    prepare_metrics_dir()  # before the workers start: one /metrics for all of them
    granian = Granian("feedsvc.web.launch:worker_app", factory=True, interface=Interfaces.WSGI,
                      address=options.host, port=options.port, workers=options.workers,
                      blocking_threads=options.threads, respawn_failed_workers=True,
                      log_access=options.access_log, workers_kill_timeout=options.kill_timeout,
                      **granian_limits(load_settings()))
    if options.stop_on_hangup:  # granian installs its handlers in serve(), from these attributes
        granian.signal_handler_reload = granian.signal_handler_interrupt  # type: ignore[method-assign]
    if options.on_listening is not None:
        granian.on_startup(partial(_when_accepting, options))  # once, just before workers spawn
    granian.serve()


def _when_accepting(options: ServerOptions) -> None:
    """Call `options.on_listening` from a thread once a worker accepts connections."""
    def wait() -> None:
        if wait_until_accepting(options.host, options.port, LISTEN_CEILING_S) and options.on_listening:
            options.on_listening()

    threading.Thread(target=wait, name="feedsvc-listening", daemon=True).start()


def worker_app() -> Flask:
    """`create_app()` in a granian worker, with SIGINT blocked in all its threads.

    Ctrl-C in a terminal (like `kill -INT -PGID`) signals the whole process
    group: granian's parent, which then stops each worker with SIGTERM, and the
    workers themselves. A granian 2.8 worker signalled twice like that often
    never finishes stopping (9 of 12 times with a bare WSGI app and two workers;
    0 of 12 when only the parent is signalled, or the group with SIGTERM), and
    Ctrl-C left the server hanging. granian loads the app in the worker's main
    thread before it starts the worker's runtime threads, which inherit this
    thread's signal mask, so a worker is stopped by its parent alone. A worker
    can still stall in granian's shutdown now and then (its stop handler runs
    in whichever thread the kernel picks): `WEB_KILL_TIMEOUT_S` bounds that.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    from feedsvc.web import create_app

    return create_app()


def granian_limits(settings: Settings) -> dict[str, Any]:
    """granian's connection limits, so slow clients cannot starve the others.

    granian admits at most `backpressure` connections per worker, counting those
    still sending their headers; with its default (backlog / workers) a few
    thousand half-sent requests from one address held every slot for the
    30 s header-read timeout, and normal requests waited or timed out. Idle
    connections cost the server little (no Python thread is involved until the
    headers are complete), so the slots are many, and a client gets
    FEEDSVC_WEB_HEADER_TIMEOUT to finish its headers. Keep-alive stays on: the
    header-read timeout applies to each request on a kept-alive connection too.
    """
    from granian.http import HTTP1Settings

    return {"backlog": settings.web_backlog, "backpressure": settings.web_max_connections,
            "http1_settings": HTTP1Settings(
                header_read_timeout=max(1, round(settings.web_header_timeout * 1000)),
                keep_alive=True)}


@dataclass(frozen=True, slots=True)
class Answer:
    """One response of the app, answered in-process."""

    status_code: int
    status: str
    body: bytes


def answer_one_request(settings: Settings, path: str) -> Answer:
    """datasette's `--get`: the app answers one GET in-process, no socket, no workers."""
    from feedsvc.web import create_app

    response = create_app({"FEEDSVC_SETTINGS": settings}).test_client().get(path)
    return Answer(response.status_code, response.status, response.get_data())
