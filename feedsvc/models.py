"""The plain data every part of feedsvc passes around.

Frozen, slotted dataclasses: they are shared between the loader, the catalog
and the renderers, cached across builds and sent between worker processes, so
they must be immutable, small and picklable. Every datetime is timezone-aware
UTC; the loader guarantees it, so nothing downstream needs to check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    width: int | None = None
    height: int | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    """The outlet that published the story (upstream `provider`)."""

    name: str
    domain: str | None = None

    @property
    def url(self) -> str | None:
        return f"https://{self.domain}/" if self.domain else None


@dataclass(frozen=True, slots=True)
class RelatedLink:
    title: str
    url: str
    published: datetime | None = None
    provider: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """When and where an event (a conference, a webinar) takes place.

    Kept apart from the article's publication date: a conference announced
    today and held next year is news of today, not of next year, and must not
    sit at the top of every feed until it happens."""

    start: datetime
    end: datetime | None = None
    location: str | None = None


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
    quality: int | None = None
    heat: int | None = None
    fingerprint: str = ""
    topics: tuple[str, ...] = ()
    event: Event | None = None
    # False when the file carries no date at all (a bare plain-text article): the
    # build then dates it from git or from when the store first saw it
    # (feedsvc.content.undated), and `published` until then is a placeholder.
    dated: bool = True
    # Set by the build from link checks (feedsvc.links.effects), never by the parser:
    link_status: str = ""             # "", "dead" or "moved"
    link_override: str | None = None  # where the item points instead of original_url
    link_note: str | None = None      # told to readers when the link is dead


@dataclass(frozen=True, slots=True)
class Topic:
    slug: str
    title: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    declared: bool = True


@dataclass(frozen=True, slots=True)
class Problem:
    """A reportable problem in the content, for reports and storage."""

    path: str
    line: int | None
    severity: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Document:
    """One rendered document on its way to the store.

    `key` hashes everything the bytes depend on; `body` is None when the key
    matches the previous generation's, meaning "reuse the stored body".
    `hot` documents (subscription feeds, pages) are polled all day and get the
    stronger compression; archive pages are written once and read rarely.
    """

    path: str
    media_type: str
    updated: datetime
    key: str
    body: bytes | None
    hot: bool = True


REFUSED_STATUSES = ("content-unavailable", "taxonomy-invalid", "shrink-refused")


@dataclass(frozen=True)
class BuildReport:
    """What one build did. `status`: published, unchanged, or one of the refusals
    that publish nothing and keep the last good generation served:
    content-unavailable (the content directory could not be read),
    taxonomy-invalid (topics.yml has errors) and shrink-refused (far fewer
    articles than the current generation, without --allow-shrink)."""

    status: str
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

    @property
    def published(self) -> bool:
        return self.status == "published"

    @property
    def refused(self) -> bool:
        return self.status in REFUSED_STATUSES

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p.severity == "warning")
