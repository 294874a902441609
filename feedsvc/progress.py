"""A build's progress on the terminal that started it (`feedsvc build`, `serve`).

The builder reports `(done, total, phase)`; this turns that into what a person
watching wants: a bar on a terminal, a plain line every 10% in a log, nothing
at all for a build too small to wait for.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar


class Progress:
    """Progress of a whole build, phase by phase (parsing files, then rendering and
    publishing documents): a bar per phase on a terminal, a plain line every 10%
    otherwise. Small amounts of work show nothing; once a build has shown its
    parsing, its publishing is shown too."""

    def __init__(self) -> None:
        self.bar: ProgressBar[int] | None = None
        self.phase = ""
        self.shown = -1
        self.active = False

    def __enter__(self) -> Progress:
        return self

    def __call__(self, done: int, total: int, phase: str = "parsing") -> None:
        if total < 200 and not self.active:
            return
        self.active = True
        unit = "files" if phase == "parsing" else "documents"
        if phase != self.phase:
            self._close()
            self.phase, self.shown = phase, -1
        if sys.stderr.isatty():
            if self.bar is None:
                label = "parsing" if phase == "parsing" else "rendering and publishing"
                self.bar = click.progressbar(length=total, label=label, file=sys.stderr)
                self.bar.__enter__()
            self.bar.update(min(done, total) - self.bar.pos)
            return
        tenth = done * 10 // total
        if tenth != self.shown:
            self.shown = tenth
            click.echo(f"{phase} {done}/{total} {unit}", err=True)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __exit__(self, *exc: object) -> None:
        self._close()
