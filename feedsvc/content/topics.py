"""The topic taxonomy (`content/topics.yml`) and how article topics map onto it.

Editors and the upstream feed name topics freely ("Ethics of AI", "AI Ethics",
"ai-ethics"). Each topic has one slug, which is its feed's URL and so must
never change; aliases and keywords route every spelling and every untagged
article to it. A topic an article names but the file lacks still gets a feed
(its slugified name) so nothing is silently dropped, with a warning so editors
can add it properly.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from feedsvc.content.files import MAX_SLUG_LENGTH, NotARegularFile, read_regular_file
from feedsvc.content.markup import one_line
from feedsvc.content.problems import ContentError, warning
from feedsvc.models import Topic

TOPICS_FILE = "topics.yml"
RESERVED_SLUGS = frozenset({"all", "archive", "index", "opml"})
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@functools.lru_cache(maxsize=65_536)
def slugify(name: str) -> str:
    """ASCII, lower-case, hyphenated; stable for a given name.

    Memoised: a build asks for the slug of each topic name of each article
    (70,000 calls at 10,000 files), and there are only a few hundred names."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if not slug:
        slug = "topic-" + "-".join(f"{ord(ch):x}" for ch in name.strip()[:8]) if name.strip() else "topic"
    if slug in RESERVED_SLUGS:
        slug += "-topic"
    return slug


def _key(name: str) -> str:
    """How a topic name is compared: case, accents and punctuation do not matter."""
    return slugify(name)


@dataclass
class Taxonomy:
    topics: dict[str, Topic] = field(default_factory=dict)
    _names: dict[str, str] = field(default_factory=dict)
    _keyword_re: re.Pattern[str] | None = None
    _keyword_slugs: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_topics(cls, topics: list[Topic]) -> Taxonomy:
        taxonomy = cls()
        for topic in topics:
            taxonomy.topics[topic.slug] = topic
            for name in (topic.slug, topic.title, *topic.aliases):
                taxonomy._names.setdefault(_key(name), topic.slug)
        keywords: dict[str, list[str]] = {}
        for topic in topics:
            for keyword in topic.keywords:
                keywords.setdefault(keyword.lower(), []).append(topic.slug)
        if keywords:
            ordered = sorted(keywords, key=lambda k: (-len(k), k))
            taxonomy._keyword_re = re.compile(
                r"\b(" + "|".join(re.escape(k) for k in ordered) + r")\b", re.IGNORECASE)
            taxonomy._keyword_slugs = {k: tuple(v) for k, v in keywords.items()}
        return taxonomy

    def lookup(self, name: str) -> str | None:
        return self._names.get(_key(name))

    def suggest(self, name: str) -> str | None:
        """The declared name (slug, title or alias) closest to an unknown one, for a
        did-you-mean: a typo in a topic must be easy to spot and fix."""
        import difflib

        names: dict[str, str] = {}
        for topic in self.topics.values():
            for known in (topic.title, *topic.aliases, topic.slug):
                names.setdefault(known.lower(), known)
        close = difflib.get_close_matches(name.lower(), list(names), n=1, cutoff=0.7)
        return names[close[0]] if close else None

    def by_keywords(self, text: str) -> tuple[str, ...]:
        """Slugs whose keywords occur in the text, in taxonomy order."""
        if self._keyword_re is None:
            return ()
        found: set[str] = set()
        for match in self._keyword_re.finditer(text):
            found.update(self._keyword_slugs[match.group(1).lower()])
        return tuple(slug for slug in self.topics if slug in found)

    @property
    def fingerprint(self) -> str:
        return repr(sorted((t.slug, t.title, t.description, t.aliases, t.keywords)
                           for t in self.topics.values()))


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.split("\n"), start=1):
        if needle in line:
            return number
    return None


