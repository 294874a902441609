"""The settings that shape a generation's bytes, and how two clocks' settings differ.

Every clock builds from its own environment. Two clocks that disagree on, say,
the dead-link policy or the base URL rewrite every feed at each failover, and
readers see entries change for no reason. So each generation records the
settings that shaped it, and a clock that takes over compares its own with the
current generation's and says, in one warning, which differ.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from feedsvc.settings import Settings

# Every setting that can change a published byte: URLs and names written into
# documents, what a feed holds, which articles and topics publish, and when a link
# counts as dead (which rewrites an item's link). Intervals, limits of the link
# checker's politeness, workers, caches and logging shape nothing.
SHAPING = ("base_url", "id_authority", "site_title", "site_description", "language", "feed_size",
           "websub_hub", "max_file_size", "min_quality", "undeclared_topics", "publish_future",
           "max_body_size", "markdown_budget", "max_topics_per_article", "max_topic_feeds",
           "dead_after_failures", "dead_after_hours", "dead_link_policy",
           "follow_permanent_redirects")


def shaping_settings(settings: Settings) -> dict[str, Any]:
    """The shaping settings' values, as JSON-ready scalars."""
    out: dict[str, Any] = {}
    for name in SHAPING:
        value = getattr(settings, name)
        out[name] = value if isinstance(value, (bool, int, float)) or value is None else str(value)
    return out


def settings_fingerprint(values: dict[str, Any]) -> str:
    """A short stable hash of shaping values (equal values, equal fingerprint)."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def drift(recorded: dict[str, Any], mine: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Settings whose values differ, as name -> (recorded, mine). A name only one side
    knows (a setting added by an upgrade) counts as different only when the other
    side recorded it."""
    return {name: (recorded.get(name), mine.get(name))
            for name in sorted(set(recorded) | set(mine))
            if name in recorded and name in mine and recorded[name] != mine[name]}
