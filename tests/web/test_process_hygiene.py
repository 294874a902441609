"""Real processes: a busy port is refused, Ctrl-C stops `web`, and SIGHUP stops `serve`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import httpx
import pytest

from feedsvc.build import Builder
from feedsvc.store import Store
from tests.conftest import CONTENT
from tests.test_clock import start_process, stop, wait_until
from tests.web.test_server import free_port


@pytest.fixture
def built(tmp_path, settings_for):
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    port = free_port()
    settings = settings_for(content, base_url=f"http://127.0.0.1:{port}")
    store = Store(settings.database_url)
    store.create()
    Builder(settings, store).build()
    return settings, port


def answers(port: int, path: str = "/readyz") -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def finished(process: subprocess.Popen, timeout: float = 30) -> int | None:
    return wait_until(lambda: process.poll() is not None, timeout) and process.returncode


@pytest.mark.parametrize("second", ["web", "serve"])
def test_a_second_server_on_a_busy_port_refuses_in_one_line(built, tmp_path, second):
    settings, port = built
    first = start_process(["web", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                          settings, tmp_path / "first.log")
    try:
        assert wait_until(lambda: answers(port), 30), (tmp_path / "first.log").read_text()
        args = ["web", "--workers", "1"] if second == "web" else ["serve"]
        again = start_process([*args, "--host", "127.0.0.1", "--port", str(port)], settings,
                              tmp_path / "second.log")
        try:
            code = finished(again)
        finally:
            stop(again)
        output = (tmp_path / "second.log").read_text().strip().splitlines()
        assert code == 1, output
        assert output == [f"error: port {port} on 127.0.0.1 is already in use (is another feedsvc "
                          "web or serve running? choose another with --port)"]
        # The first one still has every connection.
        assert all(answers(port) for _ in range(20))
    finally:
        stop(first)


def test_a_free_port_after_a_stopped_server_is_not_refused(built, tmp_path):
    settings, port = built
    for run in range(2):  # the second start follows a stop whose connections are in TIME_WAIT
        web = start_process(["web", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                            settings, tmp_path / f"web{run}.log")
        try:
            assert wait_until(lambda: answers(port), 30), (tmp_path / f"web{run}.log").read_text()
            assert answers(port, "/feeds/all.rss")
        finally:
            stop(web)


def test_sighup_stops_serve(built, tmp_path):
    settings, port = built
    serve = start_process(["serve", "--host", "127.0.0.1", "--port", str(port)], settings,
                          tmp_path / "serve.log")
    try:
        assert wait_until(lambda: answers(port), 60), (tmp_path / "serve.log").read_text()
        serve.send_signal(signal.SIGHUP)
        assert finished(serve) == 0, (tmp_path / "serve.log").read_text()
        assert wait_until(lambda: not answers(port), 30)  # its worker is gone too
    finally:
        stop(serve)


def test_ctrl_c_stops_web_and_all_its_workers(built, tmp_path):
    """A terminal's Ctrl-C signals the whole process group, workers included: granian's
    workers, signalled by the terminal and by their parent, used to hang in their
    shutdown more often than not, and the server never exited."""
    settings, port = built
    for run in range(4):
        log = tmp_path / f"web{run}.log"
        web = start_process(["web", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                            settings, log)
        try:
            assert wait_until(lambda: answers(port), 30), log.read_text()
            assert answers(port, "/feeds/all.rss")
            os.killpg(web.pid, signal.SIGINT)
            assert finished(web) == 0, log.read_text()
            assert wait_until(lambda: not answers(port), 30)
        finally:
            stop(web)
