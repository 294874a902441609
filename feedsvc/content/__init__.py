"""Reading article files: both formats, the topic taxonomy, validation."""

from feedsvc.content.errors import ContentError
from feedsvc.content.loader import LoadResult, ParseCache, load_content
from feedsvc.content.parse import ParseContext, ParseResult, parse_article
from feedsvc.content.topics import Taxonomy, parse_taxonomy, slugify

__all__ = [
    "ContentError", "LoadResult", "ParseCache", "ParseContext", "ParseResult", "Taxonomy",
    "load_content", "parse_article", "parse_taxonomy", "slugify",
]
