"""Real readers over the real corpus: every item links, dates, credits and illustrates its article.

Expected values come from the source files (tests/readers/expected.py, PyYAML),
never from feedsvc. Run with -s to see the per-client table; it is also kept
in test-artifacts/reader-conformance.json.
"""

from __future__ import annotations

import pytest

from tests.readers import compare
from tests.readers.conftest import CLIENT_ORDER
from tests.readers.expected import duplicate_groups
from tests.readers.site import served_ids

pytestmark = pytest.mark.corpus


def test_the_site_has_subscription_feeds_and_archive_pages(site):
    kinds = {(d.fmt, d.kind) for d in site.documents}
    for fmt in ("rss", "atom", "json"):
        assert (fmt, "subscription") in kinds
        assert (fmt, "archive") in kinds, f"no {fmt} archive page is reachable through prev-archive/next_url"
    assert not [d.url for d in site.documents if d.status != 200]


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_the_published_set_is_every_dated_article_and_both_seeds(site, fmt):
    """`all` plus its archive pages hold every dated, published article, each once, and nothing else."""
    docs = [d for d in site.documents if d.fmt == fmt and
            (d.url.endswith(f"/feeds/all.{fmt}") or "/feeds/all/archive/" in d.url)]
    ids = [i for d in docs for i in served_ids(d)]
    by_id = site.by_id
    expected = {s.id for s in site.sources if s.publishable}
    groups = duplicate_groups(site.sources)
    for group in groups:  # one file per original URL is published: whichever, but exactly one
        expected -= {s.id for s in group}
    problems = []
    for group in groups:
        shown = [s.path for s in group if s.id in ids]
        if len(shown) != 1:
            problems.append(f"duplicates of {group[0].original_url}: "
                            f"{len(shown)} published ({shown}), expected 1")
    problems += [f"missing: {by_id[i].path}" for i in sorted(expected - set(ids))]
    grouped = {s.id for g in groups for s in g}
    problems += [f"not expected: {by_id[i].path if i in by_id else i}"
                 + (f" ({by_id[i].reason})" if i in by_id else "")
                 for i in sorted(set(ids) - expected - grouped)]
    problems += [f"listed {ids.count(i)} times: {i}" for i in sorted(set(ids)) if ids.count(i) > 1]
    seeds = [s for s in site.sources if "/" not in s.path]
    assert len(seeds) == 2 and all(s.publishable for s in seeds)
    assert not problems, f"{fmt}: the published set differs from the sources, " + compare.first(problems)


CHECK_NAMES = {
    "failed_feeds": "feeds the client could not read",
    "empty_feeds_refused": "feeds with no entries that the client refuses outright",
    "missing_items": "items served but not read",
    "wrong_links": "items whose link is not the article's link",
    "missing_images": "items whose image the client does not show",
    "title_mismatches": "titles that differ from the source",
    "date_mismatches": "dates that differ from the source",
    "author_mismatches": "authors that differ from the source's provider",
    "unknown_items": "items that match no publishable source file",
}


# What a client cannot do whatever the feed says. feed-extractor 8 recognises Atom
# only by its <entry> elements (`isAtom` in its utils/xmlparser.js), so it refuses a
# valid Atom feed with no entries; an empty topic keeps its feeds all the same (a
# subscription must not turn into a 404 when a topic's last article goes).
KNOWN_CLIENT_LIMITS = {("feed-extractor", "empty_feeds_refused")}


@pytest.mark.parametrize("check", list(CHECK_NAMES))
@pytest.mark.parametrize("client", CLIENT_ORDER)
def test_client_shows_each_article_as_its_source_says(reading, client, check):
    if client in reading.skipped:
        pytest.skip(reading.skipped[client])
    tally = reading.tallies[client]
    assert tally.feeds > 0 and tally.items > 0, f"{client} read nothing"
    problems = tally.problems.get(check, [])
    if (client, check) in KNOWN_CLIENT_LIMITS:
        # The client's own limit, pinned exactly: it may refuse these and nothing else.
        assert all(p.split(": ", 1)[0].endswith(".atom") and p.endswith("Unrecognized feed format")
                   for p in problems), f"{client}: {CHECK_NAMES[check]}: " + compare.first(problems)
        return
    assert not problems, f"{client}: {CHECK_NAMES[check]}: " + compare.first(problems)


def test_every_client_shows_the_dateless_seed_with_one_date(site, reading):
    """003 has no date anywhere in its source: all clients, feeds and formats must agree on the
    one it gets."""
    seed = next(s for s in site.sources if s.path.startswith("003_"))
    shown = {(r.client, r.url): item.date for reads in reading.reads.values() for r in reads
             for item in r.items if item.id == seed.id}
    assert shown, f"no client shows {seed.path}"
    dates = set(shown.values())
    assert None not in dates and len(dates) == 1, f"{seed.path} dates: " + compare.first(
        [f"{client} {url}: {date}" for (client, url), date in sorted(shown.items())])


def test_curated_topics_fill_from_upstream_data(site):
    """Upstream articles name only broad topics ("AI"); keywords must file them into
    the curated ones: at least 10 of the 13 topics in topics.yml have entries."""
    import yaml

    from tests.conftest import CONTENT

    curated = [t["slug"] for t in yaml.safe_load((CONTENT / "topics.yml").read_text())["topics"]]
    counts = {slug: len(site.served_ids().get(f"{site.base}/feeds/{slug}.json", []))
              for slug in curated}
    filled = [slug for slug, count in counts.items() if count]
    assert len(curated) == 13 and len(filled) >= 10, counts
