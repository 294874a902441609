"""Turn the bytes of one article file into an `Article`, or say precisely why not.

Pure: no file system, no clock, no settings beyond the `ParseContext` passed
in, so results can be cached by content hash and computed in worker processes.
Two formats share one model:

* Markdown with YAML front matter, in the upstream schema (`publishedDateTime`,
  `originalUrl`, `provider`, `images`, `related`, ...) or the short spelling
  editors type by hand (`date`, `url`, `summary`, `tags`, `id`, `updated`);
* plain text with no front matter: title, standfirst, body. We publish those
  ourselves, so their link is our own article page and their date comes from
  the `YYYY-MM-DD-` file-name prefix (never the mtime, which checkout changes).
  A file with no date at all is still an article: it comes back `dated=False`
  and the build gives it an honest, stable date (feedsvc.content.undated).
  Text pasted from a web page carries page clutter (a photo caption and its
  credit, a newsletter sign-up footer); the shapes recognised are those of
  `feedsvc.content.clutter`, and they are left out of the article.

Upstream also keeps things that are not news (profiles of people, courses,
books, collections of links). They are skipped, not reported as errors:
`ParseResult.skipped_kind` says which kind.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import yaml
from frontmatter.default_handlers import YAMLHandler

from feedsvc.content.clutter import split_plain_text
from feedsvc.content.context import ParseContext, content_hash
from feedsvc.content.dates import DateParseError, date_from_filename, parse_datetime
from feedsvc.content.fastyaml import load_front_matter
from feedsvc.content.markup import (
    first_forbidden_line,
    markdown_to_safe_html,
    one_line,
    strip_forbidden,
)
from feedsvc.content.problems import ContentError, warning
from feedsvc.content.yamlsafe import AliasedCollectionError, error_location
from feedsvc.models import Article, Event, Image, Provider, RelatedLink, Severity, pickled_as_tuple
from feedsvc.urls import Urls

BOM = b"\xef\xbb\xbf"

# Field spellings, preferred first. The upstream schema and the hand-typed one.
TITLE_FIELDS = ("title", "name")
SUMMARY_FIELDS = ("summary", "excerpt", "description")
DATE_FIELDS = ("date", "publishedDateTime", "pubDate")
# Upstream `type`s that are not news items: skipped with one line per kind.
NOT_NEWS_KINDS = frozenset({"profile", "person", "course", "book", "collection"})
UPDATED_FIELDS = ("updated", "modified", "lastModified", "dateModified")
EXPIRY_FIELDS = ("expiryDate", "expires", "expiry")
LINK_FIELDS = ("url", "originalUrl", "webUrl", "website")
TOPIC_FIELDS = ("topics", "tags", "categories")

_WHITE_SPACE = re.compile(r"\s")
_HEADING_MARK = re.compile(r"^\s{0,3}#{1,6}\s+")
# A top-level `published: false` (or `draft: true`) line: the file is left out
# before its YAML is parsed. Upstream, 40% of files are unpublished, and YAML
# parsing is most of a cold build.
_UNPUBLISHED_LINE = re.compile(
    r"^(?:published:[ \t]*(?:false|False|FALSE)|draft:[ \t]*(?:true|True|TRUE))[ \t]*(?:#.*)?$", re.M)


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class ParseResult:
    """What one file gave: an article, or nothing (error or unpublished), plus problems."""

    article: Article | None
    problems: tuple[ContentError, ...]
    excluded: bool = False
    skipped_kind: str | None = None  # set (with excluded) for files that are not news

    @property
    def ok(self) -> bool:
        return self.article is not None


def parse_article(source: str, data: bytes, ctx: ParseContext,
                  digest: str | None = None) -> ParseResult:
    """Parse one file. Never raises for bad input: problems come back in the result.
    `digest` is `content_hash(data)` when the caller has it already (the loader)."""
    problems: list[ContentError] = []
    skipped_kind: str | None = None
    try:
        article, excluded = _parse(source, data, ctx, problems, digest or content_hash(data))
    except _NotNews as exc:
        article, excluded, skipped_kind = None, True, exc.kind
        problems.clear()  # a profile's missing date or link is nobody's problem
    except ContentError as exc:
        problems.append(exc)
        article, excluded = None, False
    except RecursionError:
        problems.append(ContentError("the file nests too deeply to be read", line=1))
        article, excluded = None, False
    for problem in problems:
        problem.located(source)
    return ParseResult(article, tuple(problems), excluded, skipped_kind)


class _NotNews(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _parse(source: str, data: bytes, ctx: ParseContext, problems: list[ContentError],
           fingerprint: str) -> tuple[Article | None, bool]:
    if data.startswith(BOM):
        data = data[len(BOM):]
        problems.append(warning("file starts with a UTF-8 byte order mark; it was ignored", 1))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ContentError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8", line=line) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    bad_line = first_forbidden_line(text)
    if bad_line is not None:
        text, count = strip_forbidden(text)
        problems.append(warning(
            f"removed {count} control character(s) that XML does not allow", bad_line))
    stem = PurePosixPath(source).stem
    lines = text.split("\n", 1)
    if lines[0].rstrip() == "---":
        return _parse_front_matter(source, stem, text, ctx, fingerprint, problems)
    return _parse_plain(source, stem, text, ctx, fingerprint, problems), False


# --- front matter -----------------------------------------------------------

class _Fields:
    """The front-matter mapping plus the line each top-level key is on."""

    def __init__(self, meta: dict[str, Any], yaml_text: str) -> None:
        # yaml_text starts right after the opening '---', so its line 0 is file line 1.
        self.meta = {str(k): v for k, v in meta.items()}
        self._yaml_lines = yaml_text.split("\n")
        self._line_of: dict[str, int] = {}

    def line(self, key: str) -> int:
        """The line `key:` is on (1 when not found); each key is looked for once, as
        several checks of one field ask for it."""
        number = self._line_of.get(key)
        if number is None:
            number = self._line_of[key] = self._find_line(key)
        return number

    def _find_line(self, key: str) -> int:
        pattern = re.compile(rf"^['\"]?{re.escape(key)}['\"]?\s*:")
        for number, text in enumerate(self._yaml_lines, start=1):
            if text.startswith((key, "'", '"')) and pattern.match(text):
                return number
        return 1

    def first(self, names: tuple[str, ...]) -> tuple[str | None, Any]:
        for name in names:
            value = self.meta.get(name)
            if value is not None and value != "":
                return name, value
        return None, None

    def text(self, names: tuple[str, ...], *, required: str | None = None) -> tuple[str, str | None]:
        key, value = self.first(names)
        if key is None:
            if required:
                raise ContentError(required, line=1)
            return "", None
        if isinstance(value, (dict, list)):
            raise ContentError(f"`{key}` must be text, not a {_yaml_kind(value)}",
                               line=self.line(key))
        return one_line(str(value)), key


def _yaml_kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    return "mapping" if isinstance(value, dict) else type(value).__name__


def _split_front_matter(text: str) -> tuple[str, str]:
    """(front matter, body), exactly as python-frontmatter's YAMLHandler.split gives them.

    It finds every boundary in the whole file and splits on a regex; this looks
    for the first two with the same pattern and slices, which is the same
    result for a fraction of the work on long bodies (tests/content compare
    the two on every real file, and on generated ones)."""
    first = _boundary(text, 0)
    second = _boundary(text, first.end()) if first is not None else None
    if first is None or second is None:
        raise ContentError("front matter opened with '---' on line 1 is never closed "
                           "(add a line with '---' after the last field)", line=1)
    return text[first.end():second.start()], text[second.end():]


def _boundary(text: str, start: int) -> re.Match[str] | None:
    """`FM_BOUNDARY.search(text, start)`, trying only where it can match: a line that
    starts with "-" (the pattern is `^-{3,}\\s*$`, multi-line). A regex search tries
    every position of the front matter; this was a twentieth of parsing."""
    boundary = YAMLHandler.FM_BOUNDARY
    if start == 0:
        match = boundary.match(text)
        if match is not None:
            return match
    newline = text.find("\n-", max(start - 1, 0))
    while newline >= 0:
        match = boundary.match(text, newline + 1)
        if match is not None:
            return match
        newline = text.find("\n-", newline + 1)
    return None


def _parse_front_matter(source: str, stem: str, text: str, ctx: ParseContext, fingerprint: str,
                        problems: list[ContentError]) -> tuple[Article | None, bool]:
    yaml_text, body = _split_front_matter(text)
    if _UNPUBLISHED_LINE.search(yaml_text):
        return None, True
    try:
        meta = load_front_matter(yaml_text)
    except yaml.YAMLError as exc:
        line, reason = error_location(exc)
        raise ContentError(f"invalid YAML in front matter: {reason}", line=line) from None
    except AliasedCollectionError as exc:
        raise ContentError(str(exc), line=1) from None
    if meta is None:
        raise ContentError("front matter is empty", line=1)
    if not isinstance(meta, dict):
        raise ContentError(f"front matter must be a mapping of `field: value` lines, "
                           f"not a {_yaml_kind(meta)}", line=2)
    fields = _Fields(meta, yaml_text)

    if _is_unpublished(fields):
        return None, True
    kind = _kind(fields)
    if kind in NOT_NEWS_KINDS:
        raise _NotNews(kind)
    if fields.meta.get("levels") and fields.first(DATE_FIELDS)[0] is None \
            and date_from_filename(stem) is None:
        # Upstream gives only learning resources (tutorials, guides) `levels`
        # (Beginner, Advanced); undated, they are reading lists, not news.
        raise _NotNews("learning resource")

    problems.extend(unknown_field_warnings(fields))
    if fields.first(TITLE_FIELDS)[0] is None and fields.first(LINK_FIELDS)[0] is None:
        return _parse_own_with_header(source, stem, body, fields, ctx, fingerprint, problems,
                                      text), False
    # Every problem of the file at once, not the first only: each required field is
    # checked on its own, and any error among them leaves the file out afterwards.
    title = _collect(problems, lambda: _title(fields))
    summary, _ = fields.text(SUMMARY_FIELDS)
    published = _collect(problems, lambda: _published_date(fields, stem, problems))
    updated = (_collect(problems, lambda: _updated_date(fields, published, problems))
               if published is not None else None)
    link = _collect(problems, lambda: _link(fields, problems))
    article_id = _collect(problems, lambda: _article_id(fields, stem, ctx))
    topic_names = _topic_names(fields, problems)
    provider, image = _provider(fields, problems), _image(fields, problems)
    related, event = _related(fields, problems), _event(fields, problems)
    quality = _integer(fields, "quality", problems)
    if (title is None or published is None or updated is None or link is None
            or article_id is None):
        return None, False
    expires = _expiry(fields, published, problems)
    return Article(
        id=article_id, stem=stem, source=source, title=title, summary=summary,
        content_html=_body_html(body, stem, ctx, problems, text),
        published=published, updated=updated, original_url=link, self_published=False,
        topic_names=topic_names, provider=provider, image=image, related=related,
        kind=kind, event=event, quality=quality, fingerprint=fingerprint, expires=expires,
        topics_line=_topics_line(fields),
    ), False


_V = TypeVar("_V")


def _collect(problems: list[ContentError], check: Callable[[], _V]) -> _V | None:
    """Run one field's check; its error joins the file's problems instead of ending them."""
    try:
        return check()
    except ContentError as exc:
        problems.append(exc)
        return None


def _title(fields: _Fields) -> str:
    title, _ = fields.text(TITLE_FIELDS, required="no title: add a `title:` field")
    if not title:
        raise ContentError("the title is empty", line=fields.line("title"))
    return title


# Every top-level field the parser reads, and the upstream ones it knows and ignores:
# anything else is most likely a typo (`tite:`), which would silently lose the value.
KNOWN_FIELDS = frozenset({
    *TITLE_FIELDS, *SUMMARY_FIELDS, *DATE_FIELDS, *UPDATED_FIELDS, *EXPIRY_FIELDS, *LINK_FIELDS,
    *TOPIC_FIELDS,
    "id", "published", "draft", "removed", "provider", "source", "outlet", "image", "images",
    "related", "type", "quality", "startDateTime", "endDateTime", "startDate", "endDate",
    "location", "levels",
})
IGNORED_UPSTREAM_FIELDS = frozenset({
    "heat", "secured", "category", "ampWebUrl", "cdnAmpWebUrl", "price", "length",
    "featuredContent", "ratings", "bio", "twitter", "linkedin", "wikipedia", "items",
    "affiliation", "googleScholar",
})


def did_you_mean(name: str, candidates: Iterable[str], *, cutoff: float = 0.7) -> str | None:
    """The closest candidate to a misspelt name (difflib's ratio), or None."""
    options = sorted(set(candidates))
    by_lower = {c.lower(): c for c in options}
    matches = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=cutoff)
    return by_lower[matches[0]] if matches else None


