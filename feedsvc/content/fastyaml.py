"""A fast path for front matter: a Rust YAML parser where it provably agrees with ours.

PyYAML with libyaml spends about two thirds of its time in its Python
constructor, and YAML parsing was the largest single cost of a cold build.
`yaml_rs` (a Rust extension) parses the same upstream front matter about ten
times faster, but it speaks YAML 1.2, not the YAML 1.1 that
`feedsvc.content.yamlsafe` defines our behaviour by: `yes`, `on`, `010`,
`1e5`, `+.5`, `0o7` and a few more plain scalars mean different things, it
refuses duplicate keys and tabs that PyYAML accepts, and it expands aliases.

So the Rust parser is only trusted with text in which none of that can occur,
and everything else goes to the reference loader (`yamlsafe.load_yaml`),
which also produces every error message. `needs_reference` decides: it looks
at each plain scalar that could resolve to something other than a string and
accepts only the spellings both parsers read identically (decimal integers
without a leading zero, decimals with a dot, the common booleans and nulls);
anything else (anchors, aliases, tags, merge keys, directives, complex keys,
flow collections, tabs, characters PyYAML cannot read) sends the whole text to the reference loader. The
differential tests over every corpus file and the property tests in
`tests/content/test_fastyaml.py` hold the two paths to the same results.

`yaml_rs` is optional at run time: without it (no wheel for a platform), every
file takes the reference path, with the same results, only slower.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

from feedsvc.content.yamlsafe import load_yaml as load_reference

yaml_rs: ModuleType | None
try:  # pragma: no cover - exercised by whichever branch is installed
    import yaml_rs
except ImportError:  # pragma: no cover
    yaml_rs = None

# Anything that makes the two parsers differ structurally: node properties
# (&anchor, *alias, !tag) where a node starts, merge keys, directives, complex
# keys, flow collections, a second document, tabs, and characters PyYAML's
# reader refuses (its NON_PRINTABLE) but yaml_rs reads. Each check runs only
# when its trigger character is in the text at all: one regex with all of
# them in alternation cost more than parsing.
_STRUCTURE = (
    ("&", re.compile(r"(?:^|[\s\[{,])&[^\s]", re.M)),
    ("*", re.compile(r"(?:^|[\s\[{,])\*[^\s]", re.M)),
    ("!", re.compile(r"(?:^|[\s\[{,])![^\s]", re.M)),
    ("<<", None),
    ("\t", None),
    ("%", re.compile(r"^%", re.M)),
    ("?", re.compile(r"^[ ]*\?(?:[ ]|$)", re.M)),
    ("[", re.compile(r"(?:^|[:\-][ ]+)\[", re.M)),
    ("{", re.compile(r"(?:^|[:\-][ ]+)\{", re.M)),
    ("---", re.compile(r"^---(?:[ ]|$)", re.M)),
    ("...", re.compile(r"^\.\.\.(?:[ ]|$)", re.M)),
)
_UNREADABLE = re.compile("[^\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def _structure_differs(text: str) -> bool:
    for trigger, pattern in _STRUCTURE:
        if trigger in text and (pattern is None or pattern.search(text)):
            return True
    return _UNREADABLE.search(text) is not None


# Plain scalars that either parser might read as something other than a string
# start with one of `-+.0-9~=` or are one of a few words (below); only those
# are looked at. Continuation lines of multi-line scalars and lines of block
# scalars are looked at as if they were scalars: that can only send more text
# to the reference loader, never less.
_WORD_STARTS = frozenset("yYnNoOtTfFiI<")
_MAYBE_NOT_TEXT_START = frozenset("0123456789+-.~=")
_MAYBE_NOT_TEXT_WORDS = re.compile(
    r"(?i:y|n|yes|no|on|off|true|false|null|inf|nan|infinity)|<<|=")
# Spellings both read the same way, as the same value.
_AGREED = re.compile(
    r"[-+]?(?:0|[1-9][0-9]*)"                 # decimal integer, no leading zero
    r"|[-+]?(?:0|[1-9][0-9]*)\.[0-9]+"        # decimal fraction with digits both sides
    r"|true|True|TRUE|false|False|FALSE"
    r"|null|Null|NULL|~"
    r"|y|Y|n|N")
# Plain scalars that start like a number but that neither parser reads as one:
# ISO dates and times (kept as text by both), versions, ranges, words.
_TEXT_AFTER_DIGITS = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[Tt ][0-9:.]+(?:[Zz]|[-+][0-9:]+)?)?"  # ISO date/time
    r"|[-+.0-9]*[^-+.0-9_:eEoOxXa-fA-F\s][^\n]*")  # a character no number has


def _suspect_scalars(text: str) -> list[str] | None:
    """The keys and plain values in `text` that might not be plain strings, line by
    line (a regex over the whole text was slower than the YAML parser); None when a
    line has a quoted key, which this reading cannot split, or starts a block scalar
    (upstream writes none; yaml_rs reads an empty one at the end differently)."""
    found: list[str] = []
    for line in text.split("\n"):
        rest = line.lstrip(" ")
        while rest[:2] == "- ":
            rest = rest[2:].lstrip(" ")
        if not rest or rest[0] == "#":
            continue
        if rest[0] in "\"'":
            if ": " in rest or rest.endswith(":"):
                return None  # a quoted key: let the reference loader read it
            continue
        key, colon, value = rest.partition(": ")
        if not colon:
            key, value = (rest[:-1], "") if rest.endswith(":") else ("", rest)
        if value[:1] in ("|", ">"):
            return None  # block scalars: their edge cases (an empty last one) differ
        for part in (key, value):
            if part and (part[0] in _MAYBE_NOT_TEXT_START or part[0] in _WORD_STARTS):
                comment = part.find(" #")
                found.append((part if comment < 0 else part[:comment]).rstrip(" "))
    return found


def _agreed(scalar: str) -> bool:
    """True when PyYAML (with our constructors) and yaml_rs give this plain scalar the
    same value."""
    if not scalar:
        return True
    if scalar[0] in _MAYBE_NOT_TEXT_START:
        if scalar == "=":  # YAML 1.1's value key, which PyYAML refuses to construct
            return False
        return bool(_AGREED.fullmatch(scalar) or _TEXT_AFTER_DIGITS.fullmatch(scalar))
    if _MAYBE_NOT_TEXT_WORDS.fullmatch(scalar):
        return bool(_AGREED.fullmatch(scalar))
    return True


# The lines `_suspect_scalars` can find anything on: a key or plain value that starts
# like a number, or is one of the words on which the versions differ, or a quoted key,
# or a block scalar. A line that neither pattern matches gives no suspect that is not
# `_agreed` and never stands aside, so only the matched lines are read, in Python; the
# two patterns scan the text in C (the text is read with a newline before and after it,
# so that every line starts after one and ends at one). Reading every line took 41 of
# the 62 us that deciding took for an upstream front matter (and loading one, 110 us);
# most upstream files have no line to read now. `tests/content/test_fastyaml.py` holds this to
# reading every line, on generated texts.
_DIFFERING_WORD = (r"(?:(?i:yes|no|on|off|inf|nan|infinity)"
                   r"|(?!true|True|TRUE|false|False|FALSE|null|Null|NULL)(?i:true|false|null)|<<)")
_AGREED_TO_LINE_END = (r"(?:[-+]?(?:0|[1-9][0-9]*)"  # as in _AGREED and _TEXT_AFTER_DIGITS
                       r"|[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[Tt ][0-9:.]+(?:[Zz]|[-+][0-9:]+)?)?)\n")
# where a key (or a value with no key) starts: after the indentation and any "- "
_AT_KEY = re.compile(r"\n *+(?:- ++)*+(?:[\"'|>\-+.0-9~=]|" + _DIFFERING_WORD + r"(?=[: \n]))")
# where a value starts: right after ": "
_AT_VALUE = re.compile(r": (?:[|>]|(?!" + _AGREED_TO_LINE_END + r")[-+.0-9~=]|"
                       + _DIFFERING_WORD + r"(?=[ \n]))")


def _lines_to_read(text: str) -> list[str]:
    """The lines of `text` on which `_suspect_scalars` may find something, in order."""
    padded = f"\n{text}\n"
    starts = {match.start() + 1 for match in _AT_KEY.finditer(padded)}
    starts.update(padded.rfind("\n", 0, match.start()) + 1 for match in _AT_VALUE.finditer(padded))
    return [padded[start:padded.index("\n", start)] for start in sorted(starts)]


def needs_reference(text: str) -> bool:
    """True unless the fast parser is known to give exactly the reference result."""
    if _structure_differs(text):
        return True
    for line in _lines_to_read(text):
        suspects = _suspect_scalars(line)
        if suspects is None or not all(_agreed(scalar) for scalar in suspects):
            return True
    return False


def load_front_matter(text: str) -> Any:
    """Parse front-matter YAML exactly as `yamlsafe.load_yaml` does, faster where it can.

    Raises what `yamlsafe.load_yaml` raises, with its messages: any text the
    fast parser refuses is parsed again by the reference loader."""
    if yaml_rs is None or needs_reference(text):
        return load_reference(text)
    try:
        return yaml_rs.loads(text, parse_datetime=False,
                             duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.LastWins)
    except Exception:  # noqa: BLE001 - whatever it refuses, the reference decides
        return load_reference(text)
