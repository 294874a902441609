"""clock_processes.lease_seconds: each clock's own lease period.

A web judged a clock gone after three of *its own* lease periods, so webs and
clocks configured differently disagreed about which clocks were alive. Each
clock now records its period; rows written before keep NULL and are judged by
the web's setting.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:25:44.918151
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('clock_processes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_seconds', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('clock_processes', schema=None) as batch_op:
        batch_op.drop_column('lease_seconds')
