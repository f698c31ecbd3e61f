"""A stand-in for the visdial-rl model server: the same endpoints, form fields and JSON answers
(``specs/visdial_protocol.md`` §1.4), with canned A-bot / Q-bot replies and deterministic rewards instead of
models. For tests and offline development (it needs FastAPI: ``pip install 'lexiq[serve]'``)::

    from lexiq.serve.server import ServerThread
    with ServerThread(create_mock_app()) as url:
        env = VisDialEnv(scenes, url=url)

Fake bots (the rules are simple enough to work rewards out by hand):

* A-bot: the first entry of :data:`ANSWERS` whose keyword the lower-cased question contains, else ``"yes"`` for a
  question starting with a yes/no word (is, are, does, ...), else ``"i can't tell"``.
* Percentile after ``K`` answers: ``p_K = min(1, p0 + sum of the answers' gains)`` with gain ``informative``
  (default 1/4) for an answer that is neither yes/no nor ``"i can't tell"``, ``yes_no`` (1/16) for one starting
  with yes or no, 0 for ``"i can't tell"``. Distance ``d_K = 1 - p_K``. Rewards as the real server:
  ``/fetch_reward_rank`` = ``p_0`` for an empty history, else ``p_K - p_{K-1}``; ``/fetch_reward`` = ``d_0`` or
  ``d_{K-1} - d_K``.
* Q-bot: :data:`QUESTIONS` in turn (the ``K``-th question after ``K`` answers).

Like Flask's ``request.form`` upstream, only ``application/x-www-form-urlencoded`` bodies are read; a missing or
malformed field answers 400 with ``{"error": ...}``. Every parsed request is appended to ``app.state.requests``
(endpoint + fields) so tests can check what a client sent.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

ANSWERS = (("color", "it is red"), ("how many", "two"), ("sunny", "yes, it is sunny"), ("where", "i can't tell"))
YES_NO_STARTS = ("is ", "are ", "does ", "do ", "can ", "could ", "was ", "were ", "has ", "have ")
CANT_TELL = "i can't tell"
QUESTIONS = ("is it sunny?", "what color is the car?", "how many people are there?", "where is it?")


class _BadForm(ValueError):
    pass


def a_bot_answer(question: str) -> str:
    """The fake A-bot's answer to ``question``."""
    q = question.lower().strip()
    for keyword, answer in ANSWERS:
        if keyword in q:
            return answer
    return "yes" if q.startswith(YES_NO_STARTS) else CANT_TELL


def answer_gain(answer: str, informative: float = 0.25, yes_no: float = 0.0625) -> float:
    """Percentile gain of one answer under the mock's rules."""
    if answer == CANT_TELL:
        return 0.0
    if answer.split(",")[0].strip() in ("yes", "no"):
        return yes_no
    return informative


def _field(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name)
    if not values:
        raise _BadForm(f"missing form field {name!r}")
    return values[0]


def _json_field(form: dict[str, list[str]], name: str) -> Any:
    try:
        return json.loads(_field(form, name))
    except json.JSONDecodeError as err:
        raise _BadForm(f"form field {name!r} is not a JSON string ({err.msg})") from None


def _history(form: dict[str, list[str]], ends_with_question: bool) -> list[dict[str, str]]:
    history = _json_field(form, "history")
    if not isinstance(history, list):
        raise _BadForm("history must be a JSON list of {speaker, text} objects")
    for i, item in enumerate(history):
        expected = "question" if i % 2 == 0 else "answer"
        if (not isinstance(item, dict) or set(item) != {"speaker", "text"} or item["speaker"] != expected
                or not isinstance(item["text"], str)):
            raise _BadForm(f"history[{i}] must be {{\"speaker\": \"{expected}\", \"text\": str}}, got {item!r:.60}")
    if ends_with_question and (not history or history[-1]["speaker"] != "question"):
        raise _BadForm("history must end with a question")
    return history


def _features(form: dict[str, list[str]], dim: int | None) -> list[float]:
    feats = _json_field(form, "img_features")
    if (not isinstance(feats, list) or not feats
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in feats)):
        raise _BadForm("img_features must be a JSON list of numbers")
    if dim is not None and len(feats) != dim:
        raise _BadForm(f"img_features must have {dim} numbers, got {len(feats)}")
    return [float(x) for x in feats]


def create_mock_app(p0: float = 0.25, informative: float = 0.25, yes_no: float = 0.0625,
                    feature_dim: int | None = None) -> FastAPI:
    """The mock server (rules in the module docstring); ``feature_dim`` checks the feature length if given."""
    app = FastAPI(title="visdial-rl mock server", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.requests = []

    def percentile(history: list[dict[str, str]]) -> list[float]:
        ps = [p0]
        for item in history:
            if item["speaker"] == "answer":
                ps.append(min(1.0, ps[-1] + answer_gain(item["text"], informative, yes_no)))
        return ps

    def rank_reward(history: list[dict[str, str]]) -> float:
        ps = percentile(history)
        return ps[0] if len(ps) == 1 else ps[-1] - ps[-2]

    def distance_reward(history: list[dict[str, str]]) -> float:
        ds = [1.0 - p for p in percentile(history)]
        return ds[0] if len(ds) == 1 else ds[-2] - ds[-1]

    def answer_turn(history: list[dict[str, str]]) -> list[dict[str, str]]:
        return [*history, {"speaker": "answer", "text": a_bot_answer(history[-1]["text"])}]

    handlers = {
        "fetch_q_bot_response": (False, False, lambda h: QUESTIONS[sum(i["speaker"] == "answer" for i in h)
                                                                   % len(QUESTIONS)]),
        "fetch_a_bot_response": (True, True, lambda h: a_bot_answer(h[-1]["text"])),
        "fetch_reward": (False, True, distance_reward),
        "fetch_reward_rank": (False, True, rank_reward),
        "step": (True, True, lambda h: [answer_turn(h)[-1]["text"], distance_reward(answer_turn(h))]),
        "step_rank": (True, True, lambda h: [answer_turn(h)[-1]["text"], rank_reward(answer_turn(h))]),
    }

    def make_route(endpoint: str, needs_question: bool, needs_image: bool, compute: Any) -> Any:
        async def route(request: Request) -> JSONResponse:
            if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
                return JSONResponse({"error": "expected a form-encoded body (application/x-www-form-urlencoded)"},
                                    status_code=400)
            form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
            try:
                history = _history(form, needs_question)
                fields: dict[str, Any] = {"history": history, "caption": _field(form, "caption")}
                if needs_image:
                    fields["img_features"] = _features(form, feature_dim)
                if endpoint not in ("fetch_reward", "fetch_reward_rank"):
                    fields["generation_kwargs"] = _json_field(form, "generation_kwargs")
                    if not isinstance(fields["generation_kwargs"], dict):
                        raise _BadForm("generation_kwargs must be a JSON object")
            except _BadForm as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            app.state.requests.append({"endpoint": endpoint, **fields})
            return JSONResponse(compute(history))

        return route

    for endpoint, (needs_question, needs_image, compute) in handlers.items():
        app.add_api_route(f"/{endpoint}", make_route(endpoint, needs_question, needs_image, compute),
                          methods=["POST"])
    return app

