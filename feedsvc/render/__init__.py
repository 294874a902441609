"""Pure renderers: catalog in, document bytes out. No I/O, no clock."""

from typing import TYPE_CHECKING, Any

from feedsvc.render.common import FeedOptions

if TYPE_CHECKING:
    from feedsvc.render.site import render_site

__all__ = ["FeedOptions", "render_site"]


def __getattr__(name: str) -> Any:
    # `render_site` is imported when first used: the renderers' libraries (Jinja2,
    # feedgen, lxml) are a good part of the start-up of a command that renders nothing.
    if name == "render_site":
        from feedsvc.render import site

        return site.render_site
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