def unknown_field_warnings(fields: _Fields) -> list[ContentError]:
    """A warning per top-level field the parser does not know, with the likely intended one."""
    out = []
    for key in fields.meta:
        if key in KNOWN_FIELDS or key in IGNORED_UPSTREAM_FIELDS:
            continue
        guess = did_you_mean(key, KNOWN_FIELDS)
        hint = f" (did you mean `{guess}`?)" if guess else ""
        out.append(warning(f"unknown field `{key}`{hint}; it is ignored", fields.line(key)))
    return out


def _is_unpublished(fields: _Fields) -> bool:
    meta = fields.meta
    return meta.get("published") is False or meta.get("draft") is True or meta.get("removed") is True


def _published_date(fields: _Fields, stem: str, problems: list[ContentError]) -> datetime:
    key, value = fields.first(DATE_FIELDS)
    if key is None and isinstance(fields.meta.get("published"), str):
        key, value = "published", fields.meta["published"]
    if key is None:
        from_name = date_from_filename(stem)
        if from_name is not None:
            return from_name
        raise ContentError("no publication date: add a `date:` field (or `publishedDateTime:`), "
                           "or start the file name with YYYY-MM-DD-", line=1)
    return _date_value(fields, key, value, problems)


def _date_value(fields: _Fields, key: str, value: Any, problems: list[ContentError]) -> datetime:
    try:
        moment, naive = parse_datetime(value)
    except DateParseError as exc:
        raise ContentError(f"`{key}`: {exc}", line=fields.line(key)) from None
    if naive:
        problems.append(warning(f"`{key}` has no time zone; taken as UTC", fields.line(key)))
    return moment


