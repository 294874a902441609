"""What a link's host is, for sharing the work and for politeness.

One definition, used where a URL is registered (the store's `links.host`), where
checkers claim hosts, and where the checker keeps its per-host gate, so that the
three agree on what "one host" means: the host name in lower case, without the
port (two ports of one machine are one site to be polite to).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_HOST = 255
# The common URL, whose host urlsplit would return as it stands: http(s), a lower-case
# host of plain characters, a port or none, then the path, query or fragment (or nothing).
# Grouping a run's URLs by host split every one of them (a few percent of the checker's
# CPU per URL); anything else is still split.
_PLAIN_HOST = re.compile(r"https?://([a-z0-9.-]+)(?::[0-9]*)?(?=[/?#]|$)")


def host_of(url: str) -> str:
    """The lower-case host name of `url`, or "" when it has none or cannot be split."""
    plain = _PLAIN_HOST.match(url)
    if plain is not None and "\t" not in url and "\r" not in url and "\n" not in url:
        return plain.group(1)[:MAX_HOST]
    try:
        return (urlsplit(url).hostname or "")[:MAX_HOST]
    except ValueError:
        return ""
