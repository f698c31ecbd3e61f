"""Every bad request gets its own 4xx JSON answer (an env that raises gets a 5xx), and the server keeps serving."""

from __future__ import annotations

import httpx
import pytest

LIMIT = 65_536


@pytest.fixture()
def http(wordle_url):
    with httpx.Client(base_url=wordle_url, timeout=10) as client:
        yield client


@pytest.fixture()
def sid(http):
    sid = http.post("/sessions", json={}).json()["session_id"]
    assert http.post(f"/sessions/{sid}/reset", json={"seed": 1}).status_code == 200
    yield sid
    http.delete(f"/sessions/{sid}")


def _chunks(total: int):
    yield b'{"action": "'
    for _ in range(total // 1000):
        yield b"a" * 1000
    yield b'"}'


# (name, method, path ("{sid}" = a live session), request kwargs, status, error code, words of the detail)
BAD = [
    ("malformed json", "POST", "/sessions/{sid}/step", {"content": b'{"action": "crane"'}, 400, "invalid_json",
     "malformed JSON"),
    ("malformed json, json content type", "POST", "/sessions/{sid}/step",
     {"content": b"{bad", "headers": {"content-type": "application/json"}}, 400, "invalid_json", "malformed JSON"),
    ("form body", "POST", "/sessions/{sid}/step", {"data": {"action": "crane"}}, 400, "invalid_json", "JSON"),
    ("not utf-8", "POST", "/sessions/{sid}/step", {"content": b"\xff\xfe\x00"}, 400, "invalid_json", "JSON"),
    ("deeply nested", "POST", "/sessions/{sid}/step", {"content": b"[" * 20_000}, 400, "invalid_json", "JSON"),
    ("array body", "POST", "/sessions/{sid}/step", {"json": ["crane"]}, 422, "invalid_request", "JSON object"),
    ("empty body", "POST", "/sessions/{sid}/step", {}, 422, "invalid_request", "action"),
    ("missing action", "POST", "/sessions/{sid}/step", {"json": {"step_index": 0}}, 422, "invalid_request",
     "action: Field required"),
    ("action is a number", "POST", "/sessions/{sid}/step", {"json": {"action": 5}}, 422, "invalid_request",
     "action: Input should be a valid string"),
    ("step_index is a string", "POST", "/sessions/{sid}/step", {"json": {"action": "crane", "step_index": "0"}},
     422, "invalid_request", "step_index"),
    ("negative step_index", "POST", "/sessions/{sid}/step", {"json": {"action": "crane", "step_index": -1}}, 422,
     "invalid_request", "greater than or equal to 0"),
    ("return_episode is a number", "POST", "/sessions/{sid}/step", {"json": {"action": "a", "return_episode": 1}},
     422, "invalid_request", "return_episode"),
    ("unknown field", "POST", "/sessions/{sid}/step", {"json": {"action": "crane", "actoin": 1}}, 422,
     "invalid_request", "actoin: Extra inputs are not permitted"),
    ("seed is a float", "POST", "/sessions/{sid}/reset", {"json": {"seed": 1.5}}, 422, "invalid_request", "seed"),
    ("options is a list", "POST", "/sessions/{sid}/reset", {"json": {"options": [1]}}, 422, "invalid_request",
     "options"),
    ("env_options is a string", "POST", "/sessions", {"json": {"env_options": "fixed"}}, 422, "invalid_request",
     "env_options"),
    ("unknown env option", "POST", "/sessions", {"json": {"env_options": {"colour": 1}}}, 422, "env_rejected",
     "unexpected keyword argument 'colour'"),
    ("bad env option value", "POST", "/sessions", {"json": {"env_options": {"mode": "hard"}}}, 422, "env_rejected",
     "unknown mode 'hard'"),
    ("unknown reset option", "POST", "/sessions/{sid}/reset", {"json": {"options": {"word": "crane"}}}, 422,
     "env_rejected", "unknown reset options ['word']"),
    ("step out of turn", "POST", "/sessions/{sid}/step", {"json": {"action": "crane", "step_index": 3}}, 409,
     "step_conflict", "step_index 3 is out of turn"),
    ("unknown session: step", "POST", "/sessions/nope/step", {"json": {"action": "crane"}}, 404, "unknown_session",
     "unknown session 'nope'"),
    ("unknown session: reset", "POST", "/sessions/nope/reset", {"json": {}}, 404, "unknown_session", "nope"),
    ("unknown session: episode", "GET", "/sessions/nope/episode", {}, 404, "unknown_session", "nope"),
    ("unknown session: close", "DELETE", "/sessions/nope", {}, 404, "unknown_session", "nope"),
    ("unknown endpoint", "GET", "/sessions/{sid}/state", {}, 404, "not_found", "no endpoint"),
    ("wrong method", "GET", "/sessions/{sid}/step", {}, 405, "method_not_allowed", "GET"),
    ("oversized body", "POST", "/sessions/{sid}/step", {"json": {"action": "a" * (2 * LIMIT)}}, 413,
     "body_too_large", "over the limit of 65536 bytes"),
    ("oversized chunked body", "POST", "/sessions/{sid}/step", {"content": _chunks(2 * LIMIT)}, 413,
     "body_too_large", "over the limit"),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code", "words"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_request_gets_its_4xx_and_the_server_keeps_serving(http, sid, method, path, kwargs, status, code, words):
    if "content" in kwargs and not isinstance(kwargs["content"], bytes):
        kwargs = dict(kwargs, content=_chunks(2 * LIMIT))  # a generator is used up by one request
    answer = http.request(method, path.format(sid=sid), **kwargs)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"] == code
    assert words in body["detail"]
    assert "\n" not in body["detail"]
    step = http.post(f"/sessions/{sid}/step", json={"action": "crane", "step_index": 0})  # still serving
    assert step.status_code == 200, step.text
    assert step.json()["observation"]


def test_env_refusals_say_what_the_env_said(http):
    sid = http.post("/sessions", json={"env_options": {"mode": "fixed", "hidden_word": "crane"}}).json()["session_id"]
    early = http.post(f"/sessions/{sid}/step", json={"action": "crane"})
    assert (early.status_code, early.json()["error"]) == (409, "env_state")
    assert "call reset() before step()" in early.json()["detail"]
    http.post(f"/sessions/{sid}/reset", json={})
    assert http.post(f"/sessions/{sid}/step", json={"action": "crane"}).json()["terminated"] is True
    late = http.post(f"/sessions/{sid}/step", json={"action": "crane"})
    assert (late.status_code, late.json()["error"]) == (409, "env_state")
    assert "GameOverError: the Wordle game is over" in late.json()["detail"]
    assert http.post(f"/sessions/{sid}/reset", json={}).status_code == 200  # the session is still usable
    http.delete(f"/sessions/{sid}")


def test_an_env_that_crashes_answers_500_for_that_request_only(http, sid, wordle_app):
    env = wordle_app.state.store.get(sid).env
    real_step = env.step

    def broken(action):
        if action == "boom!":
            raise KeyError("the word list lost 'boom!'")
        return real_step(action)

    env.step = broken
    answer = http.post(f"/sessions/{sid}/step", json={"action": "boom!"})
    assert answer.status_code == 500
    assert answer.json() == {"error": "env_error",
                             "detail": "wordle.step raised KeyError: \"the word list lost 'boom!'\""}
    assert http.post(f"/sessions/{sid}/step", json={"action": "crane", "step_index": 0}).status_code == 200
    assert http.get("/health").json()["status"] == "ok"


def test_episode_close_and_info(http, sid):
    http.post(f"/sessions/{sid}/step", json={"action": "crane"})
    episode = http.get(f"/sessions/{sid}/episode").json()
    assert [t["text"] for t in episode["turns"]][0] == "crane"
    assert episode["terminated"] is False
    info = http.get("/info").json()
    assert info["env"] == "wordle" and info["max_body_bytes"] == LIMIT
    assert info["observation_space"]["type"] == "text"
    assert http.delete(f"/sessions/{sid}").json() == {"closed": sid}
    assert http.get(f"/sessions/{sid}/episode").status_code == 404
