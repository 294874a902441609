"""Why a refused build published nothing, in one sentence for logs, /status and /readyz.

Kept apart from the build pipeline so the web process can explain a stored
report without importing the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable

from feedsvc.content.topics import TOPICS_FILE
from feedsvc.models import BuildStatus, Problem


def refusal_reason(status: BuildStatus, problems: Iterable[Problem | dict]) -> str:
    """Why a refused build published nothing, from its problems (Problem objects or
    the dicts a stored report holds), for logs, /status and /readyz."""
    def field(p, name):
        return p[name] if isinstance(p, dict) else getattr(p, name)

    errors = [p for p in problems if field(p, "severity") == "error"]
    if status is BuildStatus.TAXONOMY_INVALID:
        errors = [p for p in errors if field(p, "path") == TOPICS_FILE]
        prefix = f"{TOPICS_FILE} has errors: "
    elif status is BuildStatus.SHRINK_REFUSED:
        errors = [p for p in errors if field(p, "path") == "."]
        prefix = ""
    else:
        errors = [p for p in errors if field(p, "reason").startswith(("content directory", "cannot list"))]
        prefix = ""
    return prefix + "; ".join(
        (f"line {field(p, 'line')}: " if field(p, "line") and status is BuildStatus.TAXONOMY_INVALID
         else "")
        + field(p, "reason") for p in errors)
