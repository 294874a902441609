"""A new article file, written the way `feedsvc check` wants it.

`feedsvc new` starts an article with every field filled in and an explicit
`id:`: the id then survives a later rename of the file, which would otherwise
publish the article again, as a new item, to every subscriber. Pure: the time
and the id authority are passed in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from feedsvc.content.parse import tag_uri
from feedsvc.content.topics import slugify

MAX_NAME_WORDS = 8


@dataclass(frozen=True, slots=True)
class NewArticle:
    name: str   # file name: YYYY-MM-DD-<slug of the title>.md
    text: str   # the whole file


def _quoted(value: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def file_stem(title: str, when: datetime) -> str:
    words = slugify(title).split("-")[:MAX_NAME_WORDS]
    return f"{when:%Y-%m-%d}-{'-'.join(words)}"


def new_article(title: str, url: str, topics: list[str], source: str | None, when: datetime,
                id_authority: str) -> NewArticle:
    """The file name and text of a new, dated article with an explicit id."""
    stem = file_stem(title, when)
    lines = [
        "---",
        f"id: {tag_uri(id_authority, stem)}",
        f"title: {_quoted(title.strip())}",
        f"date: {when:%Y-%m-%dT%H:%M:%SZ}",
        f"url: {url.strip()}",
        f"topics: [{', '.join(_quoted(t.strip()) for t in topics)}]",
    ]
    if source:
        lines.append(f"source: {_quoted(source.strip())}")
    lines += [
        'summary: ""',
        "---",
        "",
    ]
    return NewArticle(stem + ".md", "\n".join(lines))
