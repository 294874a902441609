"""One real site for the whole reader suite: corpus + seeds + taxonomy, built, served, read.

Built once per session (a build, ~100 documents over HTTP and five clients
take a while); every test reads the same results.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CONTENT, CORPUS, REPO
from tests.readers import clients, compare
from tests.readers.expected import Expected, read_sources
from tests.readers.site import (
    Document,
    WebProcess,
    build,
    fetch_documents,
    free_port,
    make_content,
    served_ids,
)

SEEDS = Path(os.environ.get("FEEDSVC_TEST_SEEDS", REPO.parent / "shared" / "seeds"))
ARTIFACTS = Path(os.environ.get("FEEDSVC_TEST_ARTIFACTS", REPO / "test-artifacts"))
CLIENT_ORDER = ("feedparser", "jsonfeed-spec", "newsboat", "rss-parser", "feed-extractor")


@dataclass
class Site:
    base: str
    content: Path
    documents: list[Document]
    sources: list[Expected]

    @property
    def by_id(self) -> dict[str, Expected]:
        return {s.id: s for s in self.sources}

    def served_ids(self) -> dict[str, list[str]]:
        return {d.url: served_ids(d) for d in self.documents}

    def feeds(self, formats: tuple[str, ...]) -> list[tuple[str, str]]:
        return [(d.url, d.fmt) for d in self.documents if d.fmt in formats and d.status == 200]


@dataclass(repr=False)
class Reading:
    tallies: dict[str, compare.Tally]
    skipped: dict[str, str]
    reads: dict[str, list[clients.FeedRead]]

    def __repr__(self) -> str:  # keeps pytest's failure output to the message
        return f"<Reading of {', '.join(self.tallies)}>"


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Site:
    for what, path in (("upstream corpus", CORPUS), ("seed articles", SEEDS)):
        if not path.is_dir():
            pytest.skip(f"the {what} is not beside this checkout ({path}): the reader-conformance "
                        "suite needs the shared corpus and seeds "
                        "(set FEEDSVC_TEST_CORPUS / FEEDSVC_TEST_SEEDS)")
    work = tmp_path_factory.mktemp("readers")
    content = make_content(work / "content", CORPUS, SEEDS, CONTENT / "topics.yml")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = build(content, work, base)
    server = WebProcess(settings, port)
    try:
        server.wait_ready()
        documents = fetch_documents(base)
        yield Site(base, content, documents, read_sources(content, settings.id_authority, base))
    finally:
        server.stop()


@pytest.fixture(scope="session")
def reading(site: Site, tmp_path_factory) -> Reading:
    """Every client over every document it can read, compared with the sources; writes the table."""
    reads: dict[str, list[clients.FeedRead]] = {}
    skipped: dict[str, str] = {}
    reads["feedparser"] = [clients.read_feedparser(u, f)
                           for u, f in site.feeds(clients.CLIENT_FORMATS["feedparser"])]
    reads["jsonfeed-spec"] = [clients.read_jsonfeed(u, f) for u, f in site.feeds(("json",))]
    if clients.newsboat_available():
        reads["newsboat"] = clients.read_all_newsboat(site.feeds(clients.CLIENT_FORMATS["newsboat"]),
                                                      tmp_path_factory.mktemp("newsboat"))
    else:
        skipped["newsboat"] = ("newsboat is not installed "
                               "(scripts/test installs Debian's newsboat when run as root)")
    if (why := clients.node_problem()) is None:
        for read in clients.read_all_node(site.feeds(("rss", "atom", "json"))):
            reads.setdefault(read.client, []).append(read)
    else:
        skipped["rss-parser"] = skipped["feed-extractor"] = why
    by_id, served = site.by_id, site.served_ids()
    tallies = {name: compare.tally(name, clients.CLIENT_FORMATS[name], reads[name], by_id,
                                   clients.IMAGE_FORMATS[name], served)
               for name in CLIENT_ORDER if name in reads}
    report(site, tallies, skipped)
    return Reading(tallies, skipped, reads)


def report(site: Site, tallies: dict[str, compare.Tally], skipped: dict[str, str]) -> None:
    """Print the per-client table (visible with -s) and keep it as test-artifacts/reader-conformance.json."""
    text = compare.table(list(tallies.values()))
    for name, why in skipped.items():
        text += f"\n{name}: skipped ({why})"
    print(f"\nreader conformance over {len(site.documents)} documents at {site.base}:\n{text}\n")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "reader-conformance.json").write_text(json.dumps({
        "documents": [{"path": d.url.removeprefix(site.base), "format": d.fmt, "kind": d.kind,
                       "status": d.status} for d in site.documents],
        "clients": [t.row() for t in tallies.values()],
        "skipped": skipped,
        "problems": {name: dict(t.problems.items()) for name, t in tallies.items()},
        "table": text,
    }, indent=2, ensure_ascii=False) + "\n")
