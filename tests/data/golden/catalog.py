"""The fixed catalog the golden documents are rendered from.

Written out by hand, value by value, so that the golden files depend on the
renderers alone: no content files, no loader, no topic resolution, no clock,
no store. Each article stands for a kind of item the feeds must get right:

* A1: an upstream article with its outlet, a lead image and related coverage,
  updated a day after it was published;
* A2: an event, published now and held months later (its date in the feeds
  is the publication date; the event dates show only in the content);
* A3: an article whose link died, pointed at a Web Archive copy, with the
  note readers are told (as `feedsvc.links.effects` sets them);
* A4: a plain upstream article (alone in the partial, newest archive page);
* A5: one of our own plain-text articles (links to our own page);
* A6: hostile text everywhere text goes: `<`, `&`, quotes and markup;
* A7: non-ASCII text, no summary, no outlet, no image: content only.

With a feed size of 3, the all-articles feed is A1-A3, archive page 1 (full,
immutable) holds A5-A7 and archive page 2 (partial) holds A4. The topic
`labour` has no article at all: its feed is dated by the build time, the only
place NOW may appear.

Changing anything here changes the golden files: regenerate them
(FEEDSVC_REGENERATE_GOLDEN=1, see tests/render/test_golden.py) and read the diff.
"""

from __future__ import annotations

from datetime import UTC, datetime

from feedsvc.catalog import Catalog, newest_first
from feedsvc.models import Article, ArticleLink, Event, Image, Provider, RelatedLink, Topic
from feedsvc.render.common import FeedOptions

UTC = UTC
AUTHORITY = "feedsvc.test,2026"

OPTIONS = FeedOptions(
    base_url="https://feeds.test",
    site_title="AI Ethics News",
    site_description="Curated news on the ethics of artificial intelligence.",
    language="en",
    feed_size=3,
    websub_hub="https://hub.feeds.test/",
)

# The build's time: after every article, and shown only by documents without entries.
NOW = datetime(2024, 3, 10, 12, 0, 0, tzinfo=UTC)

# The generator element names the package version; the golden files pin this one so
# that a release does not rewrite them (the test puts it in place of the real one).
GENERATOR = ("feedsvc", "0.0.0-golden", "https://pypi.org/project/feedsvc/")

TOPICS: dict[str, Topic] = {  # in the catalog's order: by title
    "bias": Topic("bias", "Bias & fairness", "Who algorithms fail <and> how it is measured.",
                  aliases=("Algorithmic bias", "Fairness")),
    "facial-recognition": Topic("facial-recognition", "Facial recognition",
                                "Face matching by police, shops and platforms.",
                                aliases=("Face recognition", "FRT"),
                                keywords=("facial recognition",)),
    "privacy": Topic("privacy", "Privacy", "Data protection and surveillance."),
    "regulation": Topic("regulation", "Regulation", "Laws, regulators and the courts.",
                        aliases=("AI regulation", "AI Act")),
    "labour": Topic("labour", "Work & labour", ""),  # no articles
}
# The order build_catalog gives (title, case-insensitive); written out, not computed.
TOPIC_ORDER = ("bias", "facial-recognition", "privacy", "regulation", "labour")


def tag(stem: str) -> str:
    return f"tag:{AUTHORITY}:articles/{stem}"


A1 = Article(
    id=tag("2024-03-08-shops-facial-recognition"),
    stem="2024-03-08-shops-facial-recognition",
    source="2024-03-08-shops-facial-recognition.md",
    title="Regulators question facial recognition in shops",
    summary="The data regulator asked three chains to explain how they match shoppers' faces.",
    content_html=("<p>The regulator wrote to three supermarket chains on Friday.</p>\n"
                  "<p>Each must say within 28 days where its cameras are.</p>"),
    published=datetime(2024, 3, 8, 9, 30, tzinfo=UTC),
    updated=datetime(2024, 3, 9, 12, 0, tzinfo=UTC),
    original_url="https://times.example/tech/2024/mar/08/shops-facial-recognition",
    self_published=False,
    topic_names=("AI", "Facial recognition", "AI regulation"),
    provider=Provider("The Example Times", "times.example"),
    image=Image("https://img.times.example/2024/03/shop-camera.jpg", 1200, 630,
                "A camera above a shop entrance"),
    related=(
        RelatedLink("Police expand live facial recognition",
                    "https://news.example/2024/03/police-live-frt", "News Example"),
        RelatedLink("What the rules say", "https://explainer.example/frt-rules"),
    ),
    kind="article", quality=4, fingerprint="a1",
    topics=("facial-recognition", "regulation"),
)

A2 = Article(
    id=tag("2024-03-06-accountability-workshop"),
    stem="2024-03-06-accountability-workshop",
    source="2024-03-06-accountability-workshop.md",
    title="Workshop on algorithmic accountability",
    summary="Two days on auditing public-sector algorithms; registration is open.",
    content_html="",
    published=datetime(2024, 3, 6, 14, 0, tzinfo=UTC),
    updated=datetime(2024, 3, 6, 14, 0, tzinfo=UTC),
    original_url="https://events.example/accountability-2024",
    self_published=False,
    topic_names=("AI Act",),
    provider=Provider("Events Example", "events.example"),
    kind="event", fingerprint="a2",
    topics=("regulation",),
    event=Event(datetime(2024, 6, 12, 9, 0, tzinfo=UTC), datetime(2024, 6, 13, 17, 0, tzinfo=UTC),
                "Lisbon, Portugal"),
)

