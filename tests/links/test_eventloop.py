"""The loop link checks run on."""

from __future__ import annotations

import asyncio
import sys

import pytest

from feedsvc.links import eventloop


@pytest.mark.skipif(sys.platform == "win32",
                    reason="uvloop has no Windows build; asyncio's own loop runs there")
def test_link_checks_run_on_uvloop() -> None:
    import uvloop

    async def loop_type() -> type:
        return type(asyncio.get_running_loop())

    assert eventloop.run(loop_type()) is uvloop.Loop


def test_the_loop_is_closed_after_the_run_and_a_failure_comes_out() -> None:
    seen: list[asyncio.AbstractEventLoop] = []

    async def fail() -> None:
        seen.append(asyncio.get_running_loop())
        raise LookupError("from inside the run")

    with pytest.raises(LookupError, match="from inside the run"):
        eventloop.run(fail())
    assert seen and seen[0].is_closed()
