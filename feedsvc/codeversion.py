"""Versions derived from the code itself, so that no cache key needs bumping by hand.

The parse cache and the render keys must change whenever the code or the
templates that produce their values change, or a deployment would go on
serving what the old code made. A hand-kept constant ("bump when a template
changes") is a bug waiting for the first person who forgets; this is a digest
of the very source files (and the installed versions of the libraries) the
output depends on, worked out once per process.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import metadata
from pathlib import Path

from feedsvc import __version__

PACKAGE = Path(__file__).resolve().parent
SOURCE_SUFFIXES = (".py", ".html", ".xsl", ".css", ".js", ".svg", ".txt")


@cache
def code_version(parts: tuple[str, ...], libraries: tuple[str, ...]) -> str:
    """A digest of the files under these parts of the package (folders or files,
    relative to it) and of these libraries' installed versions.

    Files are read in a fixed order by their path relative to the package, so the
    same code gives the same version on every machine; feedsvc's own version is
    included for installs that ship no sources."""
    digest = hashlib.blake2b(__version__.encode(), digest_size=12)
    for part in parts:
        root = PACKAGE / part
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            if path.is_file() and path.suffix in SOURCE_SUFFIXES and "__pycache__" not in path.parts:
                digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
    for library in libraries:
        try:
            installed = metadata.version(library)
        except metadata.PackageNotFoundError:
            installed = "absent"
        digest.update(f"{library}=={installed}\0".encode())
    return digest.hexdigest()
