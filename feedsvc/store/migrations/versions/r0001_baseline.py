"""Baseline: the schema of the last feedsvc that created its tables with create_all.

Revision ID: 0001
Revises:
Create Date: 2026-12-01

A new store gets exactly these tables; a store made before versioning already
has them and is stamped at this revision instead (feedsvc.store.schema).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from feedsvc.store.migrations.baseline import SCHEMA

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    SCHEMA.create_all(op.get_bind())


def downgrade() -> None:
    SCHEMA.drop_all(op.get_bind())
