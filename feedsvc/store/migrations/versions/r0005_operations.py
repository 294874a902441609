"""One view of the system: link ranks for paged link pages, counters and clocks, shared
rate-limit buckets, feed polls and subscriber estimates.

- links.rank (+ index links_rank on active, rank, url): listing order, so /links
  and /api/links filter, sort and page in SQL; existing rows are ranked here.
- ops_counters, clock_processes: builds by status, leader changes, WebSub and
  link-run counters, one row per clock, for every web's /metrics.
- rate_buckets: one token bucket per client, shared by every web process.
- poll_counts, poll_clients, poll_aggregators: polls per feed and day, salted
  client hashes of the current day, subscribers stated by aggregators.


Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 13:42:16.793570
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


RANKS = {("ok", False): 110, ("ok", True): 10, ("redirected", False): 109,
         ("redirected", True): 9, ("unchecked", False): 108, ("unchecked", True): 8,
         ("blocked", False): 106, ("blocked", True): 6, ("error", False): 105,
         ("error", True): 5, ("broken", False): 104, ("broken", True): 4}


def upgrade() -> None:
    op.create_table('clock_processes',
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('leader', sa.Boolean(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('store_latency_s', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('holder')
    )
    op.create_table('ops_counters',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('poll_aggregators',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('reader', sa.String(length=200), nullable=False),
    sa.Column('subscribers', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'path', 'reader')
    )
    op.create_table('poll_clients',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('client', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('day', 'path', 'client')
    )
    op.create_table('poll_counts',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('polls', sa.Integer(), nullable=False),
    sa.Column('not_modified', sa.Integer(), nullable=False),
    sa.Column('clients', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('day', 'path')
    )
    op.create_table('rate_buckets',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('tokens', sa.Float(), nullable=False),
    sa.Column('updated', sa.Float(), nullable=False),
    sa.Column('allowed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('rate_buckets', schema=None) as batch_op:
        batch_op.create_index('rate_buckets_updated', ['updated'], unique=False)

    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rank', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index('links_rank', ['active', 'rank', 'url'], unique=False)
    # Existing links get the rank their status and dead flag give them (the values of
    # feedsvc.links.store.rank_of when this revision was written: a revision never
    # changes meaning), then the per-rank counts the link pages read are dropped, to
    # be counted afresh on first use.
    links = sa.table("links", sa.column("status", sa.String), sa.column("dead", sa.Boolean),
                     sa.column("rank", sa.Integer))
    for (status, dead), rank in RANKS.items():
        op.execute(sa.update(links).where(links.c.status == status, links.c.dead == dead)
                   .values(rank=rank))



def downgrade() -> None:
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.drop_index('links_rank')
        batch_op.drop_column('rank')

    with op.batch_alter_table('rate_buckets', schema=None) as batch_op:
        batch_op.drop_index('rate_buckets_updated')

    op.drop_table('rate_buckets')
    op.drop_table('poll_counts')
    op.drop_table('poll_clients')
    op.drop_table('poll_aggregators')
    op.drop_table('ops_counters')
    op.drop_table('clock_processes')
