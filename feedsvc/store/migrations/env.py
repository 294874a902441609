"""Alembic's entry point: run migrations on the connection feedsvc hands over.

feedsvc (`feedsvc.store.schema.upgrade`) passes an open connection, already inside the
transaction that holds the store's migration lock, in `config.attributes`. Run
from the `alembic` command line instead (to write a revision), it opens its own
connection to `-x url=...` or to the configured store.

`render_as_batch=True` makes autogenerate write `batch_alter_table` blocks:
SQLite cannot ALTER most things, and batch mode rebuilds the table there (copy,
drop, rename) while PostgreSQL runs plain ALTERs. `compare_type` makes
autogenerate notice a changed column type, not only new and dropped columns.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from feedsvc.store import metadata


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    shared = context.config.attributes.get("connection")
    if isinstance(shared, Connection):
        run(shared)
        return
    from feedsvc.settings import load_settings
    from feedsvc.store.schema import locked_migration_connection

    url = context.get_x_argument(as_dictionary=True).get("url") or load_settings().database_url
    with locked_migration_connection(url) as connection:
        run(connection)


if context.is_offline_mode():  # pragma: no cover - feedsvc always migrates a live store
    raise SystemExit("feedsvc's migrations run against a live store; --sql is not supported")
main()
