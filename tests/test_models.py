"""The typed vocabularies: every status carries its behaviour, every reader derives from them."""

from __future__ import annotations

from datetime import UTC, datetime

from feedsvc.models import BuildReport, BuildStatus, LinkStatus, Problem


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
