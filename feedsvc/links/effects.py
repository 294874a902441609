"""How link health changes the feeds: pure, applied by the build before rendering.

Only articles whose link is dead (or, when enabled, permanently moved) are
touched; every other item is rendered byte-for-byte as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from feedsvc.links.policy import LinkState, archive_url
from feedsvc.models import Article, ArticleLink, LinkStatus
from feedsvc.urls import Urls

NOTES = {
    "keep": "The original link appears to be dead: it has failed repeatedly for over a day.",
    "archive": "The original link stopped working, so this item now points to an archived copy.",
    "self": "The original link stopped working, so this item now points to our summary page.",
}


@dataclass(frozen=True, slots=True)
class LinkEffect:
    dead: bool
    moved_to: str | None = None


def link_effects(states: Iterable[LinkState], *, follow_permanent: bool) -> dict[str, LinkEffect]:
    effects: dict[str, LinkEffect] = {}
    for state in states:
        if state.dead:
            effects[state.url] = LinkEffect(True)
        elif (follow_permanent and state.permanent_redirect and state.status is LinkStatus.REDIRECTED
              and state.final_url and state.final_url != state.url):
            effects[state.url] = LinkEffect(False, state.final_url)
    return effects


def apply_link_effects(articles: Iterable[Article], effects: Mapping[str, LinkEffect],
                       policy: str, urls: Urls) -> list[Article]:
    out: list[Article] = []
    for article in articles:
        effect = effects.get(article.original_url or "") if not article.self_published else None
        if effect is None:
            out.append(article)
        elif effect.dead:
            override = {"keep": None,
                        "archive": archive_url(article.original_url or "", article.published),
                        "self": urls.article_page(article.stem)}[policy]
            out.append(replace(article, link_status=ArticleLink.DEAD, link_override=override,
                               link_note=NOTES[policy]))
        else:
            out.append(replace(article, link_status=ArticleLink.MOVED, link_override=effect.moved_to))
    return out


def effects_fingerprint(effects: Mapping[str, LinkEffect], policy: str) -> str:
    return repr((policy, sorted((url, e.dead, e.moved_to) for url, e in effects.items())))
