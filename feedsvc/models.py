"""The plain data every part of feedsvc passes around.

Frozen, slotted dataclasses: they are shared between the loader, the catalog
and the renderers, cached across builds and sent between worker processes, so
they must be immutable, small and picklable. Every datetime is timezone-aware
UTC; the loader guarantees it, so nothing downstream needs to check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any, TypeVar


def utcnow() -> datetime:
    """The one clock reading feedsvc takes: aware, UTC (tests pass their own times)."""
    return datetime.now(UTC)


class LinkStatus(StrEnum):
    """What one check of an article's original URL found (the store keeps the last).

    The behaviour that belongs to a status lives here, so that adding one is one
    edit: whether it counts towards "dead", whether editors should look at it, the
    order reports and charts list it in, its label and its chart colour (picked
    from a colour-blind-safe palette)."""

    UNCHECKED = "unchecked"
    OK = "ok"
    REDIRECTED = "redirected"
    BLOCKED = "blocked"    # 401/403/429 and other bot walls: unknown, never a failure
    ERROR = "error"        # timeouts, resets, 5xx: transient
    BROKEN = "broken"      # 404, 410, no such host, invalid URL or redirect
    DEFERRED = "deferred"  # not checked this run (politeness): no result at all
    SOFT_404 = "soft_404"  # a story answered as the home page or the site's "not found" page

    @property
    def failing(self) -> bool:
        """Counts towards a link becoming dead."""
        return self in (LinkStatus.BROKEN, LinkStatus.ERROR, LinkStatus.SOFT_404)

    @property
    def needs_attention(self) -> bool:
        """Shown to editors on /links (with dead links, which are failing ones)."""
        return self in (LinkStatus.BROKEN, LinkStatus.ERROR, LinkStatus.BLOCKED,
                        LinkStatus.REDIRECTED, LinkStatus.SOFT_404)

    @property
    def stored(self) -> bool:
        """A status a link can be left in (a deferral leaves the previous one)."""
        return self is not LinkStatus.DEFERRED

    @property
    def checked(self) -> bool:
        """The result of a real check (what a run reports by status)."""
        return self not in (LinkStatus.UNCHECKED, LinkStatus.DEFERRED)

    @property
    def order(self) -> int:
        """Good to bad: the order of report rows and chart bands."""
        return _LINK_ORDER.index(self)

    @property
    def label(self) -> str:
        return _LINK_LABELS[self]

    @property
    def colour(self) -> str:
        return _LINK_COLOURS[self]

    @classmethod
    def in_order(cls, *, stored_only: bool = True) -> tuple[LinkStatus, ...]:
        return tuple(s for s in _LINK_ORDER if s.stored or not stored_only)


# Soft 404 comes last, after broken: a link's stored rank is derived from this order
# (store.linkstore.rank_of), so a new status goes at the end and no stored rank moves.
_LINK_ORDER = (LinkStatus.OK, LinkStatus.REDIRECTED, LinkStatus.UNCHECKED, LinkStatus.DEFERRED,
               LinkStatus.BLOCKED, LinkStatus.ERROR, LinkStatus.BROKEN, LinkStatus.SOFT_404)
_LINK_LABELS = {LinkStatus.OK: "works", LinkStatus.REDIRECTED: "redirects",
                LinkStatus.UNCHECKED: "not checked yet", LinkStatus.DEFERRED: "deferred",
                LinkStatus.BLOCKED: "blocked (bot wall)", LinkStatus.ERROR: "error (transient)",
                LinkStatus.BROKEN: "broken", LinkStatus.SOFT_404: "soft 404 (a dead story shown as a page)"}
# Okabe-Ito, the palette made for colour-blind readers.
_LINK_COLOURS = {LinkStatus.OK: "#009e73", LinkStatus.REDIRECTED: "#0072b2",
                 LinkStatus.UNCHECKED: "#999999", LinkStatus.DEFERRED: "#cccccc",
                 LinkStatus.BLOCKED: "#e69f00", LinkStatus.ERROR: "#d55e00",
                 LinkStatus.BROKEN: "#cc79a7", LinkStatus.SOFT_404: "#56b4e9"}
DEAD = "dead"  # not a status: a failing link that failed long enough (see links.policy)
# What a link listing can be filtered on (`links report --status`, /api/links?status=):
# every status a link can be left in, and `dead`.
LINK_FILTERS: tuple[str, ...] = (*(str(s) for s in LinkStatus.in_order()), DEAD)


class ArticleLink(StrEnum):
    """What the build did to an article's link, from the link checks (links.effects)."""

    AS_WRITTEN = ""
    DEAD = "dead"      # pointed at an archive copy or our page, with a note
    MOVED = "moved"    # a permanent redirect followed


class BuildStatus(StrEnum):
    """How a build ended. Only `published` made a new generation; the refusals keep the
    last good one served and say why in /status and /readyz."""

    PUBLISHED = "published"
    UNCHANGED = "unchanged"
    CONTENT_UNAVAILABLE = "content-unavailable"  # the content directory could not be read
    TAXONOMY_INVALID = "taxonomy-invalid"        # topics.yml has errors
    SHRINK_REFUSED = "shrink-refused"            # too few articles: needs --allow-shrink

    @property
    def refused(self) -> bool:
        return self not in (BuildStatus.PUBLISHED, BuildStatus.UNCHANGED)

    @property
    def label(self) -> str:
        """How /status and /readyz name the state of the content after this build."""
        return _BUILD_LABELS[self]


