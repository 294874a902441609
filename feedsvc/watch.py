"""Rebuild when the content changes: the editor's loop of `feedsvc serve`.

Hugo's `hugo server` republishes on save; an editor who has to wait for the
next scheduled build (five minutes by default) stops trusting the preview.
`watchfiles` (Rust's `notify`: inotify, FSEvents, ReadDirectoryChangesW, or
polling where none works) reports changes to the content directory, grouped
so that an editor's save (write, rename, chmod) is one change; each group asks
for one build at once. The build itself stays the clock's job (one builder,
one build at a time, the scheduler's max_instances=1), so the loop never
builds beside a scheduled build.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, DefaultFilter, watch

from feedsvc.content.context import ARTICLE_SUFFIXES
from feedsvc.content.topics import TOPICS_FILE

log = logging.getLogger("feedsvc.watch")

# After the first change of a group, changes arriving within this many
# milliseconds of each other are taken together (an editor's save is several
# file-system events); the group goes at most after DEBOUNCE_MS.
STEP_MS = 50
DEBOUNCE_MS = 400


def _names_content(name: str) -> bool:
    """An article file's or topics.yml's name."""
    return name == TOPICS_FILE or name.endswith(ARTICLE_SUFFIXES)


class ContentFilter(DefaultFilter):
    """Article files and topics.yml; editors' swap and backup files and hidden
    entries are not content (the loader skips them too)."""

    def __call__(self, change: Change, path: str) -> bool:
        name = Path(path).name
        if name.startswith(".") or not super().__call__(change, path):
            return False
        # A directory (created, removed or renamed) may hold articles; its name has no suffix.
        return _names_content(name) or "." not in name


def changed_paths(changes: set[tuple[Change, str]], root: Path) -> list[str]:
    """The changed content paths, relative to the watched directory, sorted.

    A name without a suffix is let through the filter (it may be a directory of
    articles), but listed only if it is a directory now: editors' temporary files
    (`sed -i` writes `sedAb12Cd`, then renames it) are not what the editor changed."""
    out = set()
    for _change, path in changes:
        name = Path(path).name
        if not (_names_content(name) or Path(path).is_dir()):
            continue
        try:
            out.add(Path(path).relative_to(root).as_posix())
        except ValueError:
            out.add(path)
    return sorted(out)


class ContentWatcher:
    """Watches one directory in a daemon thread and calls `on_change(paths)` per group."""

    def __init__(self, directory: Path, on_change: Callable[[list[str]], None]) -> None:
        self.directory = directory
        self.on_change = on_change
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feedsvc-watch", daemon=True)

    def start(self) -> ContentWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        # watchfiles logs every group at INFO; the rebuild line that follows says more.
        logging.getLogger("watchfiles").setLevel(logging.WARNING)
        root = self.directory.resolve()
        try:
            for changes in watch(root, watch_filter=ContentFilter(), step=STEP_MS,
                                 debounce=DEBOUNCE_MS, stop_event=self._stop,
                                 raise_interrupt=False):
                try:
                    self.on_change(changed_paths(changes, root))
                except Exception:  # a failing rebuild must not end the watching
                    log.exception("rebuilding after a change failed")
        except Exception:  # the directory vanished, inotify limits: scheduled builds go on
            log.exception("watching %s stopped; scheduled rebuilds continue", root)
