"""The Rust fast path for front matter gives exactly what the reference loader gives.

`feedsvc.content.fastyaml` parses with `yaml_rs` only where it has decided
that YAML 1.2 and our YAML 1.1 loader agree. These tests hold it to that,
against the reference loader (`yamlsafe.load_yaml`, PyYAML + libyaml), on:
every front matter of the real corpus, of the bundled content and of our bad
files; the plain scalars on which the two YAML versions are known to differ;
and generated documents. Where the fast path is taken, `yaml_rs` itself must
agree; the share of real files it takes is checked too, or the speed-up would
silently vanish.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.content import fastyaml
from feedsvc.content.fastyaml import load_front_matter, needs_reference
from feedsvc.content.yamlsafe import load_yaml
from tests.conftest import CONTENT, CORPUS, DATA, REPO

yaml_rs = pytest.importorskip("yaml_rs", reason="yaml_rs is not installed: no fast path to test")
FRONT = re.compile(r"\A(?:\ufeff)?---[ \t]*\n(.*?\n)---[ \t]*(?:\n|\Z)", re.S)
SEEDS = REPO.parent / "shared" / "seeds"


def outcome(load: Any, text: str) -> tuple[str, Any]:
    """('ok', value) or ('error', exception class), with NaN made comparable."""
    try:
        return "ok", _comparable(load(text))
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        return "error", type(exc)


def _comparable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return {(type(k), _comparable(k)): (type(v), _comparable(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [(type(v), _comparable(v)) for v in value]
    return value


def front_matters(*roots: Path) -> list[tuple[str, str]]:
    found = []
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.suffix not in {".md", ".markdown", ".txt"} or not path.is_file():
                continue
            text = path.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n")
            match = FRONT.match(text)
            if match:
                found.append((str(path.relative_to(root.parent)), match.group(1)))
    return found


def fast_only(text: str) -> tuple[str, Any]:
    """yaml_rs alone: ('ok', value), or ('error', None) whatever it raised."""
    try:
        return "ok", _comparable(yaml_rs.loads(
            text, parse_datetime=False, duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.LastWins))
    except Exception:  # noqa: BLE001 - its own error types; only "it refused" matters
        return "error", None


def agrees(fast: tuple[str, Any], expected: tuple[str, Any]) -> bool:
    return fast == expected if expected[0] == "ok" else fast[0] == "error"


def test_every_real_front_matter_loads_as_the_reference_loads_it():
    if not CORPUS.is_dir():
        pytest.skip(f"the upstream corpus is not beside this checkout ({CORPUS})")
    files = front_matters(CORPUS.parent, SEEDS, CONTENT, DATA / "bad")
    assert len(files) > 150
    fast = 0
    for name, text in files:
        expected = outcome(load_yaml, text)
        assert outcome(load_front_matter, text) == expected, name
        if not needs_reference(text):
            fast += 1
            # The decision to trust yaml_rs is only right if yaml_rs really agrees.
            assert agrees(fast_only(text), expected), name
    # Upstream front matter is plain block YAML: nearly all of it takes the fast path.
    assert fast >= 0.8 * len(files), f"only {fast} of {len(files)} files took the fast path"


# Plain scalars whose meaning differs between YAML 1.1 (ours) and YAML 1.2 / yaml_rs.
DIFFERING = ["yes", "No", "ON", "off", "010", "08", "0o7", "0O7", "0X1F", "1e5", "1.0e5",
             "1E5", "1e+5", "0e0", "+.5", "-.5", "="]


@pytest.mark.parametrize("token", DIFFERING)
def test_scalars_the_two_versions_read_differently_go_to_the_reference(token):
    for text in (f"key: {token}\n", f"list:\n  - {token}\n", f"{token}: value\n",
                 f"outer:\n  - inner: {token}  # comment\n"):
        assert needs_reference(text), text
        assert outcome(load_front_matter, text) == outcome(load_yaml, text)
    # and the differences are real: without the guard the result would be wrong
    assert not agrees(fast_only(f"key: {token}\n"), outcome(load_yaml, f"key: {token}\n"))


@pytest.mark.parametrize("text", [
    "a: &x [1]\nb: *x\n", "a: !!str 1\n", "<<: {a: 1}\n", "%YAML 1.1\n---\na: 1\n",
    "? a\n: b\n", "a: [1, 2]\n", "a: {b: 1}\n", "a:\t1\n", "a: 1\n---\nb: 2\n",
    "title: |\n", "title: >-\n  folded\n",
])
def test_structure_yaml_rs_treats_otherwise_goes_to_the_reference(text):
    assert needs_reference(text)
    assert outcome(load_front_matter, text) == outcome(load_yaml, text)


@pytest.mark.parametrize("text", [
    "title: Plain\nquality: 13\nheat: -2\nratio: 0.25\nok: true\nnothing: ~\n",
    "publishedDateTime: 2015-01-01T00:36:00Z\ndate: 2024-05-05\n",
    "url: https://example.org/a?b=1&c=2\ntitle: R&D at 3:30 # a comment\n",
    "images:\n  - url: \"https://img.example/1.jpg\"\n    width: 1200\n",
])
def test_ordinary_front_matter_takes_the_fast_path(text):
    assert not needs_reference(text)
    assert agrees(fast_only(text), outcome(load_yaml, text))


def test_without_yaml_rs_everything_takes_the_reference_path(monkeypatch):
    monkeypatch.setattr(fastyaml, "yaml_rs", None)
    text = "title: x\nquality: 3\n"
    assert load_front_matter(text) == load_yaml(text)


def test_errors_are_the_reference_loaders():
    text = "title: \"never closed\nquality: 3\n"
    with pytest.raises(yaml.YAMLError) as fast_error:
        load_front_matter(text)
    with pytest.raises(yaml.YAMLError) as reference_error:
        load_yaml(text)
    assert str(fast_error.value) == str(reference_error.value)


# --- generated documents --------------------------------------------------------

TRICKY = st.sampled_from([
    *DIFFERING, "true", "False", "null", "~", "0", "-1", "+1", "12", "1.5", "-0.0", ".5",
    "1.", ".inf", "-.Inf", ".nan", "0x1F", "0b101", "1_000", "1:30", "190:20:30.15",
    "2015-01-01", "2015-01-01T00:36:00Z", "2001-12-14 21:59:43.10 -5", "y", "n", "inf",
    "NaN", "12abc", "1,000", "v1.2.3", "3 items", "R&D", "a #b", "C#", "x: y", "- z", "",
])
WORDS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12)
SCALAR_TEXT = st.one_of(TRICKY, WORDS)


def _emit(value: str, style: str) -> str:
    if style == "double":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    return value  # plain: whatever it is, both loaders must agree on the outcome


@st.composite
def documents(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        key = draw(st.one_of(st.sampled_from(["title", "quality", "yes", "010", "a b"]),
                             st.from_regex(r"[a-z][a-zA-Z0-9_]{0,8}", fullmatch=True)))
        shape = draw(st.sampled_from(["scalar", "list", "map"]))
        style = draw(st.sampled_from(["plain", "plain", "double", "single"]))
        if shape == "scalar":
            lines.append(f"{key}: {_emit(draw(SCALAR_TEXT), style)}")
        elif shape == "list":
            lines.append(f"{key}:")
            lines += [f"  - {_emit(draw(SCALAR_TEXT), style)}"
                      for _ in range(draw(st.integers(1, 3)))]
        else:
            lines.append(f"{key}:")
            lines += [f"  {draw(st.from_regex(r'[a-z]{1,6}', fullmatch=True))}: "
                      f"{_emit(draw(SCALAR_TEXT), style)}" for _ in range(draw(st.integers(1, 3)))]
    return "\n".join(lines) + "\n"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_generated_documents_load_as_the_reference_loads_them(text):
    expected = outcome(load_yaml, text)
    assert outcome(load_front_matter, text) == expected
    if not needs_reference(text):
        assert agrees(fast_only(text), expected)


# --- which lines are read ---------------------------------------------------------

def reading_every_line(text: str) -> bool:
    """The decision read off every line of the text, as `needs_reference` made it before
    it read only the lines its two patterns find."""
    if fastyaml._structure_differs(text):
        return True
    suspects = fastyaml._suspect_scalars(text)
    return suspects is None or not all(fastyaml._agreed(scalar) for scalar in suspects)


PIECES = st.sampled_from([
    "\n", "\n", " ", "  ", "- ", "-", ": ", ":", " #", "#", "'", '"', "|", ">", "\r",
    "yes", "No", "on", "OFF", "y", "n", "true", "True", "tRue", "FALSE", "null", "Null", "nUll",
    "inf", "Infinity", ".inf", "nan", "<<", "=", "~", "0", "010", "12", "-3", "+4", "1.5", "1e5",
    "2015-01-01", "2015-01-01T00:36:00Z", "2015-01-01 10:00", "x", "key", "title", "a b",
])


@settings(max_examples=3000, deadline=None)
@given(st.lists(PIECES, max_size=14).map("".join))
def test_reading_the_found_lines_decides_as_reading_every_line(text):
    """Only the lines the patterns find are read; had they missed a line that decides,
    the decisions would differ here."""
    assert needs_reference(text) == reading_every_line(text), repr(text)


LINE_KEYS = ["", "key", "yes", "True", "tRue", "010", "-3", "<<", "=", "'q'", '"q"', "a b"]
VALUE_PIECES = ["", "yes", "No", "true", "True", "tRue", "null", "inf", "Infinity", "0", "010",
                "12", "-3", "1.5", "2015-01-01", "T00:36:00Z", " 10:00", "+01:00", " x", "Tx",
                " ", "x", "T", "Z", ":", "#", "|", ">", "'", '"', "<<", "=", "~"]


def test_every_line_of_a_grid_is_decided_as_reading_every_line():
    """Every line made of a prefix, a key, a separator, a value of two pieces and a
    comment (about 250,000): the combinations a random sample is unlikely to draw."""
    values = {first + second for first in VALUE_PIECES for second in VALUE_PIECES}
    differing = []
    for prefix in ("", "  ", "  - - "):
        for key in LINE_KEYS:
            for separator in (": ", ":", " : ", ""):
                for value in values:
                    for comment in ("", " # c"):
                        line = f"{prefix}{key}{separator}{value}{comment}\n"
                        if needs_reference(line) != reading_every_line(line):
                            differing.append(line)
    assert differing == []


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_generated_documents_are_decided_as_reading_every_line(text):
    assert needs_reference(text) == reading_every_line(text)


def test_real_front_matter_is_decided_as_reading_every_line():
    files = front_matters(CORPUS.parent, SEEDS, CONTENT, DATA / "bad")
    if not files:
        pytest.skip(f"no front matter found beside this checkout ({CORPUS})")
    for name, text in files:
        assert needs_reference(text) == reading_every_line(text), name


def test_front_matter_is_split_as_python_frontmatter_splits_it():
    """parse.py slices at the first two boundaries instead of calling YAMLHandler.split
    (which scans the whole file); python-frontmatter stays the reference."""
    from frontmatter.default_handlers import YAMLHandler

    from feedsvc.content.parse import _split_front_matter

    texts = []
    for root in (CORPUS.parent, SEEDS, CONTENT, DATA / "bad"):
        if root.is_dir():
            texts += [p.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n")
                      for p in sorted(root.rglob("*.md"))]
    texts += ["---\na: 1\n---\nbody\n---\nmore\n", "---  \na: 1\n-----   \n\n\nbody",
              "---\n---\n", "---\na: 1\n---"]
    split = 0
    for text in texts:
        if len(YAMLHandler.FM_BOUNDARY.findall(text)) >= 2:
            assert _split_front_matter(text) == YAMLHandler().split(text)
            split += 1
    assert split >= 50 or not CORPUS.is_dir()


@given(st.text(alphabet="-- \n\t\r\x0ba:", max_size=40), st.integers(min_value=0, max_value=45))
def test_a_boundary_is_found_where_the_regex_search_finds_it(text, start):
    """parse.py looks for a front-matter boundary only at line starts with a "-";
    python-frontmatter's regex searched every position: the same match, from anywhere."""
    from frontmatter.default_handlers import YAMLHandler

    from feedsvc.content.parse import _boundary

    expected = YAMLHandler.FM_BOUNDARY.search(text, start)
    found = _boundary(text, start)
    assert (found.span() if found else None) == (expected.span() if expected else None)
