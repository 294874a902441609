"""Serving published documents: the Flask routes, and the WSGI table in front of them.

Both answer through `answers.answer()`, the one pure function that decides
status and headers for every representation of a published document.
"""

from __future__ import annotations

from flask import Flask

from feedsvc.web import origin
from feedsvc.web.ops import ops_of
from feedsvc.web.serving import conventional, routes, table


def init_app(app: Flask) -> None:
    """Register the document routes and put the table in front (after `ops.init_app`:
    the table calls the operations' per-request functions itself)."""
    app.register_blueprint(routes.bp)
    app.register_blueprint(conventional.bp)
    origin.init_app(app)
    table.install(app, ops_of(app))


__all__ = ["init_app"]