def parse_taxonomy(text: str, source: str = TOPICS_FILE) -> tuple[Taxonomy, list[ContentError]]:
    """Parse topics.yml; bad entries are reported and skipped, good ones kept.

    The build refuses to publish while any error is reported (see LoadResult.taxonomy_errors);
    `feedsvc check` shows them all at once."""
    # Imported here: a content directory without topics.yml never needs a YAML parser.
    import yaml

    from feedsvc.content.yamlsafe import AliasedCollectionError, error_location, load_yaml

    problems: list[ContentError] = []
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        where, reason = error_location(exc)
        problems.append(ContentError(f"invalid YAML: {reason}", path=source, line=where))
        return Taxonomy.from_topics([]), problems
    except (AliasedCollectionError, RecursionError) as exc:
        problems.append(ContentError(f"unreadable: {exc}", path=source, line=1))
        return Taxonomy.from_topics([]), problems
    entries = data.get("topics") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        problems.append(ContentError("expected a `topics:` list", path=source, line=1))
        return Taxonomy.from_topics([]), problems
    topics: list[Topic] = []
    seen_names: dict[str, str] = {}
    for number, entry in enumerate(entries, start=1):
        line = None
        if isinstance(entry, dict) and isinstance(entry.get("slug"), str):
            line = _line_of(text, f"slug: {entry['slug']}")
        try:
            topic = _topic_from_entry(entry, number)
        except ContentError as exc:
            exc.path, exc.line = source, exc.line or line
            problems.append(exc)
            continue
        clash = next((seen_names[_key(n)] for n in (topic.slug, topic.title, *topic.aliases)
                      if _key(n) in seen_names), None)
        if clash is not None:
            problems.append(ContentError(
                f"topic {topic.slug!r} repeats a slug, title or alias of topic {clash!r}",
                path=source, line=line))
            continue
        for name in (topic.slug, topic.title, *topic.aliases):
            seen_names[_key(name)] = topic.slug
        topics.append(topic)
    return Taxonomy.from_topics(topics), problems


def _string_list(entry: Mapping[str, object], key: str, number: int) -> tuple[str, ...]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise ContentError(f"topic #{number}: `{key}` must be a list of names")
    return tuple(one_line(str(v)) for v in value if str(v).strip())


def _topic_from_entry(entry: object, number: int) -> Topic:
    if not isinstance(entry, dict):
        raise ContentError(f"topic #{number} must be a mapping with `slug` and `title`")
    slug = entry.get("slug")
    title = entry.get("title")
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
        raise ContentError(f"topic #{number}: `slug` must be lower-case words joined by "
                           f"hyphens, got {slug!r}")
    if slug in RESERVED_SLUGS:
        raise ContentError(f"topic #{number}: the slug {slug!r} is reserved")
    if len(slug) > MAX_SLUG_LENGTH:
        raise ContentError(f"topic #{number}: the slug is {len(slug)} characters long, over "
                           f"{MAX_SLUG_LENGTH} (it is the feed's URL and file name)")
    if not isinstance(title, str) or not title.strip():
        raise ContentError(f"topic {slug!r} has no `title`")
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise ContentError(f"topic {slug!r}: `description` must be text")
    return Topic(slug, one_line(title), one_line(description),
                 _string_list(entry, "aliases", number), _string_list(entry, "keywords", number))


MAX_TAXONOMY_SIZE = 1_048_576


def load_taxonomy(content_dir: Path) -> tuple[Taxonomy, list[ContentError]]:
    """Read and parse topics.yml; any error in it is an error of the whole taxonomy.

    The file is read like an article (never blocking on a FIFO, regular files
    only) and a symbolic link leaving the content directory is refused, not
    followed: text from outside must never reach a page. A missing file is
    only a warning (a site may have no taxonomy); an unreadable one is an error.
    """
    path = content_dir / TOPICS_FILE
    if not os.path.lexists(path):
        return Taxonomy.from_topics([]), [warning(
            f"no {TOPICS_FILE}: every topic named by an article becomes its own feed")
            .located(TOPICS_FILE)]
    try:
        real = Path(os.path.realpath(path, strict=True))
        if not real.is_relative_to(content_dir.resolve(strict=True)):
            return Taxonomy.from_topics([]), [ContentError(
                "symbolic link points outside the content directory; refused", path=TOPICS_FILE)]
        data = read_regular_file(real, MAX_TAXONOMY_SIZE)
        if len(data) > MAX_TAXONOMY_SIZE:
            raise ContentError(f"over the limit of {MAX_TAXONOMY_SIZE:,} bytes")
        text = data.decode("utf-8-sig")
    except NotARegularFile as exc:
        return Taxonomy.from_topics([]), [ContentError(f"cannot read: {exc}", path=TOPICS_FILE)]
    except (OSError, RuntimeError) as exc:
        return Taxonomy.from_topics([]), [ContentError(
            f"cannot read: {getattr(exc, 'strerror', None) or exc}", path=TOPICS_FILE)]
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return Taxonomy.from_topics([]), [ContentError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            path=TOPICS_FILE, line=line)]
    except ContentError as exc:
        return Taxonomy.from_topics([]), [exc.located(TOPICS_FILE)]
    return parse_taxonomy(text)
