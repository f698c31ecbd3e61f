"""Client of the upstream visual-dialogue model server (``Sea-Snell/visdial-rl``, ``serve_model.py``), exactly as
``specs/visdial_protocol.md`` §1.4 describes it, so the original server works unchanged.

Every endpoint is ``POST`` with **form-encoded** fields; ``history``, ``img_features`` and ``generation_kwargs``
are JSON strings, ``caption`` is a plain string; every answer is JSON. ``history`` is the list
``[{"speaker": "question", "text": ...}, {"speaker": "answer", "text": ...}, ...]`` (question first, alternating).

=========================  ==========================================================  =======================
endpoint                   fields                                                      answer
=========================  ==========================================================  =======================
``/fetch_q_bot_response``  history, caption, generation_kwargs                         the SL Q-bot's question
``/fetch_a_bot_response``  history (ends with a question), img_features, caption,      the A-bot's answer
                           generation_kwargs
``/fetch_reward``          history, img_features, caption                              distance reward
``/fetch_reward_rank``     history, img_features, caption                              percentile reward
``/step``                  history (ends with the new question), img_features,         ``[answer, reward]``
                           caption, generation_kwargs                                  (distance)
``/step_rank``             same as ``/step``                                           ``[answer, reward]``
                                                                                       (percentile; ILQL's)
=========================  ==========================================================  =======================

Requests are retried on connection errors, timeouts and 5xx answers (:mod:`lexiq.envs.http`); every call is a pure
function of its fields on the server, so a retry is safe.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from lexiq.envs.http import HttpOptions, RemoteServerError, new_client, request

DEFAULT_URL = "http://localhost:5000"
GREEDY = {"inference": "greedy", "beamSize": 1}
"""The generation settings ILQL always sends."""

History = list[dict[str, str]]


def history_of(pairs: Sequence[tuple[str, str]], question: str | None = None) -> History:
    """The protocol's history from ``(question, answer)`` pairs, optionally ending with a new ``question``."""
    items: History = []
    for q, a in pairs:
        items += [{"speaker": "question", "text": q}, {"speaker": "answer", "text": a}]
    if question is not None:
        items.append({"speaker": "question", "text": question})
    return items


class VisDialClient:
    """Calls of the visual-dialogue server at ``url`` (``http://localhost:5000`` upstream)."""

    def __init__(self, url: str = DEFAULT_URL, http: HttpOptions | None = None) -> None:
        self.url = url.rstrip("/")
        self.http = http or HttpOptions(timeout=60.0, retries=3, backoff=0.5)
        self._client = new_client(self.url, self.http)

    def _post(self, endpoint: str, **fields: Any) -> Any:
        form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
        return request(self._client, "POST", f"/{endpoint}", self.http, data=form)

    def _text(self, endpoint: str, answer: Any) -> str:
        if not isinstance(answer, str):
            raise RemoteServerError(f"{self.url}/{endpoint}: expected a JSON string, got {answer!r:.60}")
        return answer

    def _number(self, endpoint: str, answer: Any) -> float:
        if isinstance(answer, bool) or not isinstance(answer, int | float) or not math.isfinite(answer):
            raise RemoteServerError(f"{self.url}/{endpoint}: expected a finite JSON number, got {answer!r:.60}")
        return float(answer)

    def _pair(self, endpoint: str, answer: Any) -> tuple[str, float]:
        if not isinstance(answer, list) or len(answer) != 2:
            raise RemoteServerError(f"{self.url}/{endpoint}: expected a JSON array [answer, reward], got "
                                    f"{answer!r:.60}")
        return self._text(endpoint, answer[0]), self._number(endpoint, answer[1])

    def fetch_q_bot_response(self, history: History, caption: str,
                             generation_kwargs: dict[str, Any] | None = None) -> str:
        """The supervised Q-bot's next question (the data-collecting policy)."""
        kw = GREEDY if generation_kwargs is None else generation_kwargs
        return self._text("fetch_q_bot_response", self._post("fetch_q_bot_response", history=history,
                                                             caption=caption, generation_kwargs=kw))

    def fetch_a_bot_response(self, history: History, img_features: Sequence[float], caption: str,
                             generation_kwargs: dict[str, Any] | None = None) -> str:
        """The A-bot's answer to the question that ends ``history``."""
        kw = GREEDY if generation_kwargs is None else generation_kwargs
        return self._text("fetch_a_bot_response", self._post("fetch_a_bot_response", history=history,
                                                             img_features=list(img_features), caption=caption,
                                                             generation_kwargs=kw))

    def fetch_reward(self, history: History, img_features: Sequence[float], caption: str) -> float:
        """Distance reward: ``d_0`` for an empty history, else ``d_{K-1} - d_K`` (spec §1.5)."""
        return self._number("fetch_reward", self._post("fetch_reward", history=history,
                                                       img_features=list(img_features), caption=caption))

    def fetch_reward_rank(self, history: History, img_features: Sequence[float], caption: str) -> float:
        """Percentile reward: ``p_0`` for an empty history, else ``p_K - p_{K-1}`` (spec §1.5)."""
        return self._number("fetch_reward_rank", self._post("fetch_reward_rank", history=history,
                                                            img_features=list(img_features), caption=caption))

    def step(self, history: History, img_features: Sequence[float], caption: str,
             generation_kwargs: dict[str, Any] | None = None) -> tuple[str, float]:
        """``(answer, distance reward)`` for the question that ends ``history``."""
        kw = GREEDY if generation_kwargs is None else generation_kwargs
        return self._pair("step", self._post("step", history=history, img_features=list(img_features),
                                             caption=caption, generation_kwargs=kw))

    def step_rank(self, history: History, img_features: Sequence[float], caption: str,
                  generation_kwargs: dict[str, Any] | None = None) -> tuple[str, float]:
        """``(answer, percentile gain)`` for the question that ends ``history`` (what ILQL's environment calls)."""
        kw = GREEDY if generation_kwargs is None else generation_kwargs
        return self._pair("step_rank", self._post("step_rank", history=history, img_features=list(img_features),
                                                  caption=caption, generation_kwargs=kw))

    def close(self) -> None:
        self._client.close()
