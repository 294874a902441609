"""Process-wide settings set for a while, by users that may overlap (a clock's threads)."""

from __future__ import annotations

import gc

from feedsvc.interpreter import set_for_a_while
from feedsvc.workers import BUILD_GC_THRESHOLD, fewer_collections


class Setting:
    def __init__(self, value: int) -> None:
        self.value = value

    def read(self) -> int:
        return self.value

    def write(self, value: int) -> None:
        self.value = value


def test_overlapping_users_leave_it_as_it_was_whichever_ends_first():
    for first_to_end in ("a", "b"):
        setting = Setting(1)
        a = set_for_a_while(setting.read, setting.write, 2)
        b = set_for_a_while(setting.read, setting.write, 2)
        a.__enter__()
        b.__enter__()
        assert setting.value == 2
        ends = (a, b) if first_to_end == "a" else (b, a)
        ends[0].__exit__(None, None, None)
        ends[1].__exit__(None, None, None)
        assert setting.value == 1, first_to_end


def test_a_value_set_meanwhile_by_someone_else_is_kept():
    setting = Setting(1)
    with set_for_a_while(setting.read, setting.write, 2):
        setting.write(3)
    assert setting.value == 3


def test_two_overlapping_builds_give_the_process_its_thresholds_back():
    """The clock's build and its standby's cache refresh are separate jobs on one process."""
    before = gc.get_threshold()
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    second.__enter__()
    assert gc.get_threshold() == BUILD_GC_THRESHOLD
    first.__exit__(None, None, None)
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