A3 = Article(
    id=tag("2024-03-04-chatbot-settles"),
    stem="2024-03-04-chatbot-settles",
    source="2024-03-04-chatbot-settles.md",
    title="Chatbot maker settles privacy case",
    summary="The company will delete the recordings it used for training.",
    content_html="",
    published=datetime(2024, 3, 4, 8, 15, tzinfo=UTC),
    updated=datetime(2024, 3, 4, 8, 15, tzinfo=UTC),
    original_url="https://news.example/2024/03/chatbot-settles",
    self_published=False,
    topic_names=("Privacy",),
    provider=Provider("News Example", "news.example"),
    fingerprint="a3",
    topics=("privacy",),
    link_status=ArticleLink.DEAD,
    link_override="https://web.archive.org/web/20240304081500/https://news.example/2024/03/chatbot-settles",
    link_note="The original link stopped working, so this item now points to an archived copy.",
)

A4 = Article(
    id=tag("2024-02-28-act-text-agreed"),
    stem="2024-02-28-act-text-agreed",
    source="2024-02-28-act-text-agreed.md",
    title="Final text of the AI Act agreed",
    summary="Negotiators settled the last articles overnight.",
    content_html="",
    published=datetime(2024, 2, 28, 7, 0, tzinfo=UTC),
    updated=datetime(2024, 2, 28, 7, 0, tzinfo=UTC),
    original_url="https://news.example/2024/02/act-text",
    self_published=False,
    topic_names=("AI Act",),
    provider=Provider("News Example", "news.example"),
    fingerprint="a4",
    topics=("regulation",),
)

A5 = Article(
    id=tag("2024-02-20-audits-need-teeth"),
    stem="2024-02-20-audits-need-teeth",
    source="2024-02-20-audits-need-teeth.txt",
    title="Our view: audits need teeth",
    summary="An audit nobody has to act on is a press release.",
    content_html=("<p>Three audits published this year found problems.</p>\n"
                  "<p>None of them obliged anyone to fix anything.</p>"),
    published=datetime(2024, 2, 20, 0, 0, tzinfo=UTC),
    updated=datetime(2024, 2, 20, 0, 0, tzinfo=UTC),
    original_url=None,
    self_published=True,
    topic_names=(),
    fingerprint="a5",
    topics=("bias", "regulation"),
)

A6 = Article(
    id=tag("2024-02-10-hostile"),
    stem="2024-02-10-hostile",
    source="2024-02-10-hostile.md",
    title="5 < 6 & R&D <script>alert(1)</script>",
    summary="Budgets: 5 < 6 & R&D \"quoted\" 'single' <b>not bold</b> &amp; an entity.",
    content_html="<p>Sanitised body: 5 &lt; 6 &amp; R&amp;D &lt;script&gt; stays text.</p>",
    published=datetime(2024, 2, 10, 23, 59, 59, tzinfo=UTC),
    updated=datetime(2024, 2, 10, 23, 59, 59, tzinfo=UTC),
    original_url="https://hostile.example/story?id=5&lang=en",
    self_published=False,
    topic_names=("Fairness",),
    provider=Provider("Smith & Sons <Media>", "smith.example"),
    image=Image("https://img.example/render?id=7&w=600"),
    related=(RelatedLink("Q&A: \"bias\" <explained>", "https://smith.example/qa?x=1&y=2",
                         "Smith & Sons"),),
    fingerprint="a6",
    topics=("bias",),
)

A7 = Article(
    id=tag("2024-01-15-uberwachung"),
    stem="2024-01-15-uberwachung",
    source="2024-01-15-uberwachung.md",
    title="Überwachung am Arbeitsplatz – ein Überblick",
    summary="",
    content_html="<p>Wer darf was über Beschäftigte wissen? Ein Überblick für 2024 — mit Zahlen.</p>",
    published=datetime(2024, 1, 15, 6, 0, tzinfo=UTC),
    updated=datetime(2024, 1, 15, 6, 0, tzinfo=UTC),
    original_url="https://zeitung.example/überwachung",
    self_published=False,
    topic_names=("Privacy",),
    fingerprint="a7",
    topics=("privacy",),
)

ARTICLES = (A1, A2, A3, A4, A5, A6, A7)  # newest first, as written


def catalog() -> Catalog:
    """The catalog as `build_catalog` would hand it to the renderers."""
    assert tuple(sorted(ARTICLES, key=newest_first)) == ARTICLES, "ARTICLES must be newest first"
    topics = {slug: TOPICS[slug] for slug in TOPIC_ORDER}
    by_topic = {slug: tuple(a for a in ARTICLES if slug in a.topics) for slug in TOPIC_ORDER}
    return Catalog(articles=ARTICLES, topics=topics, by_topic=by_topic)


# The documents kept as golden files (paths as in the store and `feedsvc export`).
GOLDEN_PATHS = (
    "feeds/all.rss", "feeds/all.atom", "feeds/all.json",
    "feeds/all/archive/1.rss", "feeds/all/archive/1.atom", "feeds/all/archive/1.json",
    "feeds/regulation.rss", "feeds/regulation.atom", "feeds/regulation.json",
    "feeds.opml",
    "topics/regulation.opml",
    "index.html",
    "topics/regulation.html",
    "articles/2024-02-20-audits-need-teeth.html",
    "articles/2024-03-04-chatbot-settles.html",
    "api/topics.json",
    "api/search.json",
)
