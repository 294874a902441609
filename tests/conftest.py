"""Shared fixtures: settings over temporary directories, the real corpus, content writers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from feedsvc.content import ParseContext
from feedsvc.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
CONTENT = REPO / "content"
CORPUS = Path(os.environ.get("FEEDSVC_TEST_CORPUS", REPO.parent / "shared" / "corpus" / "smartable"))


@pytest.fixture
def ctx() -> ParseContext:
    return ParseContext("feedsvc.test,2026", "https://feeds.test", 1_048_576)


@pytest.fixture
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the upstream corpus is not beside this checkout ({CORPUS}); "
                    "set FEEDSVC_TEST_CORPUS to run the real-world tests")
    return CORPUS


@pytest.fixture
def settings_for(tmp_path: Path):
    """Settings over a given content directory with a private store and cache."""

    def make(content_dir: Path, **overrides) -> Settings:
        return load_settings(env={}, **{
            "content_dir": content_dir,
            "database_url": f"sqlite:///{tmp_path / 'store.sqlite3'}",
            "cache_dir": tmp_path / "cache",
            "base_url": "https://feeds.test",
            "id_authority": "feedsvc.test,2026",
            "build_workers": 1,
            **overrides,
        })

    return make


@pytest.fixture
def write(tmp_path: Path):
    """Write a file under tmp_path/content and return the content directory."""
    root = tmp_path / "content"
    root.mkdir(exist_ok=True)

    def write_file(name: str, text: str | bytes) -> Path:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return root

    write_file.root = root  # type: ignore[attr-defined]
    return write_file
