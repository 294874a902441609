"""Pure renderers: catalog in, document bytes out. No I/O, no clock."""

from feedsvc.render.site import Document, FeedOptions, render_site

__all__ = ["Document", "FeedOptions", "render_site"]
