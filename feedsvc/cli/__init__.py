"""The `feedsvc` command: a thin shell over the library.

Each command loads settings from the environment, lets options override them,
calls the library and prints its result. Errors the user can fix are one clear
line and a non-zero exit, not a traceback. The commands are grouped by job, one
module each: content (check, new, topics, preview), publishing (build, export),
serving (web, serve, clock) and operations (links, db, settings); `base` holds
the group and what they share. Importing this package registers them all on
`main`, the entry point.
"""

from __future__ import annotations

from feedsvc.cli import content, operations, publishing, serving
from feedsvc.cli.base import main

# The modules are imported for the commands they register on `main`.
__all__ = ["content", "main", "operations", "publishing", "serving"]
