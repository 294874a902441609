"""links.host and link_hosts: every checker shares the due URLs, a host at a time.

- links.host (+ index links_host on host, active, next_check_at): the URL's host
  name in lower case, filled here for existing rows; a checker claims a host's due
  URLs together.
- link_hosts: which checker holds a host and until when, and the earliest any
  checker may ask it anything again, so per-host politeness holds across processes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 02:37:56.530833
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def host_of(url: str) -> str:
    """feedsvc.links.hosts.host_of as this revision was written (a revision never changes
    meaning): the lower-case host name, or "" when the URL has none or cannot be split."""
    try:
        return (urlsplit(url).hostname or "")[:255]
    except ValueError:
        return ""


def upgrade() -> None:
    op.create_table('link_hosts',
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=True),
    sa.Column('held_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('host')
    )
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('host', sa.String(length=255), nullable=False,
                                      server_default=''))
        batch_op.create_index('links_host', ['host', 'active', 'next_check_at'], unique=False)
    links = sa.table("links", sa.column("url", sa.String), sa.column("host", sa.String))
    conn = op.get_bind()
    by_host: dict[str, list[str]] = {}
    for (url,) in conn.execute(sa.select(links.c.url)):
        by_host.setdefault(host_of(url), []).append(url)
    for host, urls in by_host.items():
        if host:
            for start in range(0, len(urls), 500):
                conn.execute(sa.update(links).where(links.c.url.in_(urls[start:start + 500]))
                             .values(host=host))


def downgrade() -> None:
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.drop_index('links_host')
        batch_op.drop_column('host')

    op.drop_table('link_hosts')
