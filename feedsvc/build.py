"""The build pipeline: load -> catalog -> render -> publish one generation."""

from __future__ import annotations

from dataclasses import dataclass, field

from feedsvc.catalog import Catalog, build_catalog
from feedsvc.content import LoadResult, ParseCache, ParseContext, load_content, worker_count
from feedsvc.models import Problem
from feedsvc.settings import Settings


def parse_context(settings: Settings) -> ParseContext:
    return ParseContext(settings.id_authority, settings.base_url, settings.max_file_size)


def problem_order(problem: Problem) -> tuple:
    return (problem.path, problem.line or 0, problem.severity, problem.reason)


@dataclass
class ContentSummary:
    load: LoadResult
    catalog: Catalog
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p.severity == "warning")

    def line(self) -> str:
        return (f"{len(self.catalog.articles)} articles, {len(self.catalog.topics)} topics, "
                f"{self.load.excluded} unpublished, {self.errors} errors, {self.warnings} warnings")

    def as_json(self) -> dict:
        return {
            "articles": len(self.catalog.articles), "topics": len(self.catalog.topics),
            "files": self.load.files, "unpublished": self.load.excluded,
            "errors": self.errors, "warnings": self.warnings,
            "problems": [{"path": p.path, "line": p.line, "severity": p.severity,
                          "reason": p.reason} for p in self.problems],
        }


def load_catalog(settings: Settings, cache: ParseCache | None = None) -> ContentSummary:
    load = load_content(settings.content_dir, parse_context(settings), cache=cache,
                        workers=worker_count(settings.build_workers))
    catalog, topic_problems = build_catalog(load.articles, load.taxonomy)
    problems = sorted([*load.problems, *topic_problems], key=problem_order)
    return ContentSummary(load, catalog, problems)


def check_content(settings: Settings) -> ContentSummary:
    return load_catalog(settings)
