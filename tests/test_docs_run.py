"""The guides, executed: every shell block of the README and of the tutorial, content,
operations and troubleshooting pages runs as written, in a scratch copy of the
repository, and must print what the page shows (`tests/docrun.py` says how a page
marks what cannot be copied verbatim). A page that drifts from the program fails here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.docrun import Runner, Session, parse_page

PAGES = ["README.md", "docs/tutorial.md", "docs/content.md", "docs/operations.md",
         "docs/troubleshooting.md"]


def _sessions() -> list[tuple[str, Session]]:
    return [(page, session) for page in PAGES
            for session in parse_page((REPO / page).read_text(encoding="utf-8"))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scratch_copy(target: Path) -> None:
    """The repository's files as a fresh clone has them (tracked and new, not ignored)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.fixture
def runner(request, tmp_path: Path) -> Iterator[Runner]:
    session: Session = request.param[1]
    values = {"port": str(_free_port())}
    if "postgresql" in session.requires:
        values["postgres"] = request.getfixturevalue("postgres_url")
    root, state = tmp_path / "feedsvc", tmp_path / "state"
    root.mkdir()
    state.mkdir()
    _scratch_copy(root)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FEEDSVC_", "PROMETHEUS_")) and k not in ("DATABASE_URL", "PORT")}
    env["PATH"] = os.pathsep.join([str(root / ".venv" / "bin"), str(Path(sys.executable).parent),
                                   env.get("PATH", "")])
    env["PORT"] = values["port"]
    env["LC_ALL"] = env["LANG"] = "C.UTF-8"
    run = Runner(root, state, env, values)
    try:
        yield run
    finally:
        run.close()


@pytest.mark.parametrize("runner", _sessions(), indirect=True,
                         ids=[f"{page}:{session.name}" for page, session in _sessions()])
def test_the_page_runs_as_written(runner: Runner, request) -> None:
    page, session = request.node.callspec.params["runner"]
    for step in session.steps:
        where = f"{page}:{step.line}"
        if step.skip is not None:
            continue
        runner.run(step, where)