def _event(fields: _Fields, problems: list[ContentError]) -> Event | None:
    """Event metadata (`startDateTime`, `endDateTime`, `location`), never the publication date."""
    key, value = fields.first(("startDateTime", "startDate"))
    if key is None:
        return None
    try:
        start = _date_value(fields, key, value, problems)
        end_key, end_value = fields.first(("endDateTime", "endDate"))
        end = _date_value(fields, end_key, end_value, problems) if end_key else None
    except ContentError as exc:
        problems.append(warning(f"event dates ignored: {exc.reason}", exc.line))
        return None
    if end is not None and end < start:
        problems.append(warning("`endDateTime` is before `startDateTime`; the end is ignored",
                                fields.line("endDateTime")))
        end = None
    location = fields.meta.get("location")
    place = one_line(location) if isinstance(location, str) and location.strip() else None
    return Event(start, end, place)


def _updated_date(fields: _Fields, published: datetime, problems: list[ContentError]) -> datetime:
    key, value = fields.first(UPDATED_FIELDS)
    if key is None:
        return published
    updated = _date_value(fields, key, value, problems)
    if updated < published:
        problems.append(warning(f"`{key}` is before the publication date; using the "
                                "publication date", fields.line(key)))
        return published
    return updated


def _expiry(fields: _Fields, published: datetime, problems: list[ContentError]) -> datetime | None:
    """When the article leaves the feeds, or None. One not after the publication date
    would publish nothing at all: most likely a typo, so it is ignored, with a warning."""
    key, value = fields.first(EXPIRY_FIELDS)
    if key is None:
        return None
    try:
        expires = _date_value(fields, key, value, problems)
    except ContentError as exc:
        problems.append(warning(f"{exc.reason}; the article does not expire", exc.line))
        return None
    if expires <= published:
        problems.append(warning(f"`{key}` is not after the publication date, so the article "
                                "would never be published; it is ignored", fields.line(key)))
        return None
    return expires


