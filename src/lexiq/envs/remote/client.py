"""``RemoteEnv``: a lexiq text environment that lives in a ``lexiq env serve`` server.

It is a drop-in :class:`~lexiq.envs.base.TextEnv` (Gymnasium API with string actions and observations plus
``episode()``), so evaluators, rollouts and data collectors use it like an in-process environment::

    env = RemoteEnv("http://127.0.0.1:8765", vocab="answers")     # or lexiq.envs.make("remote", url=..., ...)
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("crane")
    env.episode()                                                  # the server's Episode of this session
    env.close()                                                    # ends the session (also done when collected)

Keyword arguments other than ``http_timeout``, ``http_retries`` and ``http_backoff`` are the served
environment's options (laid over the server's defaults). The session is created in the constructor, so a wrong
option or an unreachable server fails at once. Connection errors, timeouts and 5xx answers are retried with
exponential backoff (:mod:`lexiq.envs.http`); every step carries its ``step_index``, so a retried step is answered
again by the server instead of being played twice. A 4xx answer raises
:class:`~lexiq.envs.http.RemoteRequestError` (a ``ValueError``) with one line saying what the server said.
"""

from __future__ import annotations

import contextlib
from typing import Any

from lexiq.data.episode import Episode
from lexiq.envs.base import TextEnv
from lexiq.envs.http import HttpOptions, RemoteError, new_client, request
from lexiq.envs.remote.wire import episode_from_wire, space_from_wire


def _retryable(response: Any) -> bool:
    """5xx answers are retried, except ``env_error``: the environment itself raised, and would raise again."""
    if response.status_code < 500:
        return False
    with contextlib.suppress(Exception):
        return response.json().get("error") != "env_error"
    return True


class RemoteEnv(TextEnv):
    """A session of a served lexiq environment (see the module docstring)."""

    def __init__(self, url: str, *, http_timeout: float = 30.0, http_retries: int = 3, http_backoff: float = 0.25,
                 **env_options: Any) -> None:
        """``url``: the server's base URL (``http://127.0.0.1:8765``); ``http_timeout``: seconds per request;
        ``http_retries``: extra attempts after a connection error, a timeout or a 5xx; ``http_backoff``: seconds
        before the first retry (doubled each time); ``env_options``: the served environment's keyword arguments."""
        super().__init__()
        self.url = str(url).rstrip("/")
        self.http = HttpOptions(timeout=float(http_timeout), retries=int(http_retries), backoff=float(http_backoff))
        self.env_options = dict(env_options)
        self.session_id: str | None = None
        self._client = new_client(self.url, self.http)
        self._steps = 0
        self._episode: dict[str, Any] | None = None
        created = self._call("POST", "/sessions", json={"env_options": self.env_options})
        self.session_id = str(created["session_id"])
        self.env_name = str(created.get("env", "remote"))
        self.observation_space = space_from_wire(created.get("observation_space"))
        self.action_space = space_from_wire(created.get("action_space"))

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return request(self._client, method, path, self.http, retryable=_retryable, **kwargs)

    def _path(self, what: str = "") -> str:
        if self.session_id is None:
            raise RuntimeError(f"the session with {self.url} is closed; build a new RemoteEnv")
        return f"/sessions/{self.session_id}" + (f"/{what}" if what else "")

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Reset the served environment (Gymnasium's ``reset``); the seed and options are sent as given."""
        super().reset(seed=seed)
        seed = None if seed is None else int(seed)
        out = self._call("POST", self._path("reset"), json={"seed": seed, "options": options, "return_episode": True})
        self._steps = 0
        self._episode = out.get("episode")
        return out["observation"], out["info"]

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """One action, played once by the server even if the request has to be retried."""
        if not isinstance(action, str):
            raise TypeError(f"a text environment's action must be a string, got {type(action).__name__}")
        out = self._call("POST", self._path("step"),
                         json={"action": action, "step_index": self._steps, "return_episode": True})
        self._steps += 1
        self._episode = out.get("episode")
        return (out["observation"], float(out["reward"]), bool(out["terminated"]), bool(out["truncated"]),
                out["info"])

    def episode(self) -> Episode:
        """The session's episode so far, as the server's environment reports it."""
        if self._episode is None:
            self._episode = self._call("GET", self._path("episode"))
        return episode_from_wire(self._episode, f"{self.url} session {self.session_id} episode")

    def close(self) -> None:
        """End the session on the server (errors ignored: an unreachable server evicts it after its timeout)."""
        sid, self.session_id = self.session_id, None
        if sid is not None:
            with contextlib.suppress(RemoteError):
                request(self._client, "DELETE", f"/sessions/{sid}", HttpOptions(timeout=min(5.0, self.http.timeout),
                                                                                retries=0))
        if getattr(self, "_client", None) is not None:
            self._client.close()
        super().close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def __repr__(self) -> str:
        return f"RemoteEnv({self.url!r}, session={self.session_id!r}, env_options={self.env_options!r})"
