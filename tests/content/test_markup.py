"""`one_line`: titles and summaries as one clean line."""

from __future__ import annotations

import re
import sys

from hypothesis import given
from hypothesis import strategies as st

from feedsvc.content.markup import XML_FORBIDDEN, one_line

# The definition: forbidden characters removed, every run of white space one space,
# no white space at either end. `one_line` skips both passes for most values.
_WHITE_SPACE = re.compile(r"\s+")


def two_passes(text: str) -> str:
    return _WHITE_SPACE.sub(" ", XML_FORBIDDEN.sub("", text)).strip()


def test_no_printable_character_is_forbidden_or_white_space_but_the_space():
    """What the fast paths of one_line and of the feed writers (render.entries) rely on,
    checked over every code point there is."""
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if char.isprintable():
            assert XML_FORBIDDEN.search(char) is None, hex(code)
            assert char == " " or not char.isspace(), hex(code)


# Mostly the characters that matter (spaces of every kind, line breaks, controls,
# the two non-characters), with any other character among them.
_TRICKY = st.sampled_from([" ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x00", "\x07", "\x1f",
                           "\x85", "\xa0", "\u2003", "\u2028", "\u3000", "\u200b", "\ufeff",
                           "\ufffe", "\uffff", "a", "é", "R&D", "<b>"])
_TEXT = st.lists(st.one_of(_TRICKY, st.characters()), max_size=30).map("".join)


@given(_TEXT)
def test_one_line_is_the_two_passes(text):
    assert one_line(text) == two_passes(text)


def test_examples():
    assert one_line("  AI  ethics\n\tweekly\x07 ") == "AI ethics weekly"
    assert one_line("Plain title") == "Plain title"
    assert one_line(" padded ") == "padded"
    assert one_line("no\u00a0break") == "no break"
    assert one_line("\ufffe") == ""
