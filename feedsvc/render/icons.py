"""The site's icon, logo and favicon, drawn in code: the familiar feed symbol
(a dot and two arcs, white on orange) as PNG, with no image files to ship and
nothing fetched from elsewhere.

Readers show a feed's icon beside its name (RSS `<image>`, Atom `<icon>` and
`<logo>`, JSON Feed `icon`/`favicon`) and browsers show the favicon in tabs
and bookmarks; without them a subscription is a grey square. Atom asks for a
square icon (144 x 144 here) and a 2:1 logo, which is also the RSS `<image>`
(144 x 72: RSS allows at most 144 pixels wide). Drawing is deterministic (same bytes on every
machine) and cached per process: it runs once per store, when the documents
are first rendered.
"""

from __future__ import annotations

import struct
import zlib
from functools import cache, lru_cache

ICON_SIZE = 144
LOGO_WIDTH, LOGO_HEIGHT = 144, 72  # 2:1, and no wider than RSS allows an <image>
FAVICON_SIZES = (16, 32, 48)
_ORANGE = (0xEE, 0x80, 0x2F)
_WHITE = (0xFF, 0xFF, 0xFF)
_SAMPLES = 4  # per axis, in pixels that straddle an edge: anti-aliasing


def _coverage(x: float, y: float) -> tuple[bool, bool]:
    """(inside the rounded square, on the white symbol) for a point in the unit square."""
    r = 0.18  # corner radius
    cx = min(max(x, r), 1 - r)
    cy = min(max(y, r), 1 - r)
    inside = (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    # The symbol, measured from the bottom-left origin of the feed icon.
    ox, oy = 0.22, 0.78
    dx, dy = x - ox, oy - y
    if dx < -0.09 or dy < -0.09:
        return inside, False
    distance = (dx * dx + dy * dy) ** 0.5
    dot = distance <= 0.09
    arcs = dx >= 0 and dy >= 0 and (0.26 <= distance <= 0.38 or 0.48 <= distance <= 0.60)
    return inside, dot or arcs


def _pixel(left: float, top: float, side: float, state: tuple[bool, bool] | None) -> bytes:
    """One RGBA pixel whose top-left corner is (left, top) in canvas units of 1/side.

    `state` is the shared state of its four corners when they agree (then the
    pixel is solid); otherwise the pixel straddles an edge and is supersampled."""
    if state is not None:
        inside, white = state
        covered, symbol, total = int(inside), int(inside and white), 1
    else:
        covered = symbol = 0
        total = _SAMPLES * _SAMPLES
        for sy in range(_SAMPLES):
            for sx in range(_SAMPLES):
                x = left + (sx + 0.5) / (_SAMPLES * side)
                y = top + (sy + 0.5) / (_SAMPLES * side)
                if 0 <= x <= 1 and 0 <= y <= 1:
                    inside, white = _coverage(x, y)
                    covered += inside
                    symbol += inside and white
    if not covered:
        return b"\0\0\0\0"
    mix = symbol / covered
    rgb = bytes(round(o + (w - o) * mix) for o, w in zip(_ORANGE, _WHITE, strict=True))
    return rgb + bytes((round(255 * covered / total),))


@lru_cache(maxsize=8)
def _icon_rows(side: int) -> list[bytes]:
    corners = [[_coverage(px / side, py / side) for px in range(side + 1)] for py in range(side + 1)]
    rows = []
    for py in range(side):
        row = bytearray()
        for px in range(side):
            states = {corners[py][px], corners[py][px + 1], corners[py + 1][px],
                      corners[py + 1][px + 1]}
            state = states.pop() if len(states) == 1 else None
            row += _pixel(px / side, py / side, side, state)
        rows.append(bytes(row))
    return rows


def _pixels(width: int, height: int) -> bytes:
    """RGBA rows (with PNG filter bytes) of the icon centred on a width x height canvas."""
    side = min(width, height)
    pad_x, pad_y = (width - side) // 2, (height - side) // 2
    blank = b"\0\0\0\0"
    empty_row = b"\0" + blank * width
    out = [empty_row] * pad_y
    out += [b"\0" + blank * pad_x + row + blank * (width - side - pad_x)
            for row in _icon_rows(side)]
    out += [empty_row] * (height - side - pad_y)
    return b"".join(out)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(_pixels(width, height), 9)) + _chunk(b"IEND", b""))


@cache
def icon_png() -> bytes:
    """Square icon: RSS <image>, Atom <icon>, JSON Feed `icon`."""
    return _png(ICON_SIZE, ICON_SIZE)


@cache
def logo_png() -> bytes:
    """2:1 logo (Atom <logo>, RSS <image>): the icon on a transparent band."""
    return _png(LOGO_WIDTH, LOGO_HEIGHT)


@cache
def favicon_ico() -> bytes:
    """An ICO holding PNG images (every current browser reads those)."""
    images = [_png(size, size) for size in FAVICON_SIZES]
    directory = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries = b""
    for size, image in zip(FAVICON_SIZES, images, strict=True):
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(image), offset)
        offset += len(image)
    return directory + entries + b"".join(images)
