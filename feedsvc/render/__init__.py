"""Pure renderers: catalog in, document bytes out. No I/O, no clock."""

from feedsvc.render.common import FeedOptions
from feedsvc.render.site import render_site

__all__ = ["FeedOptions", "render_site"]
