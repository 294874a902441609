"""The one exception the content layer raises, and the problems it reports."""

from __future__ import annotations

from collections.abc import Callable

from feedsvc.errors import FeedsvcError
from feedsvc.models import Problem, Severity


class ContentError(FeedsvcError):
    """A problem in one content file, located by path and line.

    Parsing collects these instead of stopping: an error excludes the file, a
    warning only informs. They are raised (and caught) inside the parser so that
    any failure deep in a field validator still reaches the report with a line.
    """

    def __init__(self, reason: str, *, path: str = "", line: int | None = None,
                 severity: Severity = Severity.ERROR) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path
        self.line = line
        self.severity = severity

    def located(self, path: str) -> ContentError:
        self.path = path
        return self

    def to_problem(self) -> Problem:
        return Problem(self.path, self.line, self.severity, self.reason)

    def __str__(self) -> str:
        return str(self.to_problem())

    def __reduce__(self) -> tuple[Callable[[str, str, int | None, str], ContentError],
                                  tuple[str, str, int | None, str]]:  # picklable across worker processes
        return (_rebuild, (self.reason, self.path, self.line, self.severity))


def _rebuild(reason: str, path: str, line: int | None, severity: str) -> ContentError:
    return ContentError(reason, path=path, line=line, severity=Severity(severity))


def warning(reason: str, line: int | None = None) -> ContentError:
    return ContentError(reason, line=line, severity=Severity.WARNING)
