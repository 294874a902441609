"""The store's schema as it was when versioning began: revision 0001's contents.

A frozen copy of the tables `feedsvc.store` created with `create_all` before
the store had a schema version. Never edit it to follow store.py: later
changes are later revisions. Two things use it: revision 0001 creates exactly
these tables, and a store made before versioning is compared with them before
it is stamped as being at 0001 (`feedsvc.store.schema`).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA = MetaData()

blobs = Table(
    "blobs", SCHEMA,
    Column("hash", String(64), primary_key=True),
    Column("body", LargeBinary, nullable=False),
    Column("gzip", LargeBinary, nullable=False),
)
generations = Table(
    "generations", SCHEMA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("input_fingerprint", String(64), nullable=False),
    Column("report", Text, nullable=False),
)
documents = Table(
    "documents", SCHEMA,
    Column("generation_id", Integer, ForeignKey("generations.id", ondelete="CASCADE"),
           primary_key=True),
    Column("path", String(512), primary_key=True),
    Column("media_type", String(64), nullable=False),
    Column("blob_hash", String(64), ForeignKey("blobs.hash"), nullable=False),
    Column("last_modified", DateTime(timezone=True), nullable=False),
    Column("render_key", String(64), nullable=False),
)
Index("documents_blob_hash", documents.c.blob_hash)
state = Table(
    "state", SCHEMA,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

links = Table(
    "links", SCHEMA,
    Column("url", String(2048), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("code", Integer),
    Column("final_url", Text),
    Column("permanent_redirect", Boolean, nullable=False),
    Column("error", Text),
    Column("checked_at", DateTime(timezone=True)),
    Column("consecutive_failures", Integer, nullable=False),
    Column("first_failure_at", DateTime(timezone=True)),
    Column("next_check_at", DateTime(timezone=True), nullable=False),
    Column("checks", Integer, nullable=False),
    Column("dead", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
)
Index("links_due", links.c.active, links.c.next_check_at)
link_articles = Table(
    "link_articles", SCHEMA,
    Column("url", String(2048), primary_key=True),
    Column("article_id", String(512), primary_key=True),
    Column("title", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("published", DateTime(timezone=True), nullable=False),
)
link_checks = Table(
    "link_checks", SCHEMA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(2048), nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("code", Integer),
    Column("error", Text),
    Column("final_url", Text),
    Column("elapsed_ms", Integer, nullable=False),
)
Index("link_checks_url", link_checks.c.url, link_checks.c.checked_at)

link_stats = Table(
    "link_stats", SCHEMA,
    Column("day", String(10), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("count", Integer, nullable=False),
)

# The date chosen for each article whose file carries none (feedsvc.content.undated):
# recorded once, so it never moves across rebuilds and web instances.
article_dates = Table(
    "article_dates", SCHEMA,
    Column("article_id", String(512), primary_key=True),
    Column("published", DateTime(timezone=True), nullable=False),
)

# Leader election for clock processes: one row per lease, held until it expires.
leases = Table(
    "leases", SCHEMA,
    Column("name", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
