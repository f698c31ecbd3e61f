"""Session bookkeeping: idle eviction, the session limit, idempotent retried steps."""

from __future__ import annotations

import time

import httpx
import pytest

from lexiq.serve.app import create_app
from lexiq.serve.config import ServeConfig
from lexiq.serve.server import ServerThread
from lexiq.serve.sessions import SessionStore, StoreFullError, UnknownSessionError


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_store_evicts_idle_sessions_but_not_busy_ones():
    clock = FakeClock()
    store = SessionStore(timeout=10, max_sessions=2, clock=clock)
    a, _ = store.add("env a")
    b, _ = store.add("env b")
    with pytest.raises(StoreFullError, match="2 open sessions"):
        store.add("env c")
    clock.now = 8
    store.get(a.id)  # a is used at t=8, b last at t=0
    b.busy = 1
    clock.now = 15
    assert store.pop_expired() == []  # b is busy, a idle for only 7 s
    b.busy = 0
    assert [s.id for s in store.pop_expired()] == [b.id]
    clock.now = 17
    c, evicted = store.add("env c")
    assert evicted == [] and len(store) == 2
    clock.now = 30
    with pytest.raises(UnknownSessionError, match="evicted after 10 s idle"):
        store.get(a.id)  # expired sessions are gone even before a sweep
    assert store.add("env d")[1] == [c]


def test_idle_sessions_are_evicted_and_answer_404():
    app = create_app(ServeConfig(session_timeout=0.3))
    with ServerThread(app) as url, httpx.Client(base_url=url) as http:
        idle = http.post("/sessions").json()["session_id"]
        busy = http.post("/sessions").json()["session_id"]
        http.post(f"/sessions/{busy}/reset")
        for _ in range(8):  # 0.8 s of regular use keeps a session alive
            time.sleep(0.1)
            assert http.get(f"/sessions/{busy}/episode").status_code == 200
        assert http.get("/health").json()["sessions"] == 1  # the sweeper evicted the idle one
        answer = http.post(f"/sessions/{idle}/reset")
        assert answer.status_code == 404
        assert answer.json()["error"] == "unknown_session"
        assert "evicted after 0.3 s idle" in answer.json()["detail"]


def test_the_session_limit_answers_503_until_a_session_closes():
    app = create_app(ServeConfig(max_sessions=2))
    with ServerThread(app) as url, httpx.Client(base_url=url) as http:
        first = http.post("/sessions").json()["session_id"]
        assert http.post("/sessions").status_code == 201
        full = http.post("/sessions")
        assert (full.status_code, full.json()["error"]) == (503, "server_full")
        assert full.headers["retry-after"] == "1"
        http.delete(f"/sessions/{first}")
        assert http.post("/sessions").status_code == 201


def test_a_step_sent_twice_is_played_once(wordle_url):
    with httpx.Client(base_url=wordle_url) as http:
        sid = http.post("/sessions").json()["session_id"]
        http.post(f"/sessions/{sid}/reset", json={"seed": 5})
        first = http.post(f"/sessions/{sid}/step", json={"action": "crane", "step_index": 0}).json()
        again = http.post(f"/sessions/{sid}/step", json={"action": "crane", "step_index": 0}).json()
        assert again.pop("replayed") is True
        assert again == first
        assert len(http.get(f"/sessions/{sid}/episode").json()["turns"]) == 2  # one guess, one feedback
        other = http.post(f"/sessions/{sid}/step", json={"action": "slate", "step_index": 0})
        assert other.status_code == 409  # same index, another action: not a retry
        second = http.post(f"/sessions/{sid}/step", json={"action": "slate", "step_index": 1, "return_episode": True})
        assert [t["text"] for t in second.json()["episode"]["turns"] if t["role"] == "agent"] == ["crane", "slate"]
        http.delete(f"/sessions/{sid}")


def test_create_session_with_a_seed_seeds_later_resets(wordle_url):
    with httpx.Client(base_url=wordle_url) as http:
        games = []
        for _ in range(2):
            sid = http.post("/sessions", json={"seed": 11, "env_options": {"mode": "fixed"}}).json()["session_id"]
            http.post(f"/sessions/{sid}/reset", json={})  # an unseeded reset continues the session's generator
            games.append([http.post(f"/sessions/{sid}/step", json={"action": w}).json()["observation"]
                          for w in ("crane", "slate", "pious")])
            http.delete(f"/sessions/{sid}")
        assert games[0] == games[1]
