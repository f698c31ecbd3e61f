"""RemoteEnv: retries with backoff on connection errors, timeouts and 5xx; safe retried steps; one-line 4xx errors."""

from __future__ import annotations

import asyncio
import threading

import pytest

from lexiq.config import ConfigError
from lexiq.envs.http import RemoteRequestError, RemoteServerError, RemoteUnavailableError
from lexiq.envs.remote.client import RemoteEnv
from lexiq.serve.app import create_app
from lexiq.serve.config import ServeConfig
from lexiq.serve.server import ServerThread, bind_socket, url_of

FAST = {"http_backoff": 0.01}


class Flaky:
    """ASGI wrapper: the first ``fail`` requests whose path ends with ``suffix`` get ``status`` (after the app has
    handled them, if ``lose_answer``: the work is done but the answer is lost), optionally after ``delay`` s."""

    def __init__(self, app, fail=0, status=503, suffix="/step", lose_answer=False, delay=0.0):
        self.app, self.fail, self.status, self.suffix = app, fail, status, suffix
        self.lose_answer, self.delay = lose_answer, delay
        self.calls = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].endswith(self.suffix):
            return await self.app(scope, receive, send)
        self.calls += 1
        if self.calls > self.fail:
            return await self.app(scope, receive, send)
        if self.delay:
            await asyncio.sleep(self.delay)
            return await self.app(scope, receive, send)
        if self.lose_answer:
            async def discard(message):
                pass

            await self.app(scope, receive, discard)
        await send({"type": "http.response.start", "status": self.status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"error": "internal_error", "detail": "flaky"}'})


def _agent_turns(env):
    return [t.text for t in env.episode().turns if t.is_agent]


def test_transient_5xx_answers_are_retried():
    flaky = Flaky(create_app(ServeConfig()), fail=2, status=503)
    with ServerThread(flaky) as url:
        env = RemoteEnv(url, http_retries=3, **FAST)
        env.reset(seed=0)
        obs, reward, *_ = env.step("crane")
        assert flaky.calls == 3 and reward == -1.0 and len(obs) == 15
        assert _agent_turns(env) == ["crane"]
        env.close()


def test_a_lost_answer_is_retried_without_stepping_twice():
    flaky = Flaky(create_app(ServeConfig()), fail=1, status=502, lose_answer=True)
    with ServerThread(flaky) as url:
        env = RemoteEnv(url, **FAST)
        env.reset(seed=0)
        obs, *_ = env.step("crane")
        obs2, *_ = env.step("slate")
        assert flaky.calls == 3
        assert _agent_turns(env) == ["crane", "slate"]  # the server played crane once
        assert [t.text for t in env.episode().turns if not t.is_agent] == [obs, obs2]
        env.close()


def test_a_timed_out_step_is_retried_without_stepping_twice():
    flaky = Flaky(create_app(ServeConfig()), fail=1, delay=0.5)
    with ServerThread(flaky) as url:
        env = RemoteEnv(url, http_timeout=0.2, **FAST)
        env.reset(seed=0)
        env.step("crane")
        env.step("slate")
        assert flaky.calls == 3  # the slow first try, its retry, slate
        assert _agent_turns(env) == ["crane", "slate"]
        env.close()


def test_retries_give_up_with_one_line_and_env_errors_are_not_retried():
    app = create_app(ServeConfig())
    flaky = Flaky(app, fail=10, status=503)
    with ServerThread(flaky) as url:
        env = RemoteEnv(url, http_retries=2, **FAST)
        env.reset()
        with pytest.raises(RemoteServerError, match=r"HTTP 503 internal_error \(after 3 attempts\): flaky") as err:
            env.step("crane")
        assert "\n" not in str(err.value) and flaky.calls == 3

        flaky.fail = 0
        store_env = app.state.store.get(env.session_id).env
        store_env.step = lambda action: 1 / 0
        with pytest.raises(RemoteServerError, match="env_error: wordle.step raised ZeroDivisionError") as err:
            env.step("crane")
        assert flaky.calls == 4 and err.value.status == 500  # one attempt: it would fail again
        env.close()


def test_connection_errors_are_retried_until_the_server_is_up():
    server = ServerThread(create_app(ServeConfig()))  # the socket is bound but not listening yet: refused
    timer = threading.Timer(0.3, server.start)
    timer.start()
    try:
        env = RemoteEnv(server.url, http_retries=8, http_backoff=0.05)
        assert env.reset(seed=1)[0] == ""
        env.close()
    finally:
        timer.join()
        server.stop()


def test_an_unreachable_server_is_a_connection_error():
    sock = bind_socket("127.0.0.1", 0)
    url = url_of(sock)
    sock.close()
    with pytest.raises(RemoteUnavailableError, match=r"POST .*/sessions: no answer \(after 2 attempts\)") as err:
        RemoteEnv(url, http_retries=1, **FAST)
    assert isinstance(err.value, ConnectionError) and "\n" not in str(err.value)


def test_4xx_answers_are_one_line_value_errors_and_config_errors_in_evaluation(wordle_url):
    with pytest.raises(RemoteRequestError, match=r"HTTP 422 env_rejected: .*unknown mode 'hard'") as err:
        RemoteEnv(wordle_url, mode="hard")
    assert isinstance(err.value, ValueError) and "\n" not in str(err.value)
    from lexiq.run import EvalConfig, make_env_factory

    with pytest.raises(ConfigError, match="eval.env=remote .*unknown mode 'hard'"):
        make_env_factory(EvalConfig(env="remote", env_options={"url": wordle_url, "mode": "hard"}))
    with pytest.raises(ConfigError, match="needs url="):
        make_env_factory(EvalConfig(env="remote"))
    env = RemoteEnv(wordle_url)
    with pytest.raises(RemoteRequestError, match="409 env_state: .*call reset"):
        env.step("crane")
    env.close()
    with pytest.raises(RuntimeError, match="closed"):
        env.reset()
