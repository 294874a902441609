"""Fencing epochs, blob write times, generation provenance, and the WebSub queue.

- leases.epoch: bumped on every acquisition; each fenced write checks it.
- blobs.written_at: blobs are written before their generation, in short
  transactions, and the sweep spares young ones (NULL counts as old).
- generations.published_by, lease_epoch, settings_fingerprint, settings:
  which clock published a generation, under which epoch, with which settings.
- websub_queue: one durable ping per changed feed, sent by its own job.


Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 13:31:28.819115
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('websub_queue',
    sa.Column('feed', sa.String(length=1024), nullable=False),
    sa.Column('hub', sa.Text(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('feed')
    )
    with op.batch_alter_table('websub_queue', schema=None) as batch_op:
        batch_op.create_index('websub_queue_due', ['next_attempt_at'], unique=False)

    with op.batch_alter_table('blobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('written_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('generations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('lease_epoch', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('settings_fingerprint', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('settings', sa.Text(), nullable=True))

    with op.batch_alter_table('leases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('epoch', sa.Integer(), server_default='0', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('leases', schema=None) as batch_op:
        batch_op.drop_column('epoch')

    with op.batch_alter_table('generations', schema=None) as batch_op:
        batch_op.drop_column('settings')
        batch_op.drop_column('settings_fingerprint')
        batch_op.drop_column('lease_epoch')
        batch_op.drop_column('published_by')

    with op.batch_alter_table('blobs', schema=None) as batch_op:
        batch_op.drop_column('written_at')

    with op.batch_alter_table('websub_queue', schema=None) as batch_op:
        batch_op.drop_index('websub_queue_due')

    op.drop_table('websub_queue')
