"""Why a refused build published nothing, in one sentence for logs, /status and /readyz.

Kept apart from the build pipeline so the web process can explain a stored
report without importing the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict

from feedsvc.content.topics import TOPICS_FILE
from feedsvc.models import BuildStatus, Problem, Severity


class ProblemRecord(TypedDict):
    """A Problem as a stored build report holds it (its JSON form)."""

    path: str
    line: int | None
    severity: str
    reason: str


def _as_problem(p: Problem | ProblemRecord) -> Problem:
    if isinstance(p, Problem):
        return p
    return Problem(path=p["path"], line=p["line"], severity=Severity(p["severity"]), reason=p["reason"])


def refusal_reason(status: BuildStatus, problems: Iterable[Problem | ProblemRecord]) -> str:
    """Why a refused build published nothing, from its problems (Problem objects or
    the dicts a stored report holds), for logs, /status and /readyz."""
    errors = [p for p in map(_as_problem, problems) if p.severity == Severity.ERROR]
    if status is BuildStatus.TAXONOMY_INVALID:
        errors = [p for p in errors if p.path == TOPICS_FILE]
        prefix = f"{TOPICS_FILE} has errors: "
    elif status is BuildStatus.SHRINK_REFUSED:
        errors = [p for p in errors if p.path == "."]
        prefix = ""
    else:
        errors = [p for p in errors if p.reason.startswith(("content directory", "cannot list"))]
        prefix = ""
    return prefix + "; ".join(
        (f"line {p.line}: " if p.line and status is BuildStatus.TAXONOMY_INVALID else "") + p.reason
        for p in errors)
