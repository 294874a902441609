"""The dateless seed (003: no metadata, no date in its name) keeps one date for good.

Readers sort and de-duplicate by date; a date that moves on every build or
touch re-surfaces the article as new. Built twice a day apart, with the file
touched in between, the entry must carry the same date in every format.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from lxml import etree

from feedsvc.build import Builder
from feedsvc.settings import load_settings
from feedsvc.store import Store
from tests.conftest import CONTENT
from tests.readers.conftest import SEEDS
from tests.readers.expected import parse_date
from tests.readers.site import ATOM

pytestmark = pytest.mark.corpus
SEED = "003_d0ac93be030b5dd0"
ID = f"tag:feedsvc.test,2026:articles/{SEED}"


def seed_dates(store: Store) -> dict[str, datetime | None]:
    """The seed's date in each subscription format of `all`, read from the published bytes."""
    found: dict[str, datetime | None] = {}
    _, body = store.read("feeds/all.json")
    found["json"] = next((parse_date(i.get("date_published")) for i in json.loads(body)["items"]
                          if i.get("id") == ID), None)
    _, body = store.read("feeds/all.atom")
    entry = next((e for e in etree.fromstring(body).iter(f"{{{ATOM}}}entry")
                  if e.findtext(f"{{{ATOM}}}id") == ID), None)
    found["atom"] = parse_date(entry.findtext(f"{{{ATOM}}}published")) if entry is not None else None
    _, body = store.read("feeds/all.rss")
    item = next((i for i in etree.fromstring(body).iter("item") if i.findtext("guid") == ID), None)
    found["rss"] = parsedate_to_datetime(item.findtext("pubDate")) if item is not None else None
    return found


def test_the_dateless_seed_keeps_its_date_across_rebuilds_and_touches(tmp_path):
    if not SEEDS.is_dir():
        pytest.skip(f"the seed articles are not beside this checkout ({SEEDS})")
    content = tmp_path / "content"
    content.mkdir()
    shutil.copy(SEEDS / f"{SEED}.txt", content)  # a fresh mtime, as on a new checkout
    shutil.copy2(CONTENT / "topics.yml", content)
    settings = load_settings(env={}, content_dir=content, database_url=f"sqlite:///{tmp_path / 's.db'}",
                             cache_dir=tmp_path / "cache", base_url="https://feeds.test",
                             id_authority="feedsvc.test,2026", build_workers=1)
    store = Store(settings.database_url)
    store.create()
    first_build = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    report = Builder(settings, store).build(now=first_build)
    assert report.generation is not None, f"nothing published: {report.problems}"
    before = seed_dates(store)
    assert all(before.values()), f"{SEED} is not in every format of the all feed: {before}; " \
                                 f"problems: {[p for p in report.problems if SEED in p.path]}"
    assert len(set(before.values())) == 1, f"{SEED} has different dates per format: {before}"

    later = first_build + timedelta(days=1)
    os.utime(content / f"{SEED}.txt", (later.timestamp(), later.timestamp()))
    Builder(settings, store).build(force=True, now=later)
    assert seed_dates(store) == before, f"{SEED}'s date moved on a rebuild a day later"
    store.close()
