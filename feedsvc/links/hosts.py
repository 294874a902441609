"""What a link's host is, for sharing the work and for politeness.

One definition, used where a URL is registered (the store's `links.host`), where
checkers claim hosts, and where the checker keeps its per-host gate, so that the
three agree on what "one host" means: the host name in lower case, without the
port (two ports of one machine are one site to be polite to).
"""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_HOST = 255


def host_of(url: str) -> str:
    """The lower-case host name of `url`, or "" when it has none or cannot be split."""
    try:
        return (urlsplit(url).hostname or "")[:MAX_HOST]
    except ValueError:
        return ""
