"""Property tests: whatever the bytes, the loader answers with results, never a crash."""

from __future__ import annotations

import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.content import ContentError, ParseContext, parse_article
from feedsvc.content.markup import XML_FORBIDDEN

CTX = ParseContext("feedsvc.test,2026", "https://feeds.test", 65536)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                         st.text(max_size=40))
yaml_values = st.recursive(yaml_scalars, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=12), children, max_size=4)),
    max_leaves=20)
field_names = st.sampled_from(["title", "name", "date", "publishedDateTime", "updated", "url",
                               "originalUrl", "webUrl", "summary", "excerpt", "topics", "tags",
                               "provider", "images", "image", "related", "id", "published",
                               "quality", "heat", "type", "source"])


def check(result, name):
    for problem in result.problems:
        assert isinstance(problem, ContentError)
        assert problem.path == name and problem.severity in ("error", "warning")
    if result.article is not None:
        a = result.article
        for text in (a.title, a.summary, a.content_html):
            assert not XML_FORBIDDEN.search(text)
        assert a.published.tzinfo is not None and a.updated >= a.published


@FAST
@given(st.binary(max_size=2048), st.sampled_from(["x.md", "2024-01-01-x.txt", "x.txt"]))
def test_arbitrary_bytes(data, name):
    check(parse_article(name, data, CTX), name)


@FAST
@given(st.binary(max_size=1024))
def test_arbitrary_bytes_after_a_front_matter_opener(data):
    check(parse_article("2024-01-01-x.md", b"---\n" + data, CTX), "2024-01-01-x.md")


@FAST
@given(st.dictionaries(field_names, yaml_values, max_size=10))
def test_arbitrary_yaml_front_matter(meta):
    text = "---\n" + yaml.safe_dump(meta, allow_unicode=True) + "---\nbody\n"
    check(parse_article("2024-01-01-x.md", text.encode("utf-8", "surrogatepass"), CTX),
          "2024-01-01-x.md")


@FAST
@given(st.text(max_size=600))
def test_arbitrary_text_as_yaml(text):
    check(parse_article("x.md", f"---\n{text}\n---\n".encode("utf-8", "surrogatepass"), CTX), "x.md")
