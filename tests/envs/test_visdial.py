"""Visual dialogue: the visdial-rl protocol client and ILQL's episode rules, end to end over HTTP against the mock
server (p0 = 1/4; gains: informative answer 1/4, yes/no answer 1/16, "i can't tell" 0; binary fractions, so the
cut-off arithmetic below is exact)."""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

from lexiq.envs import make  # noqa: E402
from lexiq.envs.http import RemoteRequestError  # noqa: E402
from lexiq.envs.visdial import (  # noqa: E402
    GREEDY,
    QBotPolicy,
    SceneFormatError,
    VisDialClient,
    VisDialEnv,
    history_of,
    is_yes_no,
    load_scenes,
    progress,
    turn_reward,
)
from lexiq.envs.visdial.mock_server import create_mock_app  # noqa: E402
from lexiq.serve.server import ServerThread  # noqa: E402

DIM = 8
CAPTION = "a red car parked on a street"
SCENES = [{"caption": CAPTION, "img_features": [3.0, 4.0] + [0.0] * (DIM - 2)},
          {"caption": "two dogs on a beach", "img_features": [1.0] * DIM, "initial_percentile": 0.5}]


@pytest.fixture(scope="module")
def mock():
    app = create_mock_app(feature_dim=DIM)
    with ServerThread(app) as url:
        yield url, app.state.requests


def _env(mock, **kwargs):
    url, requests = mock
    requests.clear()
    return VisDialEnv(SCENES, url=url, http_retries=0, **kwargs)


@pytest.mark.parametrize(("answer", "modes"), [
    ("yes", {"hard", "soft", "conservative"}),
    ("No", {"hard", "soft", "conservative"}),
    ("yes, it is sunny", {"soft", "conservative"}),
    ("i don't know", {"soft", "conservative"}),  # "know" contains "no"
    ("it looks old", {"conservative"}),
    ("i can’t tell", {"conservative"}),
    ("it is red", set()),
])
def test_yes_no_rules(answer, modes):
    assert {m for m in ("none", "hard", "soft", "conservative") if is_yes_no(answer, m)} == modes


def test_progress_and_turn_reward():
    assert progress(0.25, [0.25, 0.125]) == 0.5
    assert progress(1.0, []) == math.inf
    assert turn_reward(False, "yes", "hard") == -3.0
    assert turn_reward(True, "yes", "hard") == -2.0
    assert turn_reward(True, "yes", "none") == 0.0
    assert turn_reward(False, "it is red", "conservative", yn_reward=-5) == -1.0
    with pytest.raises(ValueError, match="unknown reward_mode 'strict'"):
        is_yes_no("yes", "strict")


def test_client_speaks_the_upstream_protocol(mock):
    url, requests = mock
    client = VisDialClient(url)
    requests.clear()
    feats = [0.6, 0.8] + [0.0] * (DIM - 2)
    assert client.fetch_reward_rank([], feats, CAPTION) == 0.25
    assert client.fetch_reward([], feats, CAPTION) == 0.75
    assert client.step_rank(history_of([], "is there a dog?"), feats, CAPTION) == ("yes", 0.0625)
    assert client.step(history_of([("is there a dog?", "yes")], "what color is it?"), feats, CAPTION) == \
        ("it is red", 0.25)
    assert client.fetch_reward_rank(history_of([("is there a dog?", "yes"), ("what color?", "it is red")]), feats,
                                    CAPTION) == 0.25
    assert client.fetch_a_bot_response(history_of([], "how many cars?"), feats, CAPTION) == "two"
    assert client.fetch_q_bot_response([], CAPTION) == "is it sunny?"
    assert client.fetch_q_bot_response(history_of([("is it sunny?", "yes")]), CAPTION) == "what color is the car?"
    assert [r["endpoint"] for r in requests] == ["fetch_reward_rank", "fetch_reward", "step_rank", "step",
                                                 "fetch_reward_rank", "fetch_a_bot_response",
                                                 "fetch_q_bot_response", "fetch_q_bot_response"]
    assert requests[2]["history"] == [{"speaker": "question", "text": "is there a dog?"}]
    assert requests[2]["generation_kwargs"] == GREEDY == {"inference": "greedy", "beamSize": 1}
    assert requests[2]["img_features"] == feats and requests[2]["caption"] == CAPTION
    with pytest.raises(RemoteRequestError, match="HTTP 400: history must end with a question"):
        client.step_rank(history_of([("q?", "a")]), feats, CAPTION)
    client.close()


