"""Reading one file of the content directory without letting it stall or fool the build.

`open()` on a FIFO blocks until someone writes to it, so a FIFO named like an
article (or swapped in for one between the scan and the read) would hang a
build forever. Every content file is therefore opened with `O_NONBLOCK` and
checked with `fstat` on the open descriptor (so the check and the read see the
same file): only regular files are read.

File names are checked here too, because a name decides URLs and exported
file names: one that is not UTF-8, carries control characters or is too long
would publish an article nobody can reach or export.
"""

from __future__ import annotations

import os
import re
import stat

# A topic slug is a feed URL segment and an exported file name (`feeds/<slug>.json.gz`).
MAX_SLUG_LENGTH = 80
# An article stem is `/articles/<stem>` (the route takes at most 200 characters) and
# the exported `articles/<stem>.html.gz`, written through a temporary `.<name>.tmp<pid>`:
# both must fit a 255-byte file name.
MAX_STEM_CHARS = 200
MAX_STEM_BYTES = 220
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")


class NotARegularFile(OSError):
    """The path names a FIFO, socket, device or directory, not a file we can read."""


def printable(name: str) -> str:
    """A file name as it can be shown and stored: undecodable bytes as `\\xff`."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return kind
    return "not a regular file"


def read_regular_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """Read at most `limit + 1` bytes of a regular file, never blocking on a FIFO.

    Raises NotARegularFile for anything else, and OSError as `open` would."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(f"{file_kind(mode)}, not a regular file")
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def name_problem(rel: str) -> str | None:
    """Why an article file's name cannot be published, or None when it can."""
    if len(rel) <= MAX_STEM_CHARS and rel.isascii() and rel.isprintable() and "\\" not in rel:
        return None  # most names: short printable ASCII passes every check below
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return "the file name is not valid UTF-8; rename it"
    name = rel.rpartition("/")[2]  # string operations: this runs for every file at every build
    if _CONTROL.search(name):
        return "the file name contains control characters or a backslash; rename it"
    dot = name.rfind(".")
    stem = name[:dot] if 0 < dot < len(name) - 1 else name  # as PurePosixPath(...).stem
    if len(stem) > MAX_STEM_CHARS or len(stem.encode("utf-8")) > MAX_STEM_BYTES:
        return (f"the file name is too long for an article URL and an exported file "
                f"(at most {MAX_STEM_CHARS} characters and {MAX_STEM_BYTES} bytes before the "
                "extension); shorten it")
    return None


def directory_name_problem(rel: str) -> str | None:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return "the directory name is not valid UTF-8; rename it"
    return None
