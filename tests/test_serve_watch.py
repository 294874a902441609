"""`feedsvc serve` in a real terminal: save a file, see the feed change and the problem.

The command runs under a pseudo-terminal (what an editor's terminal is), serves
on a loopback port the OS chose, and is driven only through the file system and
HTTP. Every wait is for an event, with a generous ceiling; the time from the
write to the feed holding the new article is measured against the 3-second bar
(`hugo server` republishes on save; five minutes of scheduled rebuild is not an
editing loop).
"""

from __future__ import annotations

import os
import pty
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import CONTENT

CEILING_S = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Terminal:
    """A process on a pseudo-terminal, its output collected as it comes."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        self.process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=slave, stdout=slave,
                                        stderr=slave, start_new_session=True)
        os.close(slave)
        self.master = master
        self.output = b""
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the process closed the terminal
                chunk = b""
            with self.changed:
                self.output += chunk
                self.changed.notify_all()
            if not chunk:
                return

    def wait_for(self, text: str, timeout: float = CEILING_S) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while text.encode() not in self.output:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    pytest.fail(f"{text!r} never appeared on the terminal:\n{self.text}")
                self.changed.wait(left)

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace").replace("\r\n", "\n")

    def interrupt(self) -> int:
        """Ctrl-C, as a person stops it (to the whole process group, as a terminal
        sends it); SIGKILL after the ceiling. The exit status (-9 if it was killed)."""
        if self.process.poll() is not None:
            return self.process.returncode
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(CEILING_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait(CEILING_S)


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
            return bytes(response.read())
    except OSError:
        return None


def _poll(url: str, found: bytes, timeout: float = CEILING_S) -> float:
    """Seconds until GET url holds `found` (fails after `timeout`)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        body = _get(url)
        if body is not None and found in body:
            return time.monotonic() - start
        time.sleep(0.05)  # the polling step; the ceiling is what bounds the wait
    pytest.fail(f"{url} did not hold {found!r} within {timeout} s")


def _start_serve(tmp_path: Path) -> tuple[Terminal, int]:
    """`feedsvc serve` on a copy of the bundled content, on a terminal of its own."""
    shutil.copytree(CONTENT, tmp_path / "content")
    port = _free_port()
    env = {**os.environ, "FEEDSVC_DATABASE_URL": f"sqlite:///{tmp_path}/store.sqlite3",
           "FEEDSVC_CACHE_DIR": str(tmp_path / "cache"), "FEEDSVC_BUILD_WORKERS": "1",
           "FEEDSVC_BASE_URL": f"http://127.0.0.1:{port}", "TERM": "xterm"}
    terminal = Terminal([sys.executable, "-m", "feedsvc.cli", "serve", "--content", "content",
                         "--port", str(port)], tmp_path, env)
    return terminal, port


@pytest.fixture
def serving(tmp_path):
    terminal, port = _start_serve(tmp_path)
    try:
        terminal.wait_for("Watching content for changes")
        _poll(f"http://127.0.0.1:{port}/healthz", b"")
        yield terminal, tmp_path / "content", f"http://127.0.0.1:{port}"
    finally:
        terminal.interrupt()
        os.close(terminal.master)


def test_the_addresses_serve_prints_answer_as_soon_as_they_are_shown(tmp_path):
    """Someone who opens the printed address at once gets the site, not a refused
    connection: granian's port listens only once a worker has started."""
    terminal, port = _start_serve(tmp_path)
    try:
        terminal.wait_for(f"Feeds:  http://127.0.0.1:{port}/feeds/all.atom")
        body = _get(f"http://127.0.0.1:{port}/feeds/all.atom")  # once, no retry
        assert body is not None and b"<feed" in body, terminal.text
    finally:
        terminal.interrupt()
        os.close(terminal.master)


ARTICLE = """---
title: Saved a moment ago
tite: misspelt on purpose
date: 2026-11-30T09:00:00Z
url: https://example.org/saved-a-moment-ago
topics: [Privacy]
---
Written while serve was running.
"""


def test_a_saved_file_is_served_within_seconds_with_its_problems_on_the_terminal(serving):
    terminal, content, base = serving
    assert b"Saved a moment ago" not in (_get(f"{base}/feeds/all.atom") or b"")
    (content / "2026-11-30-saved.md").write_text(ARTICLE, encoding="utf-8")
    # Seen in the feed within the ceiling, published by the watcher (the terminal's
    # "changed" line below): how long it took is printed, not raced.
    latency = _poll(f"{base}/feeds/all.atom", b"Saved a moment ago")
    print(f"save-to-feed latency: {latency:.2f} s")
    terminal.wait_for("content/2026-11-30-saved.md:3: warning: unknown field `tite` "
                      "(did you mean `title`?); it is ignored")
    assert "changed 2026-11-30-saved.md: published generation 2" in terminal.text

    # `sed -i` writes a temporary file beside it and renames it over the article: the
    # terminal names the article alone, not the temporary file.
    subprocess.run(["sed", "-i", "s/Written while/Edited while/", "2026-11-30-saved.md"],
                   cwd=content, check=True)
    terminal.wait_for("published generation 3")
    [line] = [x for x in terminal.text.splitlines() if "published generation 3" in x]
    assert "changed 2026-11-30-saved.md: published generation 3" in line, line

    # A save that breaks the file: its problem (path, line, reason) shows, the article goes.
    (content / "2026-11-30-saved.md").write_text(
        ARTICLE.replace("https://example.org/saved-a-moment-ago", "javascript:alert(1)"))
    terminal.wait_for("content/2026-11-30-saved.md:5: error: `url`: 'javascript:alert(1)' "
                      "uses the scheme 'javascript'")
    start = time.monotonic()
    while b"Saved a moment ago" in (_get(f"{base}/feeds/all.atom") or b""):
        assert time.monotonic() - start < CEILING_S, "the broken article stayed in the feed"
        time.sleep(0.05)

    # Ctrl-C stops it, without needing a kill.
    assert terminal.interrupt() == 0, terminal.text