# An HTML character reference, terminated: WordPress writes `&` in URLs as `&#038;`.
# Only terminated references are decoded: `?a=1&copy=2` is a query, not `©=2`.
_CHARACTER_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|amp|quot|apos|lt|gt);")


def decode_references(url: str) -> str:
    """The URL with HTML character references decoded, once (`&amp;#038;` gives
    `&#038;`: a reference written on purpose stays one)."""
    return _CHARACTER_REFERENCE.sub(lambda m: html.unescape(m[0]), url) if "&" in url else url


# An http(s) URL that `check_url` gives back as it is: ASCII with no white space and
# no "&" (so no character reference to decode), a plain host name, a port of at most
# four digits, then a path. Most URLs in front matter are such, and one match is a
# fraction of what splitting and checking them costs (a file names three on
# average); every other URL is checked in full (`check_url_in_full`).
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,4})?/[!-%'-~]*")


def check_url(value: Any) -> str:
    """Return the URL stripped, with its HTML character references decoded and an
    empty path written as `/`, or raise ValueError saying what is wrong with it."""
    if isinstance(value, str) and _PLAIN_URL.fullmatch(value):
        return value
    return check_url_in_full(value)


def check_url_in_full(value: Any) -> str:
    """`check_url` without its shortcut for plain URLs."""
    if not isinstance(value, str):
        raise ValueError(f"expected a URL, got a {_yaml_kind(value)}")
    url = decode_references(value.strip())
    if _WHITE_SPACE.search(url):
        raise ValueError(f"{url!r} contains white space")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - validates the port
    except ValueError as exc:
        raise ValueError(f"{url!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        if not parts.scheme:
            raise ValueError(f"{url!r} is relative; use an absolute http(s) URL")
        raise ValueError(f"{url!r} uses the scheme {parts.scheme!r}; only http and https are allowed")
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host name")
    if not parts.path:
        url = urlunsplit(parts._replace(path="/"))
    return as_uri(url) if not url.isascii() else url


def _url_field(key: str, value: Any, fields: _Fields, problems: list[ContentError]) -> str:
    """check_url, telling the editor when it had to decode references (upstream's
    escaping: left as written, every client would cut the URL at `#`). The line of
    `key` is looked for only then: finding it was 5% of parsing a file."""
    url = check_url(value)
    written = value.strip()
    if decode_references(written) != written:
        problems.append(ContentError(f"`{key}`: HTML character references decoded: {written!r} "
                                     f"is published as {url!r}", line=fields.line(key),
                                     severity=Severity.INFO))
    return url


_URI_SAFE = "/:@!$&'()*+,;=-._~%"


def as_uri(url: str) -> str:
    """An IRI as the URI every feed format and client expects: the host in IDNA
    (punycode), everything else percent-encoded as UTF-8 (RFC 3987 3.1).
    Already-encoded parts stay as they are."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise ValueError(f"{url!r} has a host name that cannot be encoded ({exc})") from None
    netloc = host if ":" not in host else f"[{host}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    if parts.username is not None:
        user = quote(parts.username, safe="!$&'()*+,;=-._~%")
        password = f":{quote(parts.password, safe=_URI_SAFE)}" if parts.password is not None else ""
        netloc = f"{user}{password}@{netloc}"
    path = quote(parts.path, safe=_URI_SAFE)
    query = quote(parts.query, safe=_URI_SAFE + "?")
    fragment = quote(parts.fragment, safe=_URI_SAFE + "?#")
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


def _link(fields: _Fields, problems: list[ContentError]) -> str:
    key, value = fields.first(LINK_FIELDS)
    if key is None:
        raise ContentError("no link: add a `url:` field (or `originalUrl:`) with the "
                           "address of the original article", line=1)
    try:
        return _url_field(key, value, fields, problems)
    except ValueError as exc:
        raise ContentError(f"`{key}`: {exc}", line=fields.line(key)) from None


def tag_uri(authority: str, stem: str) -> str:
    return f"tag:{authority}:articles/{quote(stem, safe='-._~!$&()*+,;=:@')}"


def _article_id(fields: _Fields, stem: str, ctx: ParseContext) -> str:
    value = fields.meta.get("id")
    if value is None:
        return tag_uri(ctx.id_authority, stem)
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
        raise ContentError("`id` must be a non-empty text", line=fields.line("id"))
    ident = str(value).strip()
    if _WHITE_SPACE.search(ident):
        raise ContentError("`id` must not contain white space", line=fields.line("id"))
    return ident


def _topic_names(fields: _Fields, problems: list[ContentError]) -> tuple[str, ...]:
    key, value = fields.first(("topics",))
    if key is None:
        key, value = fields.first(TOPIC_FIELDS)
    if key is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        problems.append(warning(f"`{key}` should be a list of topic names; ignored",
                                fields.line(key)))
        return ()
    names: list[str] = []
    for item in value:
        if isinstance(item, (dict, list)) or item is None:
            problems.append(warning(f"`{key}` has an entry that is not a name; ignored",
                                    fields.line(key)))
            continue
        name = one_line(str(item))
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _topics_line(fields: _Fields) -> int | None:
    key = fields.first(("topics",))[0] or fields.first(TOPIC_FIELDS)[0]
    return fields.line(key) if key is not None else None


def _provider(fields: _Fields, problems: list[ContentError]) -> Provider | None:
    value = fields.meta.get("provider", fields.meta.get("source", fields.meta.get("outlet")))
    if value is None:
        return None
    if isinstance(value, str):
        return Provider(one_line(value)) if value.strip() else None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"].strip():
        problems.append(warning("`provider` should have a `name`; ignored", fields.line("provider")))
        return None
    domain = value.get("domain")
    domain = domain.strip().lower() if isinstance(domain, str) and domain.strip() else None
    if domain and not re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", domain):
        problems.append(warning(f"`provider.domain` {domain!r} is not a domain name; ignored",
                                fields.line("provider")))
        domain = None
    return Provider(one_line(value["name"]), domain)


def _image(fields: _Fields, problems: list[ContentError]) -> Image | None:
    value = fields.meta.get("image")
    key = "image"
    if value is None and isinstance(fields.meta.get("images"), list) and fields.meta["images"]:
        value, key = fields.meta["images"][0], "images"
    if value is None:
        return None
    if isinstance(value, str):
        value = {"url": value}
    if not isinstance(value, dict):
        problems.append(warning(f"`{key}` should be a URL or a mapping with `url`; ignored",
                                fields.line(key)))
        return None
    try:
        url = _url_field(key, value.get("url"), fields, problems)
    except ValueError as exc:
        problems.append(warning(f"`{key}` URL ignored: {exc}", fields.line(key)))
        return None
    title = value.get("title")
    return Image(url, _positive(value.get("width")), _positive(value.get("height")),
                 one_line(title) if isinstance(title, str) and title.strip() else None)


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _related(fields: _Fields, problems: list[ContentError]) -> tuple[RelatedLink, ...]:
    value = fields.meta.get("related")
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(warning("`related` should be a list; ignored", fields.line("related")))
        return ()
    links: list[RelatedLink] = []
    seen: set[str] = set()
    for item in value:
        if isinstance(item, str):
            item = {"url": item, "title": item}
        if not isinstance(item, dict):
            continue
        _, raw_url = _Fields(item, "").first(("url", "originalUrl", "webUrl"))
        title = item.get("title")
        try:
            url = _url_field("related", raw_url, fields, problems)
        except ValueError:
            problems.append(warning("a `related` entry has no valid absolute URL; skipped",
                                    fields.line("related")))
            continue
        if url in seen:
            continue
        seen.add(url)
        provider = item.get("provider")
        provider_name = provider.get("name") if isinstance(provider, dict) else None
        links.append(RelatedLink(
            one_line(str(title)) if title else url, url,
            one_line(provider_name) if isinstance(provider_name, str) else None))
    return tuple(links)


def _kind(fields: _Fields) -> str:
    value = fields.meta.get("type")
    return one_line(value).lower() if isinstance(value, str) and value.strip() else "article"


def _integer(fields: _Fields, key: str, problems: list[ContentError]) -> int | None:
    value = fields.meta.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    problems.append(warning(f"`{key}` should be a whole number; ignored", fields.line(key)))
    return None


# --- plain text --------------------------------------------------------------

def _parse_plain(source: str, stem: str, text: str, ctx: ParseContext, fingerprint: str,
                 problems: list[ContentError], *, body_at: int = 0) -> Article:
    """Our own article from its text: the first line is the title, the next paragraph
    the standfirst, the rest the body. `body_at` is where that text starts in the file
    (after a header), so that every line number is the file's."""
    parts = split_plain_text(text[body_at:])
    header_lines = text.count("\n", 0, body_at)
    if parts is None:
        raise ContentError("the file is empty" if not body_at else
                           "the text under the front matter is empty: its first line is the "
                           "title", line=header_lines + 1)
    title = one_line(_HEADING_MARK.sub("", parts.title))
    if len(title) > 300:
        problems.append(warning("the first line is the title but is over 300 characters long; "
                                "is the title line missing?", header_lines + parts.title_line))
    published = date_from_filename(stem)
    return Article(
        id=tag_uri(ctx.id_authority, stem), stem=stem, source=source, title=title,
        summary=one_line(parts.standfirst),
        content_html=_body_html(parts.body, stem, ctx, problems, text),
        published=published or UNDATED, updated=published or UNDATED, original_url=None,
        self_published=True, topic_names=(), provider=None, fingerprint=fingerprint,
        dated=published is not None,
    )


def _parse_own_with_header(source: str, stem: str, body: str, fields: _Fields,
                           ctx: ParseContext, fingerprint: str, problems: list[ContentError],
                           text: str) -> Article | None:
    """Our own article with a header: front matter with neither a title nor a link.

    The header carries only what plain text cannot say (its `id:`, `date:`, topics,
    expiry); the title, standfirst and body still come from the text, and the
    item still links to our own page. Without this, dating an undated plain-text
    file (what its warning asks for) would turn it into an upstream article that
    lacks a title and a link."""
    own = _parse_plain(source, stem, text, ctx, fingerprint, problems,
                       body_at=len(text) - len(body))
    dated = own.dated or fields.first(DATE_FIELDS)[0] is not None
    published = (_collect(problems, lambda: _published_date(fields, stem, problems))
                 if dated else UNDATED)
    updated = (_collect(problems, lambda: _updated_date(fields, published, problems))
               if published is not None and dated else published)
    article_id = _collect(problems, lambda: _article_id(fields, stem, ctx))
    topic_names = _topic_names(fields, problems)
    if published is None or updated is None or article_id is None:
        return None
    return replace(
        own, id=article_id, published=published, updated=updated, dated=dated,
        topic_names=topic_names, topics_line=_topics_line(fields),
        expires=_expiry(fields, published, problems) if dated else None)


def _body_html(body: str, stem: str, ctx: ParseContext, problems: list[ContentError],
               text: str) -> str:
    """The body as published, with a warning for each relative URL that resolves to
    nothing the site publishes (the reader would see a broken image or link), on the
    line of the file where it is written."""
    safe = markdown_to_safe_html(body, ctx.base_url, Urls(ctx.base_url).article_page(stem))
    for written, resolved in safe.unpublished:
        at = text.find(written)
        line = text.count("\n", 0, at) + 1 if at >= 0 else None
        problems.append(warning(
            f"the relative URL {written!r} in the body resolves to {resolved}, which this site "
            "does not publish: readers will see a broken image or link; use an absolute URL",
            line))
    return safe.html


# Where an undated article sits until the build dates it (never published as is).
UNDATED = datetime(1970, 1, 1, tzinfo=UTC)
