"""The URLs people and readers guess: redirected to the canonical feeds, never elsewhere."""

from __future__ import annotations

import pytest
from lxml import html

from tests.render.test_feeds import check_image


@pytest.mark.parametrize(("guess", "canonical"), [
    ("/feed", "/feeds/all.rss"), ("/feed/", "/feeds/all.rss"), ("/rss", "/feeds/all.rss"),
    ("/rss.xml", "/feeds/all.rss"), ("/feed.xml", "/feeds/all.rss"), ("/index.xml", "/feeds/all.rss"),
    ("/atom", "/feeds/all.atom"), ("/atom.xml", "/feeds/all.atom"), ("/feed/atom", "/feeds/all.atom"),
    ("/feed.json", "/feeds/all.json"),
    ("/feeds/privacy", "/feeds/privacy.rss"), ("/feeds/privacy/", "/feeds/privacy.rss"),
    # Aliases from topics.yml: "AI regulation", "Face recognition", "GDPR".
    ("/feeds/ai-regulation.rss", "/feeds/regulation.rss"),
    ("/feeds/face-recognition.atom", "/feeds/facial-recognition.atom"),
    ("/feeds/gdpr.json", "/feeds/privacy.json"), ("/feeds/gdpr", "/feeds/privacy.rss"),
    ("/topics/face-recognition", "/topics/facial-recognition"),
])
def test_guessed_urls_redirect_permanently_to_the_canonical_feed(client, guess, canonical):
    response = client.get(guess, headers={"Host": "evil.example"})
    assert response.status_code == 301, guess
    assert response.headers["Location"] == f"https://feeds.test{canonical}"
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    assert client.get(canonical).status_code == 200


@pytest.mark.parametrize("url", ["/feeds/no-such-topic.rss", "/feeds/no-such-topic",
                                 "/topics/no-such-topic", "/feeds/all/archive/999.rss"])
def test_unknown_names_are_still_404(client, url):
    assert client.get(url).status_code == 404


def test_icons_are_served_and_linked_from_every_page(client):
    for path, media_type in (("/favicon.ico", "image/vnd.microsoft.icon"),
                             ("/icon.png", "image/png"), ("/logo.png", "image/png")):
        response = client.get(path)
        assert response.status_code == 200 and response.headers["Content-Type"] == media_type
        check_image(path, response.data)
    for page in ("/", "/topics/privacy"):
        tree = html.document_fromstring(client.get(page).data)
        assert tree.xpath("//link[@rel='icon']/@href") == ["https://feeds.test/favicon.ico"]


def test_feeds_name_their_icon_and_logo(client):
    rss = client.get("/feeds/privacy.rss").data
    assert b"<image><url>https://feeds.test/logo.png</url>" in rss
    atom = client.get("/feeds/privacy.atom").data
    assert b"<icon>https://feeds.test/icon.png</icon>" in atom
    assert b"<logo>https://feeds.test/logo.png</logo>" in atom
    assert client.get("/feeds/privacy.json").json["favicon"] == "https://feeds.test/favicon.ico"
