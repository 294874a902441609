"""Keep archive pages as gzip only: blobs.body becomes nullable.

Archive pages were most of the store (at 100k articles, 823 MB of identity
bodies beside their gzip); they are written once and nearly always fetched
with gzip, so the identity body is now NULL for them and decompressed on the
rare request that needs it. Existing rows keep both.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 13:11:18.906433
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("blobs", schema=None) as batch_op:
        batch_op.alter_column("body", existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    blobs = sa.table("blobs", sa.column("hash", sa.String), sa.column("body", sa.LargeBinary),
                     sa.column("gzip", sa.LargeBinary))
    conn = op.get_bind()
    for digest, packed in conn.execute(sa.select(blobs.c.hash, blobs.c.gzip)
                                       .where(blobs.c.body.is_(None))).all():
        conn.execute(sa.update(blobs).where(blobs.c.hash == digest)
                     .values(body=gzip.decompress(packed)))
    with op.batch_alter_table("blobs", schema=None) as batch_op:
        batch_op.alter_column("body", existing_type=sa.LargeBinary(), nullable=False)