def test_a_hard_mode_episode_by_hand(mock):
    env = _env(mock)
    obs, info = env.reset(options={"scene": 0})
    assert obs == CAPTION and info["p0"] == 0.25
    steps = [env.step(q) for q in ("is there a dog?", "what color is the car?", "is it daytime?")]
    # answers yes (gain 1/16), it is red (1/4), yes (1/16): progress 1/12, 5/12, then 6/16 / (3/4) = 1/2 -> the end
    assert [s[0] for s in steps] == ["yes", "it is red", "yes"]
    assert [s[1] for s in steps] == [-3.0, -1.0, -2.0]  # -1 + yes/no penalty, -1, final 0 + penalty
    assert [s[2] for s in steps] == [False, False, True]
    assert [s[4]["progress"] for s in steps] == [1 / 12, 5 / 12, 0.5]
    assert steps[-1][4]["success"] is True and steps[0][4]["yes_no"] is True
    ep = env.episode()
    assert ep.total_reward == -6.0 and ep.terminated and not ep.truncated
    assert [t.text for t in ep.turns] == [CAPTION, "is there a dog?", "yes", "what color is the car?", "it is red",
                                         "is it daytime?", "yes"]
    assert ep.meta | {"scene": 0} == {"env": "visdial", "scene": 0, "p0": 0.25, "reward_mode": "hard",
                                      "yn_reward": -2.0, "cutoff": 0.5, "goal": 1.0, "max_rounds": 10}
    with pytest.raises(RuntimeError, match="the visual dialogue is over"):
        env.step("anything else?")
    url, requests = mock
    sent = [r for r in requests if r["endpoint"] == "step_rank"]
    assert [r["endpoint"] for r in requests] == ["fetch_reward_rank"] + ["step_rank"] * 3  # p0, then one per turn
    assert sent[-1]["history"] == history_of([("is there a dog?", "yes"), ("what color is the car?", "it is red")],
                                             "is it daytime?")
    assert sent[0]["img_features"] == pytest.approx([0.6, 0.8] + [0.0] * (DIM - 2))  # L2-normalised


@pytest.mark.parametrize(("mode", "expected_return"), [("none", -9.0), ("hard", -9.0), ("conservative", -29.0)])
def test_ten_questions_end_the_episode(mock, mode, expected_return):
    env = _env(mock, reward_mode=mode)
    env.reset(options={"scene": 0})
    results = [env.step("where is it?") for _ in range(10)]  # "i can't tell": no gain, never the cut-off
    assert [r[2] for r in results] == [False] * 9 + [True]
    assert results[-1][4]["success"] is False
    assert env.episode().total_reward == expected_return


def test_soft_penalty_and_a_known_initial_percentile(mock):
    env = _env(mock, reward_mode="soft")
    _, info = env.reset(options={"scene": 1})  # p0 = 1/2 from the scene: no request at reset
    assert info["p0"] == 0.5 and mock[1] == []
    answer, reward, done, _, info = env.step("is it sunny?")
    assert (answer, reward, done) == ("yes, it is sunny", -3.0, False)  # soft penalty; progress 1/8
    answer, reward, done, _, info = env.step("what color is the sand?")
    assert (answer, reward, done, info["progress"]) == ("it is red", 0.0, True, 0.625)


def test_actor_stop_and_reset_checks(mock, tmp_path):
    env = _env(mock, actor_stop=True, seed=0)
    env.reset()
    assert env.step("<stop>")[1:3] == (0.0, True)
    assert [t.text for t in env.episode().turns][-1] == "<stop>"
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"image": 1})
    with pytest.raises(ValueError, match=r"index in 0\.\.1"):
        env.reset(options={"scene": 2})
    seen = {make("visdial", scenes=SCENES, url=mock[0], seed=s).reset(seed=s)[1]["scene"] for s in range(8)}
    assert seen == {0, 1}  # random scenes, reproducible from the seed
    path = tmp_path / "scenes.jsonl"
    path.write_text(json.dumps(SCENES[0]) + "\n" + json.dumps({"caption": "x", "img_features": [0, 0]}) + "\n")
    with pytest.raises(SceneFormatError, match=r"scenes.jsonl:2: 'img_features' must be finite and not all zero"):
        load_scenes(path)


def test_served_visdial_with_the_qbot_policy(mock, tmp_path):
    from lexiq.envs.remote.client import RemoteEnv
    from lexiq.serve.app import create_app
    from lexiq.serve.config import ServeConfig

    path = tmp_path / "scenes.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in SCENES))
    config = ServeConfig(env="visdial", env_options={"scenes": str(path), "url": mock[0]})
    with ServerThread(create_app(config)) as url:
        env = RemoteEnv(url)
        policy = QBotPolicy(mock[0])
        env.reset(options={"scene": 0})
        done = False
        while not done:
            done = env.step(policy.act([env.episode()])[0])[2]
        ep = env.episode()
        env.close()
    # Q-bot: is it sunny? (yes, it is sunny: 1/16), what color is the car? (1/4), how many people? (two: 1/4)
    assert [t.text for t in ep.agent_turns] == ["is it sunny?", "what color is the car?", "how many people are there?"]
    assert [t.reward for t in ep.agent_turns] == [-1.0, -1.0, 0.0]
