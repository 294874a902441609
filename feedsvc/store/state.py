"""Small named values (the current pointer, reports, clock state) and the
WebSub backlog's summary."""

from __future__ import annotations

import json

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from feedsvc.models import BuildStatus
from feedsvc.store.common import JSONObject, StoreBase
from feedsvc.store.fencing import Fence, fenced
from feedsvc.store.tables import state
from feedsvc.store.upsert import bump_counter


class StateMixin(StoreBase):
    """The `state` rows: build reports and other small JSON values."""

    def record_report(self, report: JSONObject, *, fence: Fence | None = None) -> None:
        """Keep the latest build report even when no new generation was published.

        In the same transaction: count the build under its status (`ops_counters`),
        and keep the last published report and the last refused or failed one under
        their own keys, so that a stream of `unchanged` builds never hides either."""
        value = json.dumps(report, sort_keys=True, default=str)
        status = str(report.get("status", "unknown"))
        with fenced(self.engine, fence) as conn:
            _put_state(conn, "last_report", value)
            if status == BuildStatus.PUBLISHED:
                _put_state(conn, "last_published_report", value)
            elif status != BuildStatus.UNCHANGED:
                _put_state(conn, "last_failed_report", value)
            if status in (BuildStatus.PUBLISHED, BuildStatus.UNCHANGED):
                _put_state(conn, "last_success_at", str(report.get("started_at", "")))
            bump_counter(conn, f"builds:{status}")

    def state_values(self, *keys: str) -> dict[str, str]:
        """Raw values of these `state` rows (missing keys are left out)."""
        with self.engine.connect() as conn:
            return {key: value for key, value in conn.execute(  # noqa: C416 - Row pairs
                select(state.c.key, state.c.value).where(state.c.key.in_(keys)))}

    def put_state(self, key: str, value: JSONObject) -> None:
        """Keep one small JSON record under `key` (what the clock last did, for the pages)."""
        text = json.dumps(value, sort_keys=True, default=str)
        with self.engine.begin() as conn:
            if not conn.execute(update(state).where(state.c.key == key).values(value=text)).rowcount:
                conn.execute(insert(state).values(key=key, value=text))

    def get_state(self, key: str) -> JSONObject | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(state.c.value).where(state.c.key == key)).scalar()
        found = json.loads(value) if value else None
        return found if isinstance(found, dict) else None

    def last_report(self) -> JSONObject | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(state.c.value).where(state.c.key == "last_report")).scalar()
        return json.loads(value) if value else None


# Built once (see upsert._bump_statement): every link checker's write that moves a link
# between ranks sets a `state` row.
_UPDATE_STATE = update(state).where(state.c.key == bindparam("b_key")).values(value=bindparam("b_value"))
_INSERT_STATE = insert(state).values(key=bindparam("b_key"), value=bindparam("b_value"))


def _put_state(conn: Connection, key: str, value: str) -> None:
    """Set one `state` row, inserting it the first time."""
    values = {"b_key": key, "b_value": value}
    if not conn.execute(_UPDATE_STATE, values).rowcount:
        conn.execute(_INSERT_STATE, values)
