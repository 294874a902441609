"""Read the content directory: every article file, parsed, validated, de-duplicated.

This is the I/O edge of the content layer. It walks the directory in a fixed
order (so builds are deterministic), refuses symlinks that leave it, reuses
parse results for files whose bytes did not change (keyed by size and mtime,
confirmed by content hash) and parses the rest in worker processes when there
are enough of them to pay for it. One bad file never stops the others.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sqlite3
import stat
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeGuard

from feedsvc.content.context import ARTICLE_SUFFIXES, ParseContext, content_hash
from feedsvc.content.duplicates import drop_duplicates
from feedsvc.content.files import (
    NotARegularFile,
    directory_name_problem,
    file_kind,
    name_problem,
    printable,
    read_regular_file,
)
from feedsvc.content.limits import Limits, vet_articles
from feedsvc.content.markup import markdown_limits
from feedsvc.content.problems import ContentError, warning
from feedsvc.content.topics import TOPICS_FILE, Taxonomy, load_taxonomy
from feedsvc.models import Article, Problem, Severity

if TYPE_CHECKING:
    from feedsvc.content.parse import ParseResult
    from feedsvc.workers import WorkerPool

log = logging.getLogger(__name__)

PARALLEL_THRESHOLD = 400
# Files a worker parses per task at most: a worker holds a task's pickled results until
# it sends them, and the build process receives them in one message. Much smaller
# tasks cost time (each waits for the build process's thread that hands them out):
# 500 files a task made a 100,000-file build 1.5-2 s slower than 6,250.
MAX_BATCH = 2_000
SAVE_EVERY = 2000
CACHE_FILE = "parse-cache.sqlite3"


class SourceFile(NamedTuple):
    """An article file found by `scan` (a named tuple: every build makes one a file)."""

    rel: str
    path: str
    size: int
    mtime_ns: int


@dataclass(slots=True)
class CacheEntry:
    size: int
    mtime_ns: int
    digest: str
    # None until `ParseCache.load_results()`: a build that finds nothing changed
    # never needs the results, and unpickling them was half of such a build.
    result: ParseResult | None
    pickled: bytes | None = None  # the result as a worker process sent it, reused by save()


def parse_cache_saved(directory: Path | None) -> TypeGuard[Path]:
    """Whether a parse cache file is in `directory`: without one, a build parses every file."""
    return directory is not None and (directory / CACHE_FILE).is_file()


class ParseCache:
    """Parse results by relative path, valid for one `ParseContext`.

    Held in memory by long-lived processes and mirrored to a small SQLite file
    (one row per article file) so that one-off `feedsvc build` runs are
    incremental too. Only rows that changed since the last save are written:
    a rebuild after editing one file writes one row, not the whole cache.
    """

    def __init__(self, context_key: str, entries: dict[str, CacheEntry] | None = None,
                 directory: Path | None = None) -> None:
        self.context_key = context_key
        self.entries: dict[str, CacheEntry] = entries or {}
        self.directory = directory
        self._changed: set[str] = set()
        self._removed: set[str] = set()

    def put(self, rel: str, entry: CacheEntry) -> None:
        self.entries[rel] = entry
        self._changed.add(rel)
        self._removed.discard(rel)

    def remove(self, rel: str) -> None:
        del self.entries[rel]
        self._changed.discard(rel)
        self._removed.add(rel)

    @property
    def dirty(self) -> bool:
        return bool(self._changed or self._removed)

    @classmethod
    def open(cls, directory: Path | None, context_key: str) -> ParseCache:
        if not parse_cache_saved(directory):
            return cls(context_key, directory=directory)
        try:
            with closing(sqlite3.connect(directory / CACHE_FILE)) as db:
                stored_key = db.execute("SELECT value FROM meta WHERE key = 'context'").fetchone()
                if stored_key is None or stored_key[0] != context_key:
                    return cls(context_key, directory=directory)
                entries = {rel: CacheEntry(size, mtime, digest, None)
                           for rel, size, mtime, digest in db.execute(
                               "SELECT rel, size, mtime_ns, digest FROM entries")}
        except sqlite3.Error as exc:
            log.warning("parse cache unreadable, starting cold: %s", exc)
            return cls(context_key, directory=directory)
        return cls(context_key, entries, directory)

    def load_results(self) -> None:
        """Unpickle the stored results of the entries that lack them, in one pass.

        An entry whose result cannot be read (a damaged file, a result pickled
        by another version) is forgotten, so its file is parsed again."""
        missing = {rel for rel, entry in self.entries.items() if entry.result is None}
        if not missing:
            return
        if parse_cache_saved(self.directory):
            try:
                with closing(sqlite3.connect(self.directory / CACHE_FILE)) as db:
                    for rel, digest, blob in db.execute("SELECT rel, digest, result FROM entries"):
                        entry = self.entries.get(rel)
                        if rel not in missing or entry is None or entry.digest != digest:
                            continue
                        try:
                            entry.result = pickle.loads(blob)  # noqa: S301 - our own cache file
                        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError,
                                TypeError, ValueError, IndexError) as exc:
                            log.warning("parse cache entry for %s unreadable: %s", rel, exc)
            except sqlite3.Error as exc:
                log.warning("parse cache unreadable, parsing again: %s", exc)
        for rel in [rel for rel in missing if self.entries[rel].result is None]:
            del self.entries[rel]  # parsed again; the next save rewrites its row

    def release(self) -> None:
        """Drop everything held in memory once it is saved in the cache file: a process
        that builds once (`feedsvc build`) calls this after loading, and needs nothing
        more from the cache. Its 100,000 entries at 100,000 files (paths, sizes, mtimes,
        digests, and the parse results, which the catalog holds again as its own
        articles) were held to the end of the build. What is not saved yet is kept."""
        if not parse_cache_saved(self.directory):
            return
        self.entries = {rel: entry for rel, entry in self.entries.items() if rel in self._changed}

    def save(self) -> None:
        """Write what changed since the last save (a no-change rebuild writes nothing)."""
        directory = self.directory
        if directory is None:
            for rel in self._changed:
                self.entries[rel].pickled = None
            self._changed.clear()
            return
        if not self.dirty:
            return
        directory.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(directory / CACHE_FILE)) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            db.execute("CREATE TABLE IF NOT EXISTS entries (rel TEXT PRIMARY KEY, size INTEGER, "
                       "mtime_ns INTEGER, digest TEXT, result BLOB)")
            # What `open` reads, apart from the pickled results: it scans this index instead
            # of the table, about half the bytes at 10,000 files.
            db.execute("CREATE INDEX IF NOT EXISTS entries_stat ON entries (rel, size, mtime_ns, digest)")
            stored_key = db.execute("SELECT value FROM meta WHERE key = 'context'").fetchone()
            if stored_key is None or stored_key[0] != self.context_key:
                self.load_results()  # every row is rewritten: none may be left unread
                db.execute("DELETE FROM entries")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('context', ?)", (self.context_key,))
                self._changed = set(self.entries)
            db.executemany("DELETE FROM entries WHERE rel = ?", [(rel,) for rel in self._removed])
            db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)", (
                (rel, e.size, e.mtime_ns, e.digest, e.pickled or pickle.dumps(e.result, protocol=5))
                for rel, e in ((rel, self.entries[rel]) for rel in self._changed)))
        for rel in self._changed:
            self.entries[rel].pickled = None  # written: no need to hold the bytes any longer
        self._changed.clear()
        self._removed.clear()


@dataclass
class LoadResult:
    articles: list[Article]
    problems: list[Problem]
    taxonomy: Taxonomy
    files: int = 0
    excluded: int = 0
    files_parsed: int = 0
    files_cached: int = 0
    fingerprint: str = ""
    # Errors in topics.yml: publishing without the taxonomy would move articles between
    # feeds and drop declared feeds, so a build stops instead (see feedsvc.build).
    taxonomy_errors: list[Problem] = field(default_factory=list)
    # The content directory itself could not be read: publish nothing, keep the last
    # good generation (a typed flag: nothing downstream matches message text).
    content_unavailable: bool = False

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == Severity.WARNING]


class ContentUnavailable(ContentError):
    """The content directory itself is missing or unreadable (not one file in it)."""


def scan(content_dir: Path) -> tuple[list[SourceFile], list[ContentError]]:
    """Article files under content_dir in path order; hidden entries are skipped.

    Never raises and never blocks: symbolic links that loop, dangle or leave
    the directory, directories reached twice, FIFOs and other special files
    named like articles, and names that cannot be published are reported with
    their path and skipped. topics.yml is left to `load_taxonomy`.
    """
    try:
        root = content_dir.resolve(strict=True)
    except (OSError, RuntimeError):
        root = None
    if root is None or not root.is_dir():
        return [], [ContentUnavailable("content directory does not exist or is not a directory",
                                       path=str(content_dir))]
    walk = _Walk(root)
    walk.directory(str(root), "")
    return walk.found, walk.problems


@dataclass
class _Walk:
    """One scan's walk and what it finds. A class, not a function nested in `scan`
    that calls itself: that function's closure cell made a reference cycle, which a
    build (the collector's thresholds raised) kept alive to its end, and with it the
    list of files found: 100,000 SourceFiles, 34 MB, through the whole render."""

    root: Path
    found: list[SourceFile] = field(default_factory=list)
    problems: list[ContentError] = field(default_factory=list)
    visited: dict[tuple[int, int], str] = field(default_factory=dict)

    def refuse(self, rel: str, reason: str, severity: Severity = Severity.ERROR) -> None:
        self.problems.append(ContentError(reason, path=printable(rel), severity=severity))

    def directory(self, directory: str, prefix: str) -> None:
        shown = prefix.rstrip("/") or "."
        try:
            st = os.stat(directory)
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            if not prefix:  # the content directory itself: nothing can be published
                self.problems.append(ContentUnavailable(
                    f"cannot list directory: {exc.strerror or exc}", path=shown))
            else:
                self.refuse(shown, f"cannot list directory: {exc.strerror or exc}")
            return
        key = (st.st_dev, st.st_ino)
        if key in self.visited:
            self.refuse(shown, f"directory already read as {self.visited[key]!r} (a symbolic link "
                        "loop or a second link to it); skipped", Severity.WARNING)
            return
        self.visited[key] = shown
        entries.reverse()
        while entries:  # each entry freed once read: they are not all held beside what is found
            entry = entries.pop()
            if entry.name.startswith(".") or (not prefix and entry.name == TOPICS_FILE):
                continue
            try:
                self.entry(entry, prefix)
            except (OSError, RuntimeError) as exc:
                self.refuse(prefix + entry.name, f"cannot read: {getattr(exc, 'strerror', None) or exc}")

    def entry(self, entry: os.DirEntry[str], prefix: str) -> None:
        rel = prefix + entry.name
        is_article = entry.name.endswith(ARTICLE_SUFFIXES)
        if entry.is_symlink():
            skip, why = _link_problem(entry.path, self.root, is_article)
            if why:
                self.refuse(rel, why)
            if skip:
                return
        if entry.is_dir():
            reason = directory_name_problem(rel)
            if reason:
                self.refuse(rel, reason + "; its files are skipped")
                return
            self.directory(entry.path, rel + "/")
            return
        if not is_article:
            return
        reason = name_problem(rel)
        if reason:
            self.refuse(rel, reason)
            return
        st = os.stat(entry.path)  # not entry.stat(): it would keep the stat in the entry
        if not stat.S_ISREG(st.st_mode):
            self.refuse(rel, f"{file_kind(st.st_mode)}, not a regular file; skipped")
            return
        self.found.append(SourceFile(rel, entry.path, st.st_size, st.st_mtime_ns))


def _link_problem(path: str, root: Path, is_article: bool) -> tuple[bool, str | None]:
    """For a symbolic link in the content directory: (skip it, why, if it is worth
    saying). A dangling link to a non-article is skipped in silence."""
    try:
        target = Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:
        return True, "symbolic link to a file that does not exist; skipped" if is_article else None
    if not target.is_relative_to(root):
        return True, "symbolic link points outside the content directory; refused"
    return False, None


def _read_and_parse(source: SourceFile, ctx: ParseContext) -> tuple[str, ParseResult]:
    """Read and parse one file; whatever goes wrong becomes a problem of that file."""
    # Here, not at the top: a build that finds nothing changed never parses, and the
    # parser's libraries are a good part of its start-up.
    from feedsvc.content.parse import ParseResult, parse_article

    try:
        data = read_regular_file(source.path, ctx.max_file_size)
    except FileNotFoundError:
        return "", ParseResult(None, (warning("file disappeared while it was being read; "
                                              "skipped until the next build")
                                      .located(source.rel),))
    except NotARegularFile as exc:
        return "", ParseResult(None, (ContentError(f"{exc}; skipped", path=source.rel),))
    except OSError as exc:
        return "", ParseResult(None, (ContentError(f"cannot read: {exc.strerror or exc}",
                                                   path=source.rel),))
    if len(data) > ctx.max_file_size:
        return "", ParseResult(None, (ContentError(
            f"file is over the limit of {ctx.max_file_size:,} bytes (FEEDSVC_MAX_FILE_SIZE)",
            path=source.rel),))
    digest = content_hash(data)
    try:
        result = parse_article(source.rel, data, ctx, digest)
    except Exception as exc:  # a parser bug must cost one file, not the build
        log.exception("parsing %s failed", source.rel)
        result = ParseResult(None, (ContentError(
            f"could not be parsed ({type(exc).__name__}: {exc})"[:500], path=source.rel, line=1),))
    return digest, result


def _parsed(batch: list[SourceFile], ctx: ParseContext,
            limits: Limits = Limits()) -> Iterator[tuple[str, ParseResult]]:
    """Each file's (digest, result) as it is parsed, under the body limits."""
    with markdown_limits(limits.max_body_size, limits.markdown_budget_s):
        for source in batch:
            yield _read_and_parse(source, ctx)


def _parse_batch_pickled(batch: list[SourceFile], ctx: ParseContext,
                         limits: Limits = Limits()) -> list[tuple[str, bytes]]:
    """In a worker: results pickled one by one, so the parent can cache the same bytes;
    each pickled as soon as it is parsed, so that only the pickles are held, not a
    batch's results as well."""
    return [(digest, pickle.dumps(result, protocol=5))
            for digest, result in _parsed(batch, ctx, limits)]


def _chunks(items: list[SourceFile], size: int) -> Iterable[list[SourceFile]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _parse_all(todo: list[SourceFile], ctx: ParseContext, pool: WorkerPool | None,
               limits: Limits) -> Iterable[tuple[str, ParseResult, bytes | None]]:
    executor = pool.executor() if pool is not None and len(todo) >= PARALLEL_THRESHOLD else None
    if pool is None or executor is None:
        return [(digest, result, None) for digest, result in _parsed(todo, ctx, limits)]
    return _parse_in_workers(executor, todo, ctx, limits,
                             min(MAX_BATCH, max(50, len(todo) // (pool.workers * 8))))


def _parse_in_workers(executor: Executor, todo: list[SourceFile], ctx: ParseContext, limits: Limits,
                      chunk: int) -> Iterator[tuple[str, ParseResult, bytes | None]]:
    batches = list(_chunks(todo, chunk))
    for part in executor.map(_parse_batch_pickled, batches, [ctx] * len(batches),
                             [limits] * len(batches)):
        for digest, blob in part:
            result: ParseResult = pickle.loads(blob)  # noqa: S301 - from our own worker
            article = result.article
            # An article's fingerprint is its file's digest: one string for both, not two
            # (the cache keeps the digest to the end of the build, the catalog the article).
            if article is not None and article.fingerprint == digest:
                digest = article.fingerprint
            yield digest, result, blob


def cache_key(ctx: ParseContext, limits: Limits) -> str:
    """What parse results depend on besides the bytes: the context and the body limits."""
    return f"{ctx.key}|{limits.parse_key}"


def load_content(content_dir: Path, ctx: ParseContext, *, cache: ParseCache | None = None,
                 pool: WorkerPool | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 limits: Limits | None = None, now: datetime | None = None) -> LoadResult:
    """Load every article under content_dir. Never raises for bad content.

    `progress(done, total)` is called as files that need parsing are parsed.
    `now`, the build's time when its calendar applies, decides which files
    compete for one original URL (`duplicates.py`); without it, all do."""
    limits = limits or Limits()
    key = cache_key(ctx, limits)
    taxonomy, taxonomy_problems = load_taxonomy(content_dir)
    if len(taxonomy.topics) > limits.max_topic_feeds:
        taxonomy_problems.append(ContentError(
            f"declares {len(taxonomy.topics)} topics, more than {limits.max_topic_feeds} "
            "(FEEDSVC_MAX_TOPIC_FEEDS)", path=TOPICS_FILE, line=1))
    sources, scan_problems = scan(content_dir)
    if cache is None or cache.context_key != key:
        cache = ParseCache(key, directory=cache.directory if cache is not None else None)
    cache.load_results()

    todo: list[SourceFile] = []
    results: dict[str, ParseResult] = {}
    digests: dict[str, str] = {}
    cached = 0
    for source in sources:
        entry = cache.entries.get(source.rel)
        if entry is not None and entry.result is not None and entry.size == source.size \
                and entry.mtime_ns == source.mtime_ns:
            results[source.rel] = entry.result
            digests[source.rel] = entry.digest
            cached += 1
        else:
            todo.append(source)
    parsed = 0
    cache_error: str | None = None
    for number, (source, (digest, result, pickled)) in enumerate(
            zip(todo, _parse_all(todo, ctx, pool, limits), strict=True)):
        entry = cache.entries.get(source.rel)
        if digest and entry is not None and entry.result is not None and entry.digest == digest:
            result = entry.result  # touched, not changed
            cached += 1
        else:
            parsed += 1
        results[source.rel] = result
        digests[source.rel] = digest
        if digest:
            cache.put(source.rel, CacheEntry(source.size, source.mtime_ns, digest, result, pickled))
        if pickled is not None and number % SAVE_EVERY == SAVE_EVERY - 1 and cache_error is None:
            try:
                cache.save()  # while the workers parse the next batches; frees the pickled bytes
            except (OSError, sqlite3.Error) as exc:  # a full disk costs incrementality only
                cache_error = f"{type(exc).__name__}: {exc}"
                log.warning("cannot save the parse cache while parsing: %s", cache_error)
        if progress is not None and (number % 100 == 99 or number == len(todo) - 1):
            progress(number + 1, len(todo))
    live = {s.rel for s in sources}
    for rel in [rel for rel in cache.entries if rel not in live]:
        cache.remove(rel)

    problems: list[ContentError] = [*taxonomy_problems, *scan_problems]
    articles, excluded = _articles_of(sources, results, problems)
    articles, duplicate_problems = drop_duplicates(articles, now)
    problems.extend(duplicate_problems)
    articles, limit_problems = vet_articles(articles, taxonomy, limits)
    problems.extend(limit_problems)

    fingerprint = load_fingerprint(key, limits, taxonomy, sources, digests)
    return LoadResult(
        articles=articles, problems=[p.to_problem() for p in problems], taxonomy=taxonomy,
        files=len(sources), excluded=excluded, files_parsed=parsed, files_cached=cached,
        fingerprint=fingerprint,
        taxonomy_errors=[p.to_problem() for p in taxonomy_problems if p.severity == Severity.ERROR],
        content_unavailable=not sources and any(isinstance(p, ContentUnavailable)
                                                for p in scan_problems),
    )


def _articles_of(sources: list[SourceFile], results: dict[str, ParseResult],
                 problems: list[ContentError]) -> tuple[list[Article], int]:
    """The parsed articles in path order (each with its path as found now) and how many
    files were unpublished on purpose; every file's problems, and one line per kind of
    non-news file skipped, go into `problems`."""
    articles: list[Article] = []
    excluded = 0
    not_news: dict[str, list[str]] = {}
    for source in sources:
        result = results[source.rel]
        problems.extend(result.problems)
        if result.skipped_kind is not None:
            not_news.setdefault(result.skipped_kind, []).append(source.rel)
        if result.excluded:
            excluded += 1
        elif result.article is not None:
            article = result.article
            if article.source != source.rel:
                article = replace(article, source=source.rel)
            articles.append(article)
    problems.extend(_not_news_lines(not_news))
    return articles, excluded


def load_fingerprint(key: str, limits: Limits, taxonomy: Taxonomy, sources: list[SourceFile],
                     digests: dict[str, str]) -> str:
    """What a load's result depends on: the parse key, limits, taxonomy, and every
    file's path and content hash (the same for `load_content` and `unchanged_load`)."""
    fingerprint = hashlib.blake2b(digest_size=16)
    fingerprint.update(key.encode())
    fingerprint.update(f"{limits.max_topics_per_article}|{limits.max_topic_feeds}".encode())
    fingerprint.update(taxonomy.fingerprint.encode())
    for source in sources:
        fingerprint.update(f"{source.rel}\0{digests.get(source.rel, '')}\n".encode())
    return fingerprint.hexdigest()


def unchanged_load(content_dir: Path, ctx: ParseContext, cache: ParseCache,
                   limits: Limits | None = None) -> str | None:
    """The fingerprint `load_content` would give, when it can be known without parsing
    or unpickling anything: every file is in the cache with the same size and mtime
    and topics.yml reads without problems. None otherwise (then load for real).

    This is what makes a no-change rebuild cost a directory scan: the build
    compares it with the published generation's and stops there."""
    limits = limits or Limits()
    key = cache_key(ctx, limits)
    if cache.context_key != key:
        return None
    taxonomy, taxonomy_problems = load_taxonomy(content_dir)
    if any(p.severity == Severity.ERROR for p in taxonomy_problems) \
            or len(taxonomy.topics) > limits.max_topic_feeds:
        return None
    sources, scan_problems = scan(content_dir)
    if not sources or any(isinstance(p, ContentUnavailable) for p in scan_problems):
        return None
    digests: dict[str, str] = {}
    for source in sources:
        entry = cache.entries.get(source.rel)
        if entry is None or entry.size != source.size or entry.mtime_ns != source.mtime_ns:
            return None
        digests[source.rel] = entry.digest
    if len(cache.entries) != len(sources):
        return None  # files went away: load, so that the cache forgets them
    return load_fingerprint(key, limits, taxonomy, sources, digests)


def _not_news_lines(not_news: dict[str, list[str]]) -> list[ContentError]:
    """One info line per kind of skipped file, naming the first of them."""
    lines = []
    for kind, paths in sorted(not_news.items()):
        others = f" and {len(paths) - 1} more" if len(paths) > 1 else ""
        lines.append(ContentError(
            f"skipped {len(paths)} file(s) of type `{kind}` ({paths[0]}{others}): "
            "not news, so not published", path=paths[0], severity=Severity.INFO))
    return lines


__all__ = ["TOPICS_FILE", "Limits", "LoadResult", "ParseCache", "cache_key", "load_content",
           "load_fingerprint", "scan", "unchanged_load"]