_BUILD_LABELS = {BuildStatus.PUBLISHED: "ok", BuildStatus.UNCHANGED: "ok",
                 BuildStatus.CONTENT_UNAVAILABLE: "unavailable",
                 BuildStatus.TAXONOMY_INVALID: "taxonomy invalid",
                 BuildStatus.SHRINK_REFUSED: "shrink refused"}


_T = TypeVar("_T")


_FIELDS: dict[type, tuple[tuple[str, ...], Callable[[Any], Any]]] = {}


def evolve(obj: _T, **changes: Any) -> _T:
    """`dataclasses.replace` for the `pickled_as_tuple` classes, about four times
    quicker: it reads the fields' names once per class, not once per call. The
    catalog gives every one of a build's articles its topics this way."""
    names, get = _FIELDS[type(obj)]
    values = dict(zip(names, get(obj), strict=True))
    values.update(changes)
    return type(obj)(**values)


def pickled_as_tuple(cls: type[_T]) -> type[_T]:
    """Pickle a frozen, slotted dataclass as (class, field values).

    The default path for slotted dataclasses calls `dataclasses.fields()` for
    every object pickled and unpickled; parse results travel from worker
    processes and through the parse cache by the thousand, and this halves
    their cost. Every field must be an `__init__` argument (all of ours are).
    """
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    get = attrgetter(*names)
    _FIELDS[cls] = (names, get)
    if len(names) == 1:
        def reduce(self: _T) -> tuple[type[_T], tuple[object, ...]]:
            return cls, (get(self),)
    else:
        def reduce(self: _T) -> tuple[type[_T], tuple[object, ...]]:
            return cls, get(self)
    cls.__reduce__ = reduce  # type: ignore[assignment, method-assign]
    return cls


# Values that many parse results repeat (an outlet, a list of topic names), as this
# process holds them: see `sharing`. Bounded: emptied when full, so hostile content
# with a million outlets costs the sharing, not the memory.
_SHARED: dict[object, object] = {}
SHARED_LIMIT = 50_000
_SHARED_AT: dict[type, tuple[int, ...]] = {}


def shared(value: _T) -> _T:
    """The one copy of a value equal to `value` that this process holds (a string, a
    tuple of strings, a frozen dataclass of them): never a value of another type, as
    equal strings, tuples and dataclasses are always of the same type."""
    if value is None:
        return value
    found = _SHARED.get(value)
    if found is None:
        if len(_SHARED) >= SHARED_LIMIT:
            _SHARED.clear()
        _SHARED[value] = found = value
    return found  # type: ignore[return-value]


def sharing(*names: str) -> Callable[[type[_T]], type[_T]]:
    """`pickled_as_tuple`, with the named fields' values `shared` when unpickled.

    Parse results are unpickled by the hundred thousand (from the worker processes
    and from the parse cache), and each came back with its own copy of the outlet,
    its topic names and the like, which a hundred articles have in common: at
    100,000 files, 50 MB of the build process's memory held equal values."""
    def decorate(cls: type[_T]) -> type[_T]:
        pickled_as_tuple(cls)
        all_names, get = _FIELDS[cls]
        _SHARED_AT[cls] = tuple(all_names.index(name) for name in names)

        def reduce(self: _T) -> tuple[Callable[..., _T], tuple[object, ...]]:
            return _unpickle_sharing, (cls, get(self))
        cls.__reduce__ = reduce  # type: ignore[assignment, method-assign]
        return cls
    return decorate


def _unpickle_sharing(cls: type[_T], values: tuple[object, ...]) -> _T:
    given = list(values)
    for at in _SHARED_AT[cls]:
        given[at] = shared(given[at])
    return cls(*given)


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Image:
    url: str
    width: int | None = None
    height: int | None = None
    title: str | None = None


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Provider:
    """The outlet that published the story (upstream `provider`)."""

    name: str
    domain: str | None = None

    @property
    def url(self) -> str | None:
        return f"https://{self.domain}/" if self.domain else None


@sharing("provider")
@dataclass(frozen=True, slots=True)
class RelatedLink:
    """A story upstream lists as related coverage. Its `publishedDateTime` is not
    read: nothing shows it, and parsing it was a tenth of a file's parse time."""

    title: str
    url: str
    provider: str | None = None


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Event:
    """When and where an event (a conference, a webinar) takes place.

    Kept apart from the article's publication date: a conference announced
    today and held next year is news of today, not of next year, and must not
    sit at the top of every feed until it happens."""

    start: datetime
    end: datetime | None = None
    location: str | None = None


