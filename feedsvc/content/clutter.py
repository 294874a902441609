"""Plain-text articles as editors paste them: the title, the standfirst, the body,
and the page clutter that came along, told apart.

Text copied from a news page brings more than the article. The shapes
recognised (and left out of the published article) are:

* **a photo caption with its credit**: a short block of one to four lines,
  none ending a paragraph-long sentence, whose last line is a credit:
  `Photo: …`, `Image credit …`, `(Illustration by …)`, `… / Getty Images`,
  `Alistair Berg / Getty`, `… via Reuters`, `Photo by … on Unsplash`;
* **a newsletter or sign-up footer**: in the last three blocks, a short block
  that names a newsletter, a sign-up or a subscription, and every short block
  after it (`The InsideHook Newsletter.` / `News, advice and insights…`).

Everything else is article text; a long paragraph is never clutter, whatever
it mentions. Pure functions: the parser calls them on the decoded text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Agencies and libraries whose names end photo credits.
_AGENCIES = (r"Getty(?:\s+Images)?|AP(?:\s+Photo)?|AFP|Reuters|Shutterstock|Unsplash|EPA|"
             r"Bloomberg|Alamy|iStock(?:photo)?|Pexels|Pixabay|Wikimedia(?:\s+Commons)?|"
             r"NurPhoto|SOPA\s+Images|Xinhua|PA(?:\s+Images)?|Corbis|Flickr|Adobe\s+Stock")
_CREDIT = re.compile(
    r"^\s*[(\[]?\s*(?:"
    r"(?:image|photo|photograph|picture|illustration|video|graphic|credit)s?"
    r"(?:\s+credits?)?(?:\s+by)?\s*[:\-–—]?\s+\S.*"             # Photo: Jane Doe / Photo by …
    r"|.{0,80}\S\s*/\s*(?:" + _AGENCIES + r")\b.*"                 # Jane Doe / Getty Images
    r"|[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}\s*/\s*[A-Z][\w.'’&-]*(?:\s+[A-Z][\w.'’&-]*){0,2}"
    r"|.{0,80}\bvia\s+(?:" + _AGENCIES + r")\b.*"                  # … via Reuters
    r")\s*[)\]]?\s*$", re.I)
_FOOTER = re.compile(r"\b(?:newsletters?|sign\s*up|subscribe|subscription|inbox|unsubscribe)\b",
                     re.I)
SHORT = 200        # characters: longer blocks are article text, never clutter
CAPTION_LINES = 4  # a caption block has at most this many lines, credit included


@dataclass(frozen=True, slots=True)
class PlainText:
    title: str
    title_line: int
    standfirst: str
    body: str


@dataclass(frozen=True, slots=True)
class _Block:
    lines: tuple[str, ...]
    first_line: int  # 1-based line number in the file

    @property
    def text(self) -> str:
        return " ".join(line.strip() for line in self.lines)


def blocks(text: str) -> list[_Block]:
    """Runs of non-blank lines, with the file line each starts on."""
    found: list[_Block] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            found.append(_Block(tuple(current), start))
            current = []
    if current:
        found.append(_Block(tuple(current), start))
    return found


def is_credit_line(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) <= 120 and bool(_CREDIT.match(stripped))


def is_caption(block: _Block) -> bool:
    """A short block that ends in a credit line (a lone credit line counts)."""
    return (len(block.lines) <= CAPTION_LINES and is_credit_line(block.lines[-1])
            and all(len(line.strip()) <= SHORT for line in block.lines))


def split_at_credits(block: _Block) -> list[_Block]:
    """A block with a credit line inside it is a caption followed by text: split it
    after the credit, so that `Title / Image credit: X / The standfirst` typed
    without blank lines still gives a caption and a standfirst."""
    for index, line in enumerate(block.lines[:-1]):
        if is_credit_line(line) and index < CAPTION_LINES:
            head = _Block(block.lines[:index + 1], block.first_line)
            tail = _Block(block.lines[index + 1:], block.first_line + index + 1)
            return [head, *split_at_credits(tail)]
    return [block]


def footer_start(found: list[_Block]) -> int:
    """Index of the first footer block (len(found) when there is none)."""
    for index in range(max(1, len(found) - 3), len(found)):
        rest = found[index:]
        if _FOOTER.search(found[index].text) and all(len(b.text) <= SHORT for b in rest):
            return index
    return len(found)


def split_plain_text(text: str) -> PlainText | None:
    """Title, standfirst and body (Markdown source) with clutter left out; None if empty."""
    found = blocks(text)
    if not found:
        return None
    head = found[0]
    title = head.lines[0]
    rest = ([_Block(head.lines[1:], head.first_line + 1)] if len(head.lines) > 1 else []) + found[1:]
    rest = [part for block in rest for part in split_at_credits(block)]
    rest = rest[:footer_start(rest)] if len(rest) > 1 else rest
    kept = [block for block in rest if not is_caption(block)]
    standfirst = kept[0].text if kept else ""
    body = "\n\n".join("\n".join(block.lines) for block in kept[1:])
    return PlainText(title, head.first_line, standfirst, body)
