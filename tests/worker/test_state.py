"""worker/state.py: the life cycle's operations in retried transactions, as the worker calls them."""

from __future__ import annotations

from typing import Any

from core.status import SessionStatus
from tests.server.test_lifecycle import get, make_session
from worker import state


def test_the_worker_writes_only_while_it_holds_the_lease(sqlite_settings: Any) -> None:
    sid = make_session()
    lease = state.claim(sid, "w")
    assert lease == 1
    assert state.reset_history(sid, lease, [{"epoch": 1, "x": 0}])
    assert state.progress(sid, lease, {"batch": 3})
    assert state.add_epoch(sid, lease, {"epoch": 1, "x": 1}, {"epoch": 1})
    assert state.add_epoch(sid, lease, {"epoch": 2, "x": 2}, {"epoch": 2})
    row = get(sid)
    assert row.history == [{"epoch": 1, "x": 1}, {"epoch": 2, "x": 2}] and row.progress == {"epoch": 2}
    assert not state.add_epoch(sid, lease + 1, {"epoch": 3}, {})
    assert state.hand_back(sid, lease, "worker stopped")
    assert not state.add_epoch(sid, lease, {"epoch": 3}, {})
    lease = state.claim(sid, "w2")
    assert state.finish(sid, lease, "succeeded")
    assert get(sid).status == SessionStatus.SUCCEEDED
