"""Every document of a site, rendered from a catalog: feeds, archives, OPML.

Each document gets a render key: a hash of everything its bytes depend on.
When the key matches the previous generation's, the document is not rendered
again (its body is reused by the store), so a rebuild after editing one
article renders only the handful of documents that contain it.

Documents are produced lazily, one page (three formats) at a time, newest
pages first. Entry fragments, and the topic pages' list items, are rendered
ahead in batches (in worker processes when there are many) and dropped as
soon as the last document that needs them has been assembled: a cold build
of 100,000 articles never holds every feed in memory. Feed pages come newest
first, so few fragments wait long; topic pages come topic by topic, so an
item may wait for the page of the article's last topic.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Generic, TypeVar

from feedsvc.catalog import ALL, Catalog
from feedsvc.models import Article, ArticleLink, Document, Topic
from feedsvc.render.api import render_api_topics
from feedsvc.render.charts import articles_per_month
from feedsvc.render.common import (
    EPOCH,
    RENDER_VERSION,
    FeedOptions,
    Page,
    item_link,
    newest_update,
    paginate,
)
from feedsvc.render.formats import feed_formats, format_names, media_type_for, render_entries
from feedsvc.render.html import (
    INDEX_LATEST,
    page_count,
    render_article,
    render_index,
    render_list_items,
    render_search_index,
    render_topic,
    template_source,
    topic_page_articles,
)
from feedsvc.render.icons import favicon_ico, icon_png, logo_png
from feedsvc.render.opml import render_opml
from feedsvc.urls import (
    API_TOPICS_PATH,
    ARTICLES_CHART_PATH,
    FAVICON_PATH,
    ICON_PATH,
    INDEX_PATH,
    LOGO_PATH,
    OPML_PATH,
    SEARCH_INDEX_PATH,
    STYLESHEET_PATH,
    archive_path,
    article_html_path,
    feed_path,
    topic_opml_path,
    topic_page_html_path,
)
from feedsvc.workers import WorkerPool

PARALLEL_THRESHOLD = 2000
BATCH = 400
LOOKAHEAD_BATCHES = 4
PARALLEL_PAGES = 40  # changed HTML pages worth sending to the workers
LOOKAHEAD_PAGES = 16


@dataclass(frozen=True, slots=True)
class _PlannedPage:
    topic: Topic
    page: Page
    keys: dict[str, str]  # format -> render key
    updated: datetime

    def path(self, fmt: str) -> str:
        if self.page.is_archive:
            return archive_path(self.page.slug, self.page.number, fmt)
        return feed_path(self.page.slug, fmt)


def all_topic(options: FeedOptions) -> Topic:
    return Topic(ALL, options.site_title, options.site_description)


def _topics_fingerprint(topics: Mapping[str, Topic]) -> str:
    return repr([(t.slug, t.title) for t in topics.values()])


def _entry_keys(catalog: Catalog, options: FeedOptions) -> dict[str, bytes]:
    """Per article, a digest of everything about it that shows in any document (feed
    entry, page item, chart): source bytes, topics, where it links, the dead-link note.

    A digest, not the joined text: the text was held for every article for the whole
    render (16 MB at 100,000 files) and hashed again by every page that lists it."""
    return {article.id: hashlib.blake2b("\x1f".join((
        article.id, article.fingerprint, article.source, ",".join(article.topics),
        article.published.isoformat(), item_link(article, options.urls),
        article.link_note or "")).encode(), digest_size=16).digest()
        for article in catalog.articles}


def _plan(catalog: Catalog, options: FeedOptions, entry_keys: Mapping[str, bytes],
          now: datetime) -> list[_PlannedPage]:
    base = (options.key + _topics_fingerprint(catalog.topics)).encode()
    feeds = [(all_topic(options), catalog.articles)]
    feeds += [(topic, catalog.by_topic[slug]) for slug, topic in catalog.topics.items()]
    planned: list[_PlannedPage] = []
    for topic, articles in feeds:
        for page in paginate(topic.slug, articles, options.feed_size):
            digest = hashlib.blake2b(base, digest_size=16)
            digest.update(repr((topic.slug, topic.title, topic.description, page.number,
                                page.prev_archive, page.next_archive)).encode())
            digest.update(b"".join(entry_keys[a.id] for a in page.articles))
            page_key = digest.digest()
            keys = {fmt: hashlib.blake2b(page_key + fmt.encode(), digest_size=16).hexdigest()
                    for fmt in format_names()}
            planned.append(_PlannedPage(topic, page, keys, newest_update(page.articles, now)))
    return planned


_T = TypeVar("_T")


class _Supply(Generic[_T]):
    """What each article contributes to many documents (its entry in every format, its
    item in a topic page's list), rendered once per build: in first-use order, a few
    batches ahead (in the worker processes when there are enough articles to repay
    sending them), and freed after the last document that takes it.

    `render` turns a batch of articles into one result each, in order; it is sent to
    the workers, so it is a partial of a module-level function."""

    def __init__(self, uses: Iterable[tuple[Article, ...]], render: Callable[[list[Article]], list[_T]],
                 pool: WorkerPool | None) -> None:
        order: list[Article] = []
        self.remaining: dict[str, int] = {}
        for articles in uses:
            for article in articles:
                if article.id not in self.remaining:
                    self.remaining[article.id] = 0
                    order.append(article)
                self.remaining[article.id] += 1
        self.batches = [order[i:i + BATCH] for i in range(0, len(order), BATCH)]
        self.batch_of = {a.id: n for n, batch in enumerate(self.batches) for a in batch}
        self.render = render
        self.executor = pool.executor() if pool is not None and len(order) >= PARALLEL_THRESHOLD else None
        self.pending: deque[tuple[int, Future[list[_T]]]] = deque()
        self.next_batch = 0
        self.loaded = -1
        self.results: dict[str, _T] = {}

    def _submit_ahead(self) -> None:
        while self.executor is not None and self.next_batch < len(self.batches) and \
                len(self.pending) < LOOKAHEAD_BATCHES:
            batch = self.batches[self.next_batch]
            self.pending.append((self.next_batch, self.executor.submit(self.render, batch)))
            self.next_batch += 1

    def _load_next(self) -> None:
        self._submit_ahead()
        if self.pending:
            number, future = self.pending.popleft()
            rendered = future.result()
        else:
            number = self.next_batch
            rendered = self.render(self.batches[number])
            self.next_batch += 1
        for article, result in zip(self.batches[number], rendered, strict=True):
            self.results[article.id] = result
        self.loaded = number
        self._submit_ahead()

    def take(self, articles: tuple[Article, ...]) -> list[_T]:
        needed = max((self.batch_of[a.id] for a in articles), default=-1)
        while self.loaded < needed:
            self._load_next()
        out = [self.results[a.id] for a in articles]
        for article in articles:
            self.remaining[article.id] -= 1
            if not self.remaining[article.id]:
                del self.results[article.id]
        return out


def render_site(catalog: Catalog, options: FeedOptions, previous: Mapping[str, str] | None = None,
                *, now: datetime, pool: WorkerPool | None = None) -> Iterator[Document]:
    """Yield every document; bodies only for those whose key changed since `previous`.

    `now` is the build's time: only documents with no entries (an empty topic)
    show it, as the time they last changed."""
    previous = previous or {}
    now = now.replace(microsecond=0)
    entry_keys = _entry_keys(catalog, options)
    planned = _plan(catalog, options, entry_keys, now)
    changed = [p for p in planned if any(previous.get(p.path(f)) != k for f, k in p.keys.items())]
    changed.sort(key=lambda p: (-(p.updated - EPOCH).total_seconds(), p.page.slug, p.page.number))
    changed_ids = {id(p) for p in changed}

    for planned_page in planned:
        if id(planned_page) not in changed_ids:
            for fmt in format_names():
                yield Document(planned_page.path(fmt), media_type_for(planned_page.path(fmt)),
                               planned_page.updated, planned_page.keys[fmt], None,
                               not planned_page.page.is_archive)
    supply = _Supply([p.page.articles for p in changed],
                     partial(render_entries, topics=catalog.topics, options=options), pool)
    for planned_page in changed:
        topic, page = planned_page.topic, planned_page.page
        fragments = supply.take(page.articles)
        for feed_format in feed_formats():
            path = planned_page.path(feed_format.name)
            body = feed_format.document(topic, page, options, [f[feed_format.name] for f in fragments],
                                        planned_page.updated)
            yield Document(path, feed_format.media_type, planned_page.updated,
                           planned_page.keys[feed_format.name], body, not page.is_archive)

    yield from _whole_site_documents(catalog, options, previous, entry_keys, now, pool)


def _whole_site_documents(catalog: Catalog, options: FeedOptions, previous: Mapping[str, str],
                          entry_keys: Mapping[str, bytes], now: datetime,
                          pool: WorkerPool | None) -> Iterator[Document]:
    """The OPML, HTML pages and API topic list.

    Each has a key computed from its inputs without rendering it, so an
    unchanged topic page (the common case: one article edited, 200 topics)
    costs a hash, not a template render.
    """
    def _entries_key(*parts: object, articles: tuple[Article, ...] = ()) -> str:
        digest = hashlib.blake2b(repr(parts).encode(), digest_size=16)
        digest.update(b"".join(entry_keys[a.id] for a in articles))
        return digest.hexdigest()

    everything = all_topic(options)
    updated = newest_update(catalog.articles, now)
    counts = tuple((slug, topic.title, topic.description, topic.aliases, len(catalog.by_topic[slug]))
                   for slug, topic in catalog.topics.items())
    # The date itself only when there are articles: an empty site's date is the
    # build time, which must not make every build render it again.
    site_key = (RENDER_VERSION, options.key, counts, len(catalog.articles),
                updated.isoformat() if catalog.articles else "")
    planned: list[_Planned] = [
        (OPML_PATH, updated, _entries_key("opml", site_key),
         lambda: render_opml([(everything, len(catalog.articles))] + [
             (topic, len(catalog.by_topic[slug])) for slug, topic in catalog.topics.items()],
             options, updated)),
        (INDEX_PATH, updated, _entries_key("index", site_key, articles=catalog.articles[:INDEX_LATEST]),
         lambda: render_index(catalog, options)),
        (API_TOPICS_PATH, updated, _entries_key("api-topics", site_key),
         lambda: render_api_topics(catalog, options, everything)),
        (STYLESHEET_PATH, EPOCH, _entries_key("xsl", RENDER_VERSION),
         lambda: template_source("feed.xsl").encode("utf-8")),
        # Drawn pixel by pixel in Python (a third of a second): partials, so a worker draws them.
        (ICON_PATH, EPOCH, _entries_key("icon", RENDER_VERSION), partial(icon_png)),
        (LOGO_PATH, EPOCH, _entries_key("logo", RENDER_VERSION), partial(logo_png)),
        (FAVICON_PATH, EPOCH, _entries_key("favicon", RENDER_VERSION), partial(favicon_ico)),
        (ARTICLES_CHART_PATH, updated, _entries_key("chart", site_key, articles=catalog.articles),
         lambda: articles_per_month(
             (slug, catalog.topics[slug].title, a.published.date())
             for a in catalog.articles for slug in a.topics).encode("utf-8")),
    ]
    planned.append((SEARCH_INDEX_PATH, updated,
                    _entries_key("search", RENDER_VERSION, options.key, articles=catalog.articles),
                    lambda: render_search_index(catalog, options)))
    topic_pages: list[_Planned] = []
    for slug, topic in catalog.topics.items():
        articles = catalog.by_topic[slug]
        planned.append((topic_opml_path(slug), newest_update(articles, now),
                        _entries_key("topic-opml", options.key, topic, len(articles)),
                        partial(render_opml, [(topic, len(articles))], options,
                                newest_update(articles, now),
                                f"{options.site_title}: {topic.title}")))
        pages = page_count(len(articles))
        for number in range(1, pages + 1):  # page n's key covers only the articles it lists
            shown = topic_page_articles(articles, number)
            topic_pages.append((topic_page_html_path(slug, number), newest_update(shown or articles, now),
                                _entries_key("topic", RENDER_VERSION, options.key, topic, len(articles),
                                             number, pages, articles=shown),
                                _TopicPage(topic, shown, len(articles), options, number)))
    # Newest pages first across all topics, as the feeds' pages: the pages that list an
    # article then come close together, and its list item (held from the first of them
    # to the last) is freed soon. Topic by topic, most items were held through all the
    # topic pages: 35,700 of them at the peak of a 100,000-file build.
    topic_pages.sort(key=lambda item: (-(item[1] - EPOCH).total_seconds(), item[0]))
    planned += topic_pages
    for article in catalog.articles:
        if article.self_published or article.link_status == ArticleLink.DEAD:
            planned.append((article_html_path(article.stem), article.updated,
                            _entries_key("article", RENDER_VERSION, options.key,
                                         [catalog.topics[s] for s in article.topics],
                                         articles=(article,)),
                            partial(render_article, article, catalog.topics, options)))
    yield from _rendered(planned, previous, options, pool)


@dataclass(frozen=True, slots=True)
class _TopicPage:
    """A topic page to put together from its articles' list items, which are rendered
    once per build (an article is listed on a page of each of its topics) and taken
    from the build's supply of them when the page is rendered."""

    topic: Topic
    shown: tuple[Article, ...]
    count: int
    options: FeedOptions
    number: int

    def ready(self, items: _Supply[bytes]) -> partial[bytes]:
        return partial(render_topic, self.topic, tuple(items.take(self.shown)), self.count,
                       self.options, self.number)


# path, updated, render key, renderer
_Planned = tuple[str, datetime, str, Callable[[], bytes] | _TopicPage]


def _rendered(planned: list[_Planned], previous: Mapping[str, str], options: FeedOptions,
              pool: WorkerPool | None) -> Iterator[Document]:
    """The planned documents in order, rendering only those whose key changed.

    Renderers that are partials of module-level functions (topic and article
    pages, Jinja templates, most of this stage's time; the drawn icons) are run
    in the worker processes, a window of them ahead of the one being yielded,
    when there are enough to repay sending them across; the lambdas over the
    whole catalog (index, OPML, search index) run here. A topic page is sent its
    list items, not its articles: each article's item is rendered once, by the
    supply, and a page's partial is made as it is sent."""
    changed = [item for item in planned if previous.get(item[0]) != item[2]]
    items = _Supply([page.shown for *_, page in changed if isinstance(page, _TopicPage)],
                    partial(render_list_items, options=options), pool)
    executor = pool.executor() if pool is not None and len(changed) >= PARALLEL_PAGES else None
    ahead: deque[Future[bytes]] = deque()
    queue = iter([item for item in changed if _in_workers(item[3])] if executor else [])

    def job(render: Callable[[], bytes] | _TopicPage) -> Callable[[], bytes]:
        return render.ready(items) if isinstance(render, _TopicPage) else render

    def submit_ahead() -> None:
        while executor is not None and len(ahead) < LOOKAHEAD_PAGES:
            item = next(queue, None)
            if item is None:
                return
            ahead.append(executor.submit(job(item[3])))

    for path, when, key, render in planned:
        if previous.get(path) == key:
            body = None
        elif executor is not None and _in_workers(render):
            submit_ahead()
            body = ahead.popleft().result()
        else:
            body = job(render)()
        yield Document(path, media_type_for(path), when, key, body, _hot(render))


def _hot(render: Callable[[], bytes] | _TopicPage) -> bool:
    """A topic's later pages are archives like a feed's (`Document.hot`): fetched rarely."""
    return not isinstance(render, _TopicPage) or render.number == 1


def _in_workers(render: Callable[[], bytes] | _TopicPage) -> bool:
    """Whether a renderer can be sent to a worker process (a lambda cannot)."""
    return isinstance(render, partial | _TopicPage)
