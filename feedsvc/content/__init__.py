"""Reading article files: both formats, the topic taxonomy, validation."""

from typing import TYPE_CHECKING, Any

from feedsvc.content.context import ParseContext
from feedsvc.content.loader import LoadResult, ParseCache, load_content
from feedsvc.content.problems import ContentError
from feedsvc.content.topics import Taxonomy, parse_taxonomy, slugify

if TYPE_CHECKING:
    from feedsvc.content.parse import ParseResult, parse_article

__all__ = [
    "ContentError", "LoadResult", "ParseCache", "ParseContext", "ParseResult", "Taxonomy",
    "load_content", "parse_article", "parse_taxonomy", "slugify",
]

# The parser's names are imported when first used: what only reads the parse cache
# (a build that finds nothing changed) does not load the parser and its libraries.
_PARSER_NAMES = frozenset({"ParseResult", "parse_article"})


def __getattr__(name: str) -> Any:
    if name in _PARSER_NAMES:
        from feedsvc.content import parse

        return getattr(parse, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
