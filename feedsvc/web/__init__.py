"""The web process: serves published documents, never builds, never starts threads.

`create_app()` is an application factory in the Flask tutorial's style: no
side effects (no connection, no build, no scheduler), so any WSGI server can
import it in as many worker processes as it likes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from feedsvc.settings import Settings, load_settings
from feedsvc.web.origin import BaseUrlFlask
from feedsvc.web.state import init_app


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the WSGI app.

    Settings come from `FEEDSVC_*` environment variables (validated), unless
    `test_config` carries a `Settings` object under `FEEDSVC_SETTINGS`; the
    other keys of `test_config` go into `app.config`.
    """
    # Absolute URLs (routing redirects, url_for) come from FEEDSVC_BASE_URL, never `Host`.
    app = BaseUrlFlask(__name__, template_folder=None, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # nothing here takes a body
    config = dict(test_config or {})
    settings = config.pop("FEEDSVC_SETTINGS", None)
    if not isinstance(settings, Settings):
        settings = load_settings()
    app.config["FEEDSVC_SETTINGS"] = settings
    if test_config is None:  # a server's worker: its logs follow FEEDSVC_LOG_FORMAT too
        from feedsvc.logs import configure_logging

        configure_logging(settings.log_format)
    app.config.update(config)
    init_app(app, settings)

    # The parts are imported here, not at the top: importing this package (as the CLI
    # does, for feedsvc.web.multiproc) must not import prometheus-client before the
    # server has set PROMETHEUS_MULTIPROC_DIR.
    from feedsvc.web import error_pages, ops, pages, serving

    app.before_request(error_pages.refuse_oversized_requests)
    ops.init_app(app)          # metrics, polls, rate limits, health and status
    serving.init_app(app)      # published documents, and the table in front of Flask
    pages.init_app(app)        # pages for people
    error_pages.init_app(app)
    return app


__all__ = ["create_app"]
