"""The URL layout, in one place: routes, the static export and feed links all use it."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

# Media types of the documents that are not feeds (feeds: feedsvc.render.formats).
MEDIA_TYPES = {
    "opml": "text/x-opml",
    "html": "text/html",
    "svg": "image/svg+xml",
    "xsl": "text/xsl",
    "png": "image/png",
    "ico": "image/vnd.microsoft.icon",
}
OPML_PATH = "feeds.opml"
INDEX_PATH = "index.html"
API_TOPICS_PATH = "api/topics.json"
STYLESHEET_PATH = "feed.xsl"
ARTICLES_CHART_PATH = "charts/articles-per-month.svg"
ICON_PATH = "icon.png"
LOGO_PATH = "logo.png"
FAVICON_PATH = "favicon.ico"
SEARCH_INDEX_PATH = "api/search.json"  # under api/: plain JSON, not a JSON Feed


def feed_path(slug: str, fmt: str) -> str:
    return f"feeds/{slug}.{fmt}"


def archive_path(slug: str, page: int, fmt: str) -> str:
    return f"feeds/{slug}/archive/{page}.{fmt}"


def topic_html_path(slug: str) -> str:
    return f"topics/{slug}.html"


def topic_page_html_path(slug: str, page: int) -> str:
    """Page `page` (1 = newest) of a topic's article list; page 1 is the topic page itself."""
    return topic_html_path(slug) if page <= 1 else f"topics/{slug}/page/{page}.html"


def topic_opml_path(slug: str) -> str:
    return f"topics/{slug}.opml"


def article_html_path(stem: str) -> str:
    return f"articles/{stem}.html"


def document_url(path: str) -> str:
    """The URL path (from the site's root) at which the site serves a published document:
    pages drop `.html` (`topics/x.html` at `/topics/x`, `index.html` at `/`), the topic
    list is `/api/topics`, and every other document is served under its own path."""
    if path == INDEX_PATH:
        return "/"
    if path == API_TOPICS_PATH:
        return "/api/topics"
    if path.startswith(("topics/", "articles/")) and path.endswith(".html"):
        return "/" + path[: -len(".html")]
    return "/" + path


# What the site answers under its base URL (feedsvc.web's routes): top-level documents
# and pages, the folders whose every path is the site's, and one page per article.
_SITE_PAGES = frozenset({"", INDEX_PATH, OPML_PATH, STYLESHEET_PATH, ICON_PATH, LOGO_PATH,
                         FAVICON_PATH, "links", "status", "openapi.json"})
_SITE_FOLDERS = ("topics/", "feeds/", "api/", "charts/")


def site_publishes(path: str) -> bool:
    """Whether a path under the base URL (no leading slash, no query) is one the site can
    answer: an article's relative image or link that resolves elsewhere under the
    base URL points at nothing, and the editor is told (feedsvc.content.markup)."""
    if path in _SITE_PAGES or path.startswith(_SITE_FOLDERS):
        return True
    if path.startswith("articles/"):
        # An article page has no extension (`articles/chart.png` is an image the site
        # does not have; a file named with a dot in its stem is rare, and only warned)
        stem = path[len("articles/"):]
        return bool(stem) and "/" not in stem and "." not in stem
    return False


@dataclass(frozen=True)
class Urls:
    """Absolute URLs under the public base URL: feeds must never carry relative links."""

    base: str

    def absolute(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def feed(self, slug: str, fmt: str) -> str:
        return self.absolute(feed_path(slug, fmt))

    def archive(self, slug: str, page: int, fmt: str) -> str:
        return self.absolute(archive_path(slug, page, fmt))

    def topic_page(self, slug: str) -> str:
        return self.absolute("/") if slug == "all" else self.absolute(f"topics/{slug}")

    def topic_listing(self, slug: str, page: int) -> str:
        """Page `page` (1 = newest) of a topic's articles."""
        return self.topic_page(slug) if page <= 1 else self.absolute(f"topics/{slug}/page/{page}")

    def topic_opml(self, slug: str) -> str:
        return self.absolute(topic_opml_path(slug))

    def article_page(self, stem: str) -> str:
        return self.absolute(f"articles/{quote(stem, safe='')}")

    @property
    def topic_scheme(self) -> str:
        return self.absolute("topics/")

    @property
    def opml(self) -> str:
        return self.absolute(OPML_PATH)
