"""What parsing depends on besides a file's bytes, and the names of article files.

Apart from the parser (`feedsvc.content.parse`) so that a build that only needs
to learn whether anything changed (the parse cache's key, which files are
articles, a file's content hash) does not import the parser and its libraries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from feedsvc.codeversion import code_version

# Everything a parse result depends on besides the file: the content package, the
# models and URL layout it builds, and the libraries that parse and sanitise.
PARSER_VERSION = code_version(("content", "models.py", "urls.py"),
                              ("nh3", "markdown-it-py", "PyYAML", "yaml-rs", "python-frontmatter"))
ARTICLE_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True, slots=True)
class ParseContext:
    """Everything outside the file that parsing depends on (part of the cache key)."""

    id_authority: str
    base_url: str
    max_file_size: int

    @property
    def key(self) -> str:
        return f"{PARSER_VERSION}|{self.id_authority}|{self.base_url}|{self.max_file_size}"


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()
