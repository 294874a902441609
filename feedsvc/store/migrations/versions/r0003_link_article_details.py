"""Live article pages show summary, outlet, image and topics: link_articles keeps them.

Rows registered by older builds start empty and are filled when the next
build registers their articles.


Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 13:25:28.403735
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('link_articles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('outlet', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('image', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('topics', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('link_articles', schema=None) as batch_op:
        batch_op.drop_column('topics')
        batch_op.drop_column('image')
        batch_op.drop_column('outlet')
        batch_op.drop_column('summary')
