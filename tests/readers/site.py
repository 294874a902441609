"""The site the readers subscribe to: real corpus, real build, real HTTP on loopback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from lxml import etree

from feedsvc.build import Builder
from feedsvc.settings import Settings, load_settings
from feedsvc.store import Store

ATOM = "http://www.w3.org/2005/Atom"
FORMATS = ("rss", "atom", "json")


@dataclass(frozen=True)
class Document:
    """One feed document as a reader received it."""

    url: str
    fmt: str            # rss | atom | json
    kind: str           # subscription | archive
    status: int
    headers: dict[str, str]
    body: bytes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_content(target: Path, corpus: Path, seeds: Path, topics: Path) -> Path:
    """The upstream corpus, both seed files and the repo's taxonomy, in one content directory."""
    target.mkdir(parents=True)
    shutil.copytree(corpus, target / "smartable")
    for seed in sorted(seeds.glob("*.txt")):
        shutil.copy2(seed, target / seed.name)
    shutil.copy2(topics, target / "topics.yml")
    return target


def build(content: Path, work: Path, base_url: str) -> Settings:
    settings = load_settings(env={}, content_dir=content, database_url=f"sqlite:///{work / 'store.sqlite3'}",
                             cache_dir=work / "cache", base_url=base_url,
                             id_authority="feedsvc.test,2026", build_workers=1)
    store = Store(settings.database_url)
    store.create()
    report = Builder(settings, store).build()
    store.close()
    if report.generation is None:
        raise AssertionError(f"the build published nothing: {report}")
    return settings


class WebProcess:
    """`feedsvc web` (the Procfile's server) on a loopback port, as its own process."""

    def __init__(self, settings: Settings, port: int) -> None:
        bin_dir = str(Path(sys.executable).parent)
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
               "FEEDSVC_DATABASE_URL": settings.database_url, "FEEDSVC_BASE_URL": settings.base_url}
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [str(Path(bin_dir) / "feedsvc"), "web", "--host", "127.0.0.1", "--port", str(port)],
            env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def wait_ready(self, ceiling: float = 30.0) -> None:
        deadline = time.monotonic() + ceiling
        while True:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1, trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                output = self.process.stdout.read().decode(errors="replace") if self.process.stdout else ""
                raise AssertionError(f"feedsvc web did not become ready in {ceiling:.0f} s:\n{output}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def served_ids(doc: Document) -> list[str]:
    """The entry ids a document holds, read from its bytes (Atom id, RSS guid, JSON id)."""
    if doc.status != 200:
        return []
    if doc.fmt == "json":
        return [item.get("id") for item in json.loads(doc.body).get("items", [])]
    root = etree.fromstring(doc.body)
    if doc.fmt == "atom":
        return [(e.findtext(f"{{{ATOM}}}id") or "").strip() for e in root.iter(f"{{{ATOM}}}entry")]
    return [(item.findtext("guid") or "").strip() for item in root.iter("item")]


def _prev_archive(doc: Document) -> str | None:
    """The RFC 5005 link a reader follows to older entries (JSON Feed: next_url)."""
    if doc.status != 200:
        return None
    if doc.fmt == "json":
        return json.loads(doc.body).get("next_url")
    root = etree.fromstring(doc.body)
    channel = root.find("channel")
    parent = channel if channel is not None else root
    for link in parent.findall(f"{{{ATOM}}}link"):
        if link.get("rel") == "prev-archive":
            return link.get("href")
    return None


def fetch_documents(base: str) -> list[Document]:
    """Every subscription feed the API lists, and every archive page reachable from them."""
    documents: list[Document] = []
    seen: set[str] = set()
    with httpx.Client(trust_env=False, timeout=30, headers={"Accept-Encoding": "identity"}) as http:
        topics = http.get(f"{base}/api/topics").raise_for_status().json()["topics"]

        def get(url: str, fmt: str, kind: str) -> Document:
            response = http.get(url)
            doc = Document(url, fmt, kind, response.status_code, dict(response.headers), response.content)
            documents.append(doc)
            seen.add(url)
            return doc

        for topic in topics:
            for fmt in FORMATS:
                doc = get(topic["feeds"][fmt], fmt, "subscription")
                older = _prev_archive(doc)
                while older and older not in seen:
                    if not older.startswith(base + "/"):
                        raise AssertionError(f"{doc.url}: archive link {older} leaves the site")
                    doc = get(older, fmt, "archive")
                    older = _prev_archive(doc)
    return documents
