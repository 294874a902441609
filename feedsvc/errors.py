"""The errors feedsvc itself raises, under one root.

The shells (the CLI, the web, the clock) handle product errors, not library
ones: the store turns SQLAlchemy's connection failures into `StoreUnavailable`
at its edge, content problems are `ContentError`s with a path and a line,
bad settings are `SettingsError`s. Model: lemon24/reader's `exceptions.py`.
"""

from __future__ import annotations


class FeedsvcError(Exception):
    """Anything feedsvc reports as a product failure (a one-line message, exit 1)."""


class StoreUnavailable(FeedsvcError):
    """The store cannot be reached or used right now (down, locked, restarting).

    Transient by nature: the web keeps serving what it holds, the clock tries
    again at its next run."""


class ConnectionEnded(StoreUnavailable):
    """The database ended the session a statement ran on (a restart, an operator's
    pg_terminate_backend) after the pool had checked it: the pool drops it, so the
    same transaction may be tried again at once on a new one."""


class NothingPublished(FeedsvcError):
    """An operation needs a published generation and there is none yet."""


class StoreSchemaMismatch(FeedsvcError):
    """The store's schema version is not the one this feedsvc was built for (older, or
    newer and unknown): using it could corrupt it, so the process refuses to start."""


class LeaseLost(FeedsvcError):
    """A fenced write found that this process no longer holds the lease it started
    the job under (it expired, or another process took it since): the write was
    rolled back whole, and the job's result must be discarded, not retried."""


class ClaimLost(LeaseLost):
    """A link checker's write found that it no longer holds the host it claimed (its
    claim ran out, and another checker may have taken the host since): that batch of
    results was rolled back; the URLs are still due, for whoever holds the host now."""


class PublishConflict(FeedsvcError):
    """Another process published a generation while this build was writing its own:
    this build's view of the previous generation is stale, so it publishes nothing
    and the next build starts from the new one."""
