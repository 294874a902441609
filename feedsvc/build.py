"""The build pipeline: load -> catalog -> render -> publish one generation."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from feedsvc.content.context import ParseContext
from feedsvc.content.limits import Limits
from feedsvc.content.loader import LoadResult, ParseCache, cache_key, load_content, unchanged_load
from feedsvc.content.markup import markdown_limits
from feedsvc.content.topics import load_taxonomy
from feedsvc.links.effects import apply_link_effects, effects_fingerprint, link_effects
from feedsvc.logs import log_event
from feedsvc.models import (
    Article,
    BuildReport,
    BuildStatus,
    Document,
    Problem,
    ScheduleAction,
    ScheduledChange,
    Severity,
    Topic,
)
from feedsvc.render.common import FeedOptions
from feedsvc.settings import Settings
from feedsvc.store import Fence, GenerationInfo, Store, Transaction
from feedsvc.store.linkstore import LinkStore, published_articles
from feedsvc.urls import Urls
from feedsvc.workers import WorkerPool, fewer_collections, worker_count

# What only loading or publishing needs is imported where it is used: a build that
# finds nothing changed imports neither the parser nor the renderers and their
# libraries, which were most of its time.
if TYPE_CHECKING:
    from feedsvc.catalog import Catalog
    from feedsvc.content.renames import PublishedArticle
    from feedsvc.content.undated import DateRecord

log = logging.getLogger("feedsvc.build")

# The generation report's record of `Builder._input_key`.
INPUT_KEY = "input_key"


def parse_context(settings: Settings) -> ParseContext:
    return ParseContext(settings.id_authority, settings.base_url, settings.max_file_size)


def content_limits(settings: Settings) -> Limits:
    return Limits(settings.max_topics_per_article, settings.max_topic_feeds,
                  settings.max_body_size, settings.markdown_budget)


def open_parse_cache(settings: Settings) -> ParseCache:
    """The parse cache under FEEDSVC_CACHE_DIR, for this parse context."""
    return ParseCache.open(settings.cache_dir,
                           cache_key(parse_context(settings), content_limits(settings)))


class BuildProgress(Protocol):
    """Hears how far a build is: `phase` is "parsing" (files) or "publishing" (documents
    rendered and written), so a progress bar covers the whole build, not its first half."""

    def __call__(self, done: int, total: int, phase: str = "parsing") -> None: ...


PUBLISHING = "publishing"


def expected_documents(catalog: Catalog, feed_size: int) -> int:
    """About how many documents a build writes (feeds and their archive pages in every
    format, a page per topic, the whole-site documents): the total a progress bar
    counts toward. An estimate is enough: the bar is clamped to it."""
    from feedsvc.render.formats import format_names
    from feedsvc.render.html import page_count

    pages = 1 + max(0, (len(catalog.articles) - 1) // feed_size)
    for articles in catalog.by_topic.values():
        pages += 1 + max(0, (len(articles) - 1) // feed_size)
    own_pages = sum(1 for a in catalog.articles if a.self_published or a.link_note)
    # per topic: its OPML and its HTML pages (TOPIC_PAGE_SIZE articles each)
    topic_documents = sum(1 + page_count(len(articles)) for articles in catalog.by_topic.values())
    return pages * len(format_names()) + topic_documents + own_pages + WHOLE_SITE_DOCUMENTS


# OPML, index, API topics, stylesheet, icon, logo, favicon, chart, search index
WHOLE_SITE_DOCUMENTS = 9


def _counted(docs: Iterable[Document], total: int,
             progress: BuildProgress | None) -> Iterator[Document]:
    for number, doc in enumerate(docs, start=1):
        yield doc
        if progress is not None and number % 50 == 0:
            progress(min(number, total), total, PUBLISHING)
    if progress is not None:
        progress(total, total, PUBLISHING)


def problem_order(problem: Problem) -> tuple[str, int, str, str]:
    return (problem.path, problem.line or 0, problem.severity, problem.reason)


@dataclass
class ContentSummary:
    load: LoadResult
    catalog: Catalog
    problems: list[Problem] = field(default_factory=list)
    schedule: tuple[ScheduledChange, ...] = ()  # articles that appear or leave later

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p.severity == Severity.WARNING)

    def line(self) -> str:
        scheduled = f"{self.scheduled} scheduled, " if self.scheduled else ""
        return (f"{len(self.catalog.articles)} articles, {len(self.catalog.topics)} topics, "
                f"{scheduled}{self.load.excluded} unpublished, "
                f"{self.errors} errors, {self.warnings} warnings")

    @property
    def scheduled(self) -> int:
        """Articles waiting for their publication time."""
        return sum(1 for c in self.schedule if c.action is ScheduleAction.PUBLISH)

    def as_json(self, file_of: Callable[[str], str] = str) -> dict[str, Any]:
        """`path` is relative to the content directory (as the store and /status say
        it); `file_of` gives `file`, the path as the text lines show it."""
        return {
            "articles": len(self.catalog.articles), "topics": len(self.catalog.topics),
            "files": self.load.files, "unpublished": self.load.excluded,
            "errors": self.errors, "warnings": self.warnings,
            "scheduled": [{**change.as_dict(), "file": file_of(change.path)}
                          for change in self.schedule],
            "problems": [problem_json(p, file_of) for p in self.problems],
            "published": [{
                "path": a.source, "file": file_of(a.source), "id": a.id,
                "published": a.published.isoformat(),
                "topics": [{"slug": slug, "origin": str(origin)}
                           for slug, origin in self.catalog.origins.get(a.id, {}).items()],
            } for a in sorted(self.catalog.articles, key=lambda a: a.source)],
        }


def problem_json(problem: Problem, file_of: Callable[[str], str] = str) -> dict[str, Any]:
    return {"path": problem.path, "file": file_of(problem.path), "line": problem.line,
            "severity": problem.severity, "reason": problem.reason}


def load_catalog(settings: Settings, cache: ParseCache | None = None,
                 pool: WorkerPool | None = None,
                 adjust: Callable[[list[Article]], list[Article]] | None = None,
                 progress: Callable[[int, int], None] | None = None, *,
                 record_dates: DateRecord | None = None,
                 now: datetime | None = None,
                 published: Iterable[PublishedArticle] = (),
                 include_scheduled: bool = False, keep_dates: bool = True) -> ContentSummary:
    """Load and index the content; `adjust` may rewrite articles first (link effects).

    Articles whose file has no date are dated here: by the date `record_dates` (the
    store) holds for them, and new dates are recorded there unless `keep_dates` is
    false (`feedsvc check` reads the recorded dates, so it says the date the feeds carry,
    but never records one).
    Scheduled and expired articles are left out (`feedsvc.content.schedule`) unless
    `include_scheduled` or FEEDSVC_PUBLISH_FUTURE says to keep them.
    `published` (the store's published articles) lets renames be caught before a
    renamed file reaches every subscriber again as a new item."""
    from feedsvc.catalog import build_catalog
    from feedsvc.content.renames import rename_warnings
    from feedsvc.content.schedule import published_now
    from feedsvc.content.undated import date_undated

    now = now or datetime.now(UTC)
    load = load_content(settings.content_dir, parse_context(settings), cache=cache, pool=pool,
                        progress=progress, limits=content_limits(settings),
                        now=None if settings.publish_future else now)
    articles, date_problems = date_undated(load.articles, settings.content_dir, now, record_dates,
                                           keep=keep_dates)
    schedule: tuple[ScheduledChange, ...] = ()
    if not (include_scheduled or settings.publish_future):
        articles, schedule = published_now(articles, now)
    articles, quality_problems = below_quality(articles, settings.min_quality)
    articles = adjust(articles) if adjust is not None else articles
    catalog, topic_problems = build_catalog(articles, load.taxonomy,
                                            undeclared=settings.undeclared_topics)
    # From here the catalog holds the articles (with their topics, so new objects):
    # the loaded ones kept beside them would be every article held twice.
    load.articles = []
    rename_problems = rename_warnings(
        catalog.articles, published,
        record_dates.article_dates if record_dates is not None else None)
    problems = sorted([*load.problems, *date_problems, *quality_problems, *topic_problems,
                       *rename_problems], key=problem_order)
    return ContentSummary(load, catalog, problems, schedule)


def below_quality(articles: list[Article], minimum: int) -> tuple[list[Article], list[Problem]]:
    """Upstream scores every article (`quality`, 0-100): an editor may publish only the
    better ones. One info line says how many were left out; unscored articles stay."""
    if minimum <= 0:
        return articles, []
    kept = [a for a in articles if a.quality is None or a.quality >= minimum]
    left = sorted((a for a in articles if a.quality is not None and a.quality < minimum),
                  key=lambda a: a.source)
    if not left:
        return kept, []
    return kept, [Problem(left[0].source, None, Severity.INFO, (
        f"left out {len(left)} article(s) scored below FEEDSVC_MIN_QUALITY={minimum} "
        f"(this one scores {left[0].quality})"))]


def check_content(settings: Settings, store: Store | None = None) -> ContentSummary:
    """Load and validate without publishing; with the store, renames are caught too."""
    published = published_articles(store) if store is not None else []
    with WorkerPool(worker_count(settings.build_workers)) as pool:
        return load_catalog(settings, pool=pool, published=published, record_dates=store,
                            keep_dates=False)


def check_files(settings: Settings, files: Iterable[Path]) -> list[Problem]:
    """Validate files outside the content directory (drafts) against its topics.yml.

    Each file on its own: its parse problems and its unknown topics, with absolute
    paths (they are not relative to the content directory)."""
    from feedsvc.catalog import build_catalog
    from feedsvc.content.parse import parse_article

    taxonomy, _ = load_taxonomy(settings.content_dir)
    ctx = parse_context(settings)
    limits = content_limits(settings)
    problems: list[Problem] = []
    for file in files:
        source = str(file.resolve())
        with markdown_limits(limits.max_body_size, limits.markdown_budget_s):
            result = parse_article(source, file.read_bytes(), ctx)
        problems.extend(p.to_problem() for p in result.problems)
        if result.article is not None:
            _, topic_problems = build_catalog([result.article], taxonomy,
                                              undeclared=settings.undeclared_topics)
            problems.extend(topic_problems)
    return sorted(problems, key=problem_order)


def preview_article(settings: Settings, file: Path, store: Store | None = None,
                    ) -> tuple[Article | None, dict[str, Topic], list[Problem]]:
    """One article as the build would publish it, with the topics it resolves to and
    its problems: the whole content is loaded as a build loads it (topics, duplicates,
    the link policy when the store has link results), so `feedsvc preview` shows the
    entry the feeds will hold. A file outside the content directory is read on its own."""
    from feedsvc.catalog import build_catalog
    from feedsvc.content.parse import parse_article
    from feedsvc.content.terminal import content_relative

    inside, outside = content_relative([file], settings.content_dir)
    if outside:
        taxonomy, _ = load_taxonomy(settings.content_dir)
        limits = content_limits(settings)
        with markdown_limits(limits.max_body_size, limits.markdown_budget_s):
            result = parse_article(str(file.resolve()), file.read_bytes(), parse_context(settings))
        problems = [p.to_problem() for p in result.problems]
        if result.article is None:
            return None, {}, problems
        catalog, topic_problems = build_catalog([result.article], taxonomy,
                                                undeclared=settings.undeclared_topics)
        return catalog.articles[0], catalog.topics, problems + topic_problems
    adjust = None
    if store is not None:
        effects = link_effects(LinkStore(store).flagged(),
                               follow_permanent=settings.follow_permanent_redirects)
        urls = Urls(settings.base_url)

        def adjust(articles: list[Article]) -> list[Article]:
            return apply_link_effects(articles, effects, settings.dead_link_policy, urls)

    summary = load_catalog(settings, adjust=adjust, now=datetime.now(UTC), include_scheduled=True,
                           record_dates=store, keep_dates=False)
    rel = next(iter(inside))
    article = next((a for a in summary.catalog.articles if a.source == rel), None)
    return article, summary.catalog.topics, [p for p in summary.problems if p.path == rel]


def feed_options(settings: Settings) -> FeedOptions:
    return FeedOptions(settings.base_url, settings.site_title, settings.site_description,
                       settings.language, settings.feed_size, settings.websub_hub)


def _report_dict(report: BuildReport) -> dict[str, Any]:
    data = asdict(report)
    del data["changed_paths"]
    data["schedule"] = [change.as_dict() for change in report.schedule]
    data["errors"], data["warnings"] = report.errors, report.warnings
    data["published"] = report.published
    return data


class Builder:
    """Runs builds against one store, keeping parsed files in memory between them.

    Long-lived processes (the clock, `feedsvc serve`) keep one Builder, so a
    scheduled rebuild only stats the files; one-off `feedsvc build` runs read
    the same cache from `FEEDSVC_CACHE_DIR`.
    """

    def __init__(self, settings: Settings, store: Store, *, once: bool = False) -> None:
        """`once`: this builder builds once and its process ends (`feedsvc build`): it
        saves the parse cache as soon as the content is loaded and holds nothing of it
        in memory after that (`ParseCache.release`), so the articles are held once, in
        the catalog."""
        self.settings = settings
        self.store = store
        self.once = once
        self.links = LinkStore(store)
        self.cache = open_parse_cache(settings)

    def build(self, *, force: bool = False, now: datetime | None = None,
              progress: BuildProgress | None = None,
              allow_shrink: bool = False, fence: Fence | None = None) -> BuildReport:
        """Build and publish if anything changed; `progress(done, total, phase)` hears
        about parsing, then about rendering and publishing.

        With a `fence` (the clock's lease), every write checks the lease first and
        LeaseLost ends the build with nothing more written: the caller discards it.

        Refuses to publish (status `taxonomy-invalid` or `shrink-refused`, the last
        good generation stays served) when topics.yml has errors, or when the new
        generation would hold fewer than FEEDSVC_SHRINK_LIMIT of the current one's
        articles and `allow_shrink` is not given: an emptied or half-deleted content
        directory must not replace the site on its own."""
        with fewer_collections(), WorkerPool(worker_count(self.settings.build_workers)) as pool:
            return self._build(pool, force=force, now=now, progress=progress,
                               allow_shrink=allow_shrink, fence=fence)

    def refresh_cache(self) -> LoadResult:
        """Parse what changed into the parse cache and publish nothing: a standby clock
        does this on its schedule, so that when it takes over its first build parses
        only the files changed since, not the whole content directory."""
        settings = self.settings
        with fewer_collections(), WorkerPool(worker_count(settings.build_workers)) as pool:
            load = load_content(settings.content_dir, parse_context(settings), cache=self.cache,
                                pool=pool, limits=content_limits(settings))
        self._save_cache({}, [])
        return load

    def _build(self, pool: WorkerPool, *, force: bool, now: datetime | None,
               progress: BuildProgress | None, allow_shrink: bool,
               fence: Fence | None = None) -> BuildReport:
        started = now or datetime.now(UTC)
        clock = time.perf_counter()
        timings: dict[str, float] = {}
        settings = self.settings
        effects = link_effects(self.links.flagged(),
                               follow_permanent=settings.follow_permanent_redirects)
        options = feed_options(settings)
        current = self.store.current_generation()
        info = self.store.generation_info(current) if current is not None else None
        if not force and info is not None:
            shortcut = self._unchanged(info, effects, options, started, clock, fence)
            if shortcut is not None:
                return shortcut
        summary = load_catalog(settings, self.cache, pool, lambda articles: apply_link_effects(
            articles, effects, settings.dead_link_policy, Urls(settings.base_url)), progress,
            record_dates=self.store, now=started, published=published_articles(self.store))
        # The parsing workers end here; rendering starts new ones from the fork server.
        # A worker that parsed half of 100,000 files kept 10 MB more than it started
        # with, which rendering then added to: its peak was 56 MB, against 50 MB for
        # a worker that only renders.
        pool.close()
        timings["load_s"] = round(time.perf_counter() - clock, 3)
        input_key = self._input_key(summary.load.fingerprint, effects, options)
        fingerprint = _generation_fingerprint(input_key, summary)
        run = _Run(started, clock, summary, timings)
        refusal = _refusal(summary, info, self.settings.shrink_limit, allow_shrink)
        if refusal is not None:
            status, problem = refusal
            if problem is not None:
                run.extra.append(problem)
            result = run.report(status=status, generation=current, documents=0,
                                documents_written=0, documents_unchanged=0)
            self.store.record_report(_report_dict(result), fence=fence)
            return result
        if self.once:  # saved now, not at the end (see `once`); a refused build saves
            # nothing, as ever: files moved away and back are not parsed again
            self._save_cache(timings, run.extra, loaded=True)
            self.cache.release()
        if info is None or info["input_fingerprint"] != fingerprint:
            self.links.register(summary.catalog.articles, started, fence=fence)
        if not force and info is not None and info["input_fingerprint"] == fingerprint:
            self._save_cache(timings, run.extra)
            count = info["report"].get("documents", 0)
            result = run.report(status=BuildStatus.UNCHANGED, generation=current, documents=count,
                                documents_written=0, documents_unchanged=count)
            self.store.record_report(_report_dict(result), fence=fence)
            return result
        return self._render_and_publish(pool, run, options, current, (fingerprint, input_key),
                                        progress, fence)

    def _render_and_publish(self, pool: WorkerPool, run: _Run, options: FeedOptions,
                            current: int | None, keys: tuple[str, str],
                            progress: BuildProgress | None, fence: Fence | None) -> BuildReport:
        """Render what changed and publish it as one generation, its WebSub pings queued
        in the same transaction; `keys` are the generation's fingerprint and input key."""
        from feedsvc.drift import settings_fingerprint, shaping_settings
        from feedsvc.render.site import render_site
        from feedsvc.websub import enqueue

        settings, summary, timings = self.settings, run.summary, run.timings
        fingerprint, input_key = keys
        # What has been read is now fixed; rendering and publishing follow. (Operators
        # see the load/render split; the cluster tests pause a leader exactly here.)
        log_event(log, "build_loaded", files=summary.load.files, parsed=summary.load.files_parsed,
                  cached=summary.load.files_cached, articles=len(summary.catalog.articles),
                  load_s=timings["load_s"], fingerprint=fingerprint)
        previous = {d.path: d.render_key for d in self.store.documents(current)} if current else {}
        docs = _counted(render_site(summary.catalog, options, previous, now=run.started, pool=pool),
                        expected_documents(summary.catalog, settings.feed_size), progress)
        render_start = time.perf_counter()

        def final_report(generation: int, written: int, unchanged: int) -> dict[str, Any]:
            timings["render_publish_s"] = round(time.perf_counter() - render_start, 3)
            data = _report_dict(run.report(
                status=BuildStatus.PUBLISHED, generation=generation, documents=written + unchanged,
                documents_written=written, documents_unchanged=unchanged))
            data[INPUT_KEY] = input_key  # what `_unchanged` compares the next builds with
            return data

        hub = settings.websub_hub

        def queue_pings(conn: Transaction, generation: int, changed: list[str]) -> None:
            if hub:
                enqueue(conn, hub, Urls(settings.base_url), generation, changed, run.started)

        shaping = shaping_settings(settings)
        generation, changed, unchanged = self.store.publish(
            docs, fingerprint, final_report, created_at=run.started, fence=fence, settings=shaping,
            settings_fingerprint=settings_fingerprint(shaping), in_transaction=queue_pings)
        written = len(changed)
        timings["commit_s"] = round(time.perf_counter() - render_start - timings["render_publish_s"], 3)
        self._save_cache(timings, run.extra)
        result = run.report(status=BuildStatus.PUBLISHED, generation=generation,
                            documents=written + unchanged,
                            documents_written=written, documents_unchanged=unchanged,
                            changed_paths=tuple(changed))
        self.store.record_report(_report_dict(result), fence=fence)
        return result

    def _input_key(self, load_fingerprint: str, effects: Any, options: FeedOptions) -> str:
        """Everything a generation's bytes depend on except the dates given from outside
        the files: those are kept in the store once chosen, so they cannot change
        while this key stays the same."""
        settings = self.settings
        return hashlib.blake2b(
            (load_fingerprint + options.key + effects_fingerprint(effects, settings.dead_link_policy)
             + settings.undeclared_topics + str(settings.min_quality)).encode(),
            digest_size=16).hexdigest()

    def _unchanged(self, info: GenerationInfo, effects: Any, options: FeedOptions,
                   started: datetime, clock: float, fence: Fence | None) -> BuildReport | None:
        """The `unchanged` report, when the published generation was built from exactly
        these inputs, known from file sizes, mtimes and the parse cache alone; None
        when the build has to load the content to know.

        The report repeats the published generation's problems: they are a
        function of the same inputs."""
        stored = info["report"]
        if not stored.get(INPUT_KEY):
            return None
        published = BuildReport.from_dict(stored)
        due = published.next_change_at
        if due is not None and started >= due:  # an article is due or expired: load to see
            return None
        load_key = unchanged_load(self.settings.content_dir, parse_context(self.settings),
                                  self.cache, content_limits(self.settings))
        if load_key is None or self._input_key(load_key, effects, options) != stored[INPUT_KEY]:
            return None
        count = published.documents
        result = BuildReport(
            status=BuildStatus.UNCHANGED, started_at=started,
            duration_s=round(time.perf_counter() - clock, 4), generation=info["id"],
            articles=published.articles, topics=published.topics, documents=count,
            documents_written=0, documents_unchanged=count, files_parsed=0,
            files_cached=len(self.cache.entries), problems=published.problems,
            timings={"load_s": round(time.perf_counter() - clock, 3)}, schedule=published.schedule)
        self.store.record_report(_report_dict(result), fence=fence)
        return result

    def _save_cache(self, timings: dict[str, float], problems: list[Problem], *,
                    loaded: bool = False) -> None:
        """Save the parse cache; failing to (a full disk) costs the next build time, not
        this build's result: it becomes a warning in the report. A builder that builds
        `once` saves it when the content is `loaded`, and not again at the end."""
        if self.once and not loaded:
            return
        start = time.perf_counter()
        try:
            self.cache.save()
        except (OSError, sqlite3.Error) as exc:
            problems.append(Problem(str(self.settings.cache_dir), None, Severity.WARNING,
                                    f"the parse cache could not be saved ({type(exc).__name__}: "
                                    f"{exc}); the next build parses every file again"))
        timings["cache_save_s"] = round(time.perf_counter() - start, 3)


@dataclass
class _Run:
    """One build under way: when it started, what it loaded, its timings so far and the
    problems it adds to the content's own."""

    started: datetime
    clock: float
    summary: ContentSummary
    timings: dict[str, float]
    extra: list[Problem] = field(default_factory=list)

    def report(self, **values: Any) -> BuildReport:
        summary = self.summary
        return BuildReport(started_at=self.started, duration_s=round(time.perf_counter() - self.clock, 4),
                           articles=len(summary.catalog.articles), topics=len(summary.catalog.topics),
                           files_parsed=summary.load.files_parsed, files_cached=summary.load.files_cached,
                           problems=tuple(summary.problems) + tuple(self.extra),
                           timings=dict(self.timings), schedule=summary.schedule, **values)


def _generation_fingerprint(input_key: str, summary: ContentSummary) -> str:
    """Everything a generation's bytes depend on: the input key, the dates given from
    outside the files, and the scheduled changes still to come (one passing changes
    what is published without changing any input)."""
    from feedsvc.content.schedule import schedule_key

    return hashlib.blake2b(
        (input_key + _outside_dates(summary.catalog.articles) + schedule_key(summary.schedule)).encode(),
        digest_size=16).hexdigest()


def _outside_dates(articles: tuple[Article, ...]) -> str:
    """The dates given from outside the files (git, the store): inputs like any other."""
    return ",".join(f"{a.id}={a.published.isoformat()}" for a in articles if not a.dated)


def _refusal(summary: ContentSummary, info: GenerationInfo | None, shrink_limit: float,
             allow_shrink: bool) -> tuple[BuildStatus, Problem | None] | None:
    """Why this build must not publish, as (status, extra problem), or None."""
    if summary.load.content_unavailable:
        return BuildStatus.CONTENT_UNAVAILABLE, None
    if summary.load.taxonomy_errors:
        return BuildStatus.TAXONOMY_INVALID, None
    stored = info["report"].get("articles") if info is not None else None
    previous = stored if isinstance(stored, int) else 0
    count = len(summary.catalog.articles)
    if not allow_shrink and shrink_limit > 0 and previous and count < previous * shrink_limit:
        return BuildStatus.SHRINK_REFUSED, Problem(
            ".", None, Severity.ERROR,
            f"this build would publish {count} articles, fewer than {shrink_limit:g} of the "
            f"{previous} published now (FEEDSVC_SHRINK_LIMIT); nothing was published. "
            "If that is intended, run `feedsvc build --allow-shrink`")
    return None


