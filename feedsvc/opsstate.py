"""The clocks' reports as /metrics and /status read them (the rows themselves are the
store's: feedsvc.store.operations)."""

from __future__ import annotations

import json

from feedsvc.store import JSONObject, Store
from feedsvc.store.operations import FAILED, LINK_RUN_STATE, ClockRow

__all__ = ["FAILED", "LINK_RUN_STATE", "ClockRow", "reports"]


def reports(store: Store) -> dict[str, JSONObject | None]:
    """The last report, the last published one, the last failure and the last link run."""
    keys = ("last_report", "last_published_report", "last_failed_report", "last_link_run",
            "last_success_at")
    raw = store.state_values(*keys)
    out: dict[str, JSONObject | None] = {}
    for key in keys[:4]:
        out[key] = json.loads(raw[key]) if key in raw else None
    out["last_success_at"] = {"at": raw["last_success_at"]} if raw.get("last_success_at") else None
    return out
