"""Every document of a site, rendered from a catalog: feeds, archives, OPML.

Each document gets a render key: a hash of everything its bytes depend on.
When the key matches the previous generation's, the document is not rendered
again (its body is reused by the store), so a rebuild after editing one
article renders only the handful of documents that contain it.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from feedsvc.catalog import ALL, Catalog
from feedsvc.models import Article, Topic
from feedsvc.render.common import FeedOptions, Page, item_link, newest_update, paginate
from feedsvc.render.documents import json_document, xml_document
from feedsvc.render.entries import Fragments, render_fragments
from feedsvc.render.opml import render_opml
from feedsvc.urls import FEED_FORMATS, OPML_PATH, archive_path, feed_path, media_type_for

PARALLEL_THRESHOLD = 2000
BATCH = 500


@dataclass(frozen=True, slots=True)
class Document:
    path: str
    media_type: str
    updated: datetime
    key: str
    body: bytes | None  # None: unchanged since the previous generation, reuse its body


def all_topic(options: FeedOptions) -> Topic:
    return Topic(ALL, options.site_title, options.site_description)


def _entry_key(article: Article, options: FeedOptions) -> str:
    return "\x1f".join((article.id, article.fingerprint, article.source, ",".join(article.topics),
                        item_link(article, options.urls)))


def _topics_fingerprint(topics: Mapping[str, Topic]) -> str:
    return repr([(t.slug, t.title) for t in topics.values()])


def _page_key(base: bytes, topic: Topic, page: Page, fmt: str, options: FeedOptions) -> str:
    digest = hashlib.blake2b(base, digest_size=16)
    digest.update(repr((fmt, topic.slug, topic.title, topic.description, page.number,
                        page.prev_archive, page.next_archive)).encode())
    for article in page.articles:
        digest.update(_entry_key(article, options).encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


def _render_batch(args: tuple[list[Article], dict[str, Topic], FeedOptions]) -> list[Fragments]:
    return render_fragments(*args)


def _fragments_for(articles: list[Article], topics: dict[str, Topic], options: FeedOptions,
                   workers: int) -> dict[str, Fragments]:
    batches = [articles[i:i + BATCH] for i in range(0, len(articles), BATCH)]
    if workers > 1 and len(articles) >= PARALLEL_THRESHOLD:
        mp = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp) as pool:
            results = list(pool.map(_render_batch, [(b, topics, options) for b in batches]))
    else:
        results = [render_fragments(b, topics, options) for b in batches]
    out: dict[str, Fragments] = {}
    for batch, fragments in zip(batches, results):
        for article, fragment in zip(batch, fragments):
            out[article.id] = fragment
    return out


def render_site(catalog: Catalog, options: FeedOptions, previous: Mapping[str, str] | None = None,
                *, workers: int = 1) -> list[Document]:
    """All documents, in path order; bodies only for those whose key changed."""
    previous = previous or {}
    base = (options.key + _topics_fingerprint(catalog.topics)).encode()
    feeds = [(all_topic(options), catalog.articles)]
    feeds += [(topic, catalog.by_topic[slug]) for slug, topic in catalog.topics.items()]

    planned: list[tuple[str, str, Topic, Page, str]] = []
    for topic, articles in feeds:
        for page in paginate(topic.slug, articles, options.feed_size):
            for fmt in FEED_FORMATS:
                path = archive_path(topic.slug, page.number, fmt) if page.is_archive else feed_path(topic.slug, fmt)
                planned.append((path, _page_key(base, topic, page, fmt, options), topic, page, fmt))

    needed: dict[str, Article] = {}
    for path, key, _, page, _ in planned:
        if previous.get(path) != key:
            for article in page.articles:
                needed.setdefault(article.id, article)
    fragments = _fragments_for(list(needed.values()), catalog.topics, options, workers)

    documents: list[Document] = []
    for path, key, topic, page, fmt in planned:
        body = None
        if previous.get(path) != key:
            if fmt == "json":
                body = json_document(topic, page, options, [fragments[a.id].json for a in page.articles])
            else:
                body = xml_document(topic, page, options, fmt,
                                    [getattr(fragments[a.id], fmt) for a in page.articles])
        documents.append(Document(path, media_type_for(path), newest_update(page.articles), key, body))

    opml_topics = [(topic, len(articles)) for topic, articles in feeds]
    updated = newest_update(catalog.articles)
    opml = render_opml(opml_topics, options, updated)
    documents.append(Document(OPML_PATH, media_type_for(OPML_PATH), updated,
                              hashlib.blake2b(opml, digest_size=16).hexdigest(), opml))
    documents.sort(key=lambda d: d.path)
    return documents