@sharing("provider", "topic_names", "kind")
@dataclass(frozen=True, slots=True)
class Article:
    """One publishable article, whatever file format it came from."""

    id: str
    stem: str
    source: str
    title: str
    summary: str
    content_html: str
    published: datetime
    updated: datetime
    original_url: str | None
    self_published: bool
    topic_names: tuple[str, ...]
    provider: Provider | None = None
    image: Image | None = None
    related: tuple[RelatedLink, ...] = ()
    kind: str = "article"
    quality: int | None = None  # upstream's 0-100 score: FEEDSVC_MIN_QUALITY filters on it
    fingerprint: str = ""
    topics: tuple[str, ...] = ()
    event: Event | None = None
    # False when the file carries no date at all (a bare plain-text article): the
    # build then dates it from git or from when the store first saw it
    # (feedsvc.content.undated), and `published` until then is a placeholder.
    dated: bool = True
    # Set by the build from link checks (feedsvc.links.effects), never by the parser:
    link_status: ArticleLink = ArticleLink.AS_WRITTEN
    link_override: str | None = None  # where the item points instead of original_url
    link_note: str | None = None      # told to readers when the link is dead
    # When the article leaves every published document (front matter `expiryDate`).
    expires: datetime | None = None
    # The line of the file that names its topics: a warning about a topic points there.
    topics_line: int | None = None


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Topic:
    slug: str
    title: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    declared: bool = True


class Severity(StrEnum):
    """How much a content problem matters: an error leaves the file out, a warning
    informs the editor of something likely wrong, an info says what was done."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Problem:
    """A reportable problem in the content, for reports and storage."""

    path: str
    line: int | None
    severity: Severity
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity}: {self.reason}"


class ScheduleAction(StrEnum):
    """What happens to an article at a scheduled time."""

    PUBLISH = "publish"  # dated in the future: absent from everything until then
    EXPIRE = "expire"    # `expiryDate` reached: removed from everything then


@dataclass(frozen=True, slots=True)
class ScheduledChange:
    """An article that appears or leaves at a future time: the clock arms a build for
    `at`, and check, topics, serve and /status list it."""

    at: datetime
    action: ScheduleAction
    path: str
    article_id: str
    title: str
    topics: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "action": str(self.action), "path": self.path,
                "id": self.article_id, "title": self.title, "topics": list(self.topics)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScheduledChange:
        return cls(datetime.fromisoformat(str(data["at"])), ScheduleAction(data["action"]),
                   str(data["path"]), str(data["id"]), str(data.get("title", "")),
                   tuple(data.get("topics") or ()))


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Document:
    """One rendered document on its way to the store.

    `key` hashes everything the bytes depend on; `body` is None when the key
    matches the previous generation's, meaning "reuse the stored body".
    `hot` documents (subscription feeds, a topic's first page, the site's pages) are
    polled all day and get the stronger compression; archive pages (a feed's older
    pages, a topic's later pages) are written once and read rarely.
    """

    path: str
    media_type: str
    updated: datetime
    key: str
    body: bytes | None
    hot: bool = True




@dataclass(frozen=True)
class BuildReport:
    """What one build did. `status`: published, unchanged, or one of the refusals
    that publish nothing and keep the last good generation served:
    content-unavailable (the content directory could not be read),
    taxonomy-invalid (topics.yml has errors) and shrink-refused (far fewer
    articles than the current generation, without --allow-shrink)."""

    status: BuildStatus
    generation: int | None
    started_at: datetime
    duration_s: float
    articles: int
    topics: int
    documents: int
    documents_written: int
    documents_unchanged: int
    files_parsed: int
    files_cached: int
    problems: tuple[Problem, ...] = field(default=())
    timings: dict[str, float] = field(default_factory=dict)
    changed_paths: tuple[str, ...] = field(default=(), repr=False)  # not stored: can be long
    # Articles that appear or leave later, soonest first (left out of this generation).
    schedule: tuple[ScheduledChange, ...] = field(default=())

    @property
    def next_change_at(self) -> datetime | None:
        """When the published site must change without any edit: the clock's next build."""
        return self.schedule[0].at if self.schedule else None

    @property
    def published(self) -> bool:
        return self.status is BuildStatus.PUBLISHED

    @property
    def refused(self) -> bool:
        return self.status.refused

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuildReport:
        """A report as stored (JSON: `build._report_dict`), typed again for its readers
        (/status, /readyz, /metrics); keys it does not know are ignored."""
        return cls(
            status=BuildStatus(data["status"]), generation=data.get("generation"),
            started_at=datetime.fromisoformat(str(data["started_at"])),
            duration_s=float(data.get("duration_s", 0.0)), articles=int(data.get("articles", 0)),
            topics=int(data.get("topics", 0)), documents=int(data.get("documents", 0)),
            documents_written=int(data.get("documents_written", 0)),
            documents_unchanged=int(data.get("documents_unchanged", 0)),
            files_parsed=int(data.get("files_parsed", 0)),
            files_cached=int(data.get("files_cached", 0)),
            problems=tuple(Problem(p["path"], p.get("line"), Severity(p["severity"]), p["reason"])
                           for p in data.get("problems", [])),
            timings={str(k): float(v) for k, v in (data.get("timings") or {}).items()},
            schedule=tuple(ScheduledChange.from_dict(c) for c in data.get("schedule") or ()),
        )

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p.severity == Severity.WARNING)
