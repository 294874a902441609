"""The typed vocabularies: every status carries its behaviour, every reader derives from them."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

from feedsvc import models
from feedsvc.models import (
    Article,
    BuildReport,
    BuildStatus,
    LinkStatus,
    Problem,
    Provider,
    RelatedLink,
    shared,
)


def test_every_link_status_has_its_behaviour():
    for status in LinkStatus:
        assert status.label and status.colour.startswith("#") and status.order >= 0
    assert {s for s in LinkStatus if s.failing} == {LinkStatus.BROKEN, LinkStatus.ERROR,
                                                    LinkStatus.SOFT_404}
    assert LinkStatus.SOFT_404.needs_attention
    assert LinkStatus.BLOCKED.needs_attention and not LinkStatus.BLOCKED.failing
    assert not LinkStatus.DEFERRED.stored and not LinkStatus.DEFERRED.checked
    assert len({s.colour for s in LinkStatus}) == len(LinkStatus)  # tellable apart


def test_the_lists_elsewhere_come_from_the_enum():
    from feedsvc.links.run import STATUSES as RUN
    from feedsvc.render.charts import STATUS_COLOURS, STATUS_ORDER
    from feedsvc.web.pages.links import STATUSES as FILTERS

    stored = list(LinkStatus.in_order())
    assert list(STATUS_ORDER) == stored
    assert set(STATUS_COLOURS) == set(LinkStatus)
    assert {*stored, "dead"} == FILTERS
    assert list(RUN) == [s for s in stored if s.checked]


def test_the_cli_and_the_api_filter_on_every_stored_status():
    from feedsvc.cli.operations import links_report
    from feedsvc.settings import Settings
    from feedsvc.web.pages.openapi import openapi_document

    wanted = {*(str(s) for s in LinkStatus.in_order()), "dead"}
    option = next(p for p in links_report.params if p.name == "statuses")
    assert set(option.type.choices) == wanted
    spec = openapi_document(Settings())["paths"]["/api/links"]["get"]
    assert set(spec["parameters"][0]["schema"]["items"]["enum"]) == wanted


def test_a_stored_report_reads_back_typed():
    report = BuildReport(
        status=BuildStatus.TAXONOMY_INVALID, generation=3,
        started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), duration_s=0.5,
        articles=10, topics=2, documents=0, documents_written=0, documents_unchanged=0,
        files_parsed=1, files_cached=9, problems=(Problem("topics.yml", 4, "error", "bad"),),
        timings={"load_s": 0.25})
    import json

    from feedsvc.build import _report_dict

    stored = json.loads(json.dumps(_report_dict(report), default=str))  # as the store keeps it
    again = BuildReport.from_dict(stored)
    assert again == report
    assert again.status is BuildStatus.TAXONOMY_INVALID and again.refused and not again.published
    assert BuildStatus.TAXONOMY_INVALID.label == "taxonomy invalid"


def test_build_says_how_every_build_status_ends():
    from feedsvc.cli.publishing import BUILD_OUTCOMES

    assert set(BUILD_OUTCOMES) == set(BuildStatus)


def _article(n: int, outlet: str, topic_names: tuple[str, ...]) -> Article:
    when = datetime(2024, 5, n, tzinfo=UTC)
    return Article(
        id=f"id-{n}", stem=f"s{n}", source=f"s{n}.md", title=f"Story {n}", summary="",
        content_html="", published=when, updated=when, original_url=f"https://news.example/{n}",
        self_published=False, topic_names=tuple(name.strip() for name in topic_names),
        provider=Provider(" ".join(outlet.split()), "news.example"),
        related=(RelatedLink(f"Other {n}", f"https://other.example/{n}", "".join([outlet])),))


def test_unpickled_articles_share_the_values_they_repeat():
    """Two parse results that name the same outlet and topics come back from a worker
    or the parse cache holding one copy of each, equal to what was pickled; what
    differs stays apart."""
    first, second = (_article(n, "The Outlet", ("AI", "Ethics")) for n in (1, 2))
    assert first.provider is not second.provider and first.topic_names is not second.topic_names
    one, two = pickle.loads(pickle.dumps([first, second], protocol=5))  # noqa: S301 - our own
    assert (one, two) == (first, second)
    assert one.provider is two.provider and one.topic_names is two.topic_names
    assert one.related[0].provider is two.related[0].provider
    assert one.title is not two.title
    apart = pickle.loads(pickle.dumps(_article(3, "Another Outlet", ("AI",))))  # noqa: S301
    assert apart.provider != one.provider and apart.topic_names == ("AI",)


def test_what_is_shared_is_bounded(monkeypatch):
    """Content with more distinct values than the limit costs the sharing, not memory."""
    monkeypatch.setattr(models, "_SHARED", {})
    monkeypatch.setattr(models, "SHARED_LIMIT", 10)
    for n in range(35):
        assert shared(f"outlet {n}") == f"outlet {n}"
        assert len(models._SHARED) <= 10
    assert shared(None) is None and shared(("a",)) == ("a",)
