"""Pages for people: topic listings and OPML, live article pages, the link report, the
API's description."""

from __future__ import annotations

from flask import Flask

from feedsvc.web.pages import links, openapi, views


def init_app(app: Flask) -> None:
    app.register_blueprint(links.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(openapi.bp)


__all__ = ["init_app"]
