"""Every table of the store, in one place: the schema the migrations build
(tests/test_schema.py holds the two to the same), and what every area of the
store reads and writes."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

blobs = Table(
    "blobs", metadata,
    Column("hash", String(64), primary_key=True),
    # NULL: only the gzip is kept, and the rare identity request is decompressed
    # (`bodies`; a web process keeps what it decompressed). Stores written by older
    # versions hold the identity body of feeds and pages too, until they are pruned.
    # Keeping it doubled the store: a 10k-article site's pages and current feeds
    # are 21.7 MB as written and 3.5 MB gzipped.
    Column("body", LargeBinary, nullable=True),
    Column("gzip", LargeBinary, nullable=False),
    # When a publish last wrote (or reused) it: blobs are written in their own short
    # transactions before the generation that uses them, so the sweep of unused blobs
    # spares young ones (NULL: written before this column existed, i.e. old).
    Column("written_at", DateTime(timezone=True)),
)
generations = Table(
    "generations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("input_fingerprint", String(64), nullable=False),
    Column("report", Text, nullable=False),
    # Who published it and under which lease epoch (NULL: an unfenced `feedsvc build`),
    # and the settings that shaped its bytes (feedsvc.drift): what an operator needs to
    # tell a failover that rewrote the feeds from one that only moved the leader.
    Column("published_by", String(200)),
    Column("lease_epoch", Integer),
    Column("settings_fingerprint", String(32)),
    Column("settings", Text),
)
documents = Table(
    "documents", metadata,
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
    "state", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Link checking (feedsvc.store.linkstore): one row per URL, the articles that use it,
# and the history of its checks.
links = Table(
    "links", metadata,
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
    # Worst first: the order /links and /api/links list URLs in (feedsvc.store.linkstore.rank_of),
    # kept in a column so that SQL sorts, filters and pages with an index.
    Column("rank", Integer, nullable=False, default=0, server_default="0"),
    # The URL's host name, lower case (feedsvc.links.hosts.host_of): checkers claim due
    # URLs a host at a time (link_hosts), so that one process at a time talks to a host.
    Column("host", String(255), nullable=False, default="", server_default=""),
)
Index("links_due", links.c.active, links.c.next_check_at)
Index("links_rank", links.c.active, links.c.rank, links.c.url)
Index("links_host", links.c.host, links.c.active, links.c.next_check_at)
# One row per host being (or last) checked: which checker holds it and until when, and
# the earliest any checker may ask it anything again (the gap after the last request,
# or a Retry-After that outlasted a run), so politeness holds across processes.
link_hosts = Table(
    "link_hosts", metadata,
    Column("host", String(255), primary_key=True),
    Column("holder", String(128)),
    Column("held_until", DateTime(timezone=True)),
    Column("not_before", DateTime(timezone=True)),
)
# One row per checker at work (feedsvc.store.linkclaims), renewed while it works: how
# many checkers share the due hosts, so that none holds more than its fair part, and
# a newcomer that holds nothing yet is counted too.
link_checkers = Table(
    "link_checkers", metadata,
    Column("holder", String(128), primary_key=True),
    Column("seen_until", DateTime(timezone=True), nullable=False),
)
link_articles = Table(
    "link_articles", metadata,
    Column("url", String(2048), primary_key=True),
    Column("article_id", String(512), primary_key=True),
    Column("title", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("published", DateTime(timezone=True), nullable=False),
    # What the live article page shows besides the link (nullable: rows from older builds).
    Column("summary", Text),
    Column("outlet", Text),
    Column("image", Text),
    Column("topics", Text),  # the article's topic slugs, comma-separated
)
link_checks = Table(
    "link_checks", metadata,
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
    "link_stats", metadata,
    Column("day", String(10), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("count", Integer, nullable=False),
)

# The date chosen for each article whose file carries none (feedsvc.content.undated):
# recorded once, so it never moves across rebuilds and web instances. Articles that
# leave the feeds are recorded here too (store/dates.py), so a returning id is known.
article_dates = Table(
    "article_dates", metadata,
    Column("article_id", String(512), primary_key=True),
    Column("published", DateTime(timezone=True), nullable=False),
)

CLOCK_LEASE = "clock"  # the clocks' lease: its holder is the leader

# Leader election for clock processes: one row per lease, held until it expires.
# `epoch` grows by one at every acquisition (never at a renewal) and the row is never
# deleted, so an epoch is never reused: it is the fencing token every job write checks.
# A released lease keeps its row with an empty holder.
leases = Table(
    "leases", metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("epoch", Integer, nullable=False, server_default="0"),
)

# WebSub publish pings waiting to be sent (feedsvc.websub): one row per feed, so
# repeated changes of a feed coalesce into one ping of its latest bytes. A row is
# deleted when the hub accepted the ping for its generation.
websub_queue = Table(
    "websub_queue", metadata,
    Column("feed", String(1024), primary_key=True),       # the absolute feed URL (hub.url)
    Column("hub", Text, nullable=False),
    Column("generation", Integer, nullable=False),        # the newest generation that changed it
    Column("queued_at", DateTime(timezone=True), nullable=False),  # pending since
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),  # failed attempts so far
    Column("last_error", Text),
)
Index("websub_queue_due", websub_queue.c.next_attempt_at)

# Operations (feedsvc.opsstate): cluster-wide counters (builds by status, leader
# changes, WebSub pings) and one row per clock process, so that every web's
# /metrics shows the whole system, clocks included.
ops_counters = Table(
    "ops_counters", metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Integer, nullable=False),
)
clock_processes = Table(
    "clock_processes", metadata,
    Column("holder", String(200), primary_key=True),
    Column("leader", Boolean, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    Column("store_latency_s", Float, nullable=False),
    # The clock's own lease period: how long its row may go unrenewed before the webs
    # count it gone (whatever lease period the web itself was given). NULL: a row
    # written before this column, judged by the web's setting.
    Column("lease_seconds", Float),
)

# Rate limiting (feedsvc.web.ops.ratelimit): one token bucket per client, shared by
# every web process; `updated` is wall-clock seconds (time.time()).
rate_buckets = Table(
    "rate_buckets", metadata,
    Column("key", String(64), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("allowed", Boolean, nullable=False),
)
Index("rate_buckets_updated", rate_buckets.c.updated)

# Feed polls (feedsvc.web.ops.polls): per feed and UTC day, how often it was fetched,
# the distinct clients (salted hashes, kept for the current day only) and what
# aggregators say about their subscribers in their User-Agent.
poll_counts = Table(
    "poll_counts", metadata,
    Column("day", String(10), primary_key=True),
    Column("path", String(512), primary_key=True),
    Column("polls", Integer, nullable=False),
    Column("not_modified", Integer, nullable=False),
    Column("clients", Integer),  # distinct clients, set when the day is rolled up
)
poll_clients = Table(
    "poll_clients", metadata,
    Column("day", String(10), primary_key=True),
    Column("path", String(512), primary_key=True),
    Column("client", String(32), primary_key=True),
)
poll_aggregators = Table(
    "poll_aggregators", metadata,
    Column("day", String(10), primary_key=True),
    Column("path", String(512), primary_key=True),
    Column("reader", String(200), primary_key=True),
    Column("subscribers", Integer, nullable=False),
)
