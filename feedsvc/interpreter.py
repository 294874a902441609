"""Interpreter settings that belong to the whole process, set for a while.

The thread switch interval (a shared link check) and the garbage collector's
thresholds (a build) are the process's, not a thread's: a clock runs builds and
link checks on threads of one process, and may run two of them at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

_V = TypeVar("_V")


@contextmanager
def set_for_a_while(read: Callable[[], _V], write: Callable[[_V], None], value: _V) -> Iterator[None]:
    """`value` written with `write` for the length of the block, then what `read` gave
    before put back, unless someone changed it since. So two overlapping users leave
    the setting as it was before both, whichever ends first, and one that set it to
    something else meanwhile keeps what it set."""
    before = read()
    write(value)
    try:
        yield
    finally:
        if read() == value:
            write(before)
