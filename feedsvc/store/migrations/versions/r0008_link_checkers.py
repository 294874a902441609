"""link_checkers: the checkers at work, so that each holds only its fair part of the hosts.

- link_checkers: one row per checker while it checks (its holder name and until when
  it counts as alive, renewed as it works). A checker that holds more hosts than the
  due hosts divided by the live checkers lets some go; a newcomer that holds nothing
  yet is counted because it has a row here.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('link_checkers',
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('seen_until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('holder')
    )


def downgrade() -> None:
    op.drop_table('link_checkers')
