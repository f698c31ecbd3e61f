"""WordleEnv: Gymnasium text API, rewards, invalid guesses, fixed-word mode, episode() (specs/wordle.md §3–§5;
ILQL, Snell et al. 2022, arXiv 2206.11871)."""

from __future__ import annotations

import numpy as np
import pytest

import lexiq.envs
from lexiq.data.episode import AGENT, ENVIRONMENT, validate_episode
from lexiq.envs import TextEnv, TextEnvProtocol, make, run_episode
from lexiq.envs.wordle import GameOverError, WordleEnv, feedback_colors
from lexiq.envs.wordle.policies import OptimalPolicy, StartWordPolicy


def serialise(ep) -> str:
    """ilql.md §1.2 / wordle.md §5.1 layout: '<a>' guess '</a>' colours '</s>' ... '</eod>'."""
    out = "<a>"
    for t in ep.turns:
        out += t.text + ("</a>" if t.role == AGENT else "</s>")
    return out + ("</eod>" if ep.terminated else "")


def test_is_text_env_and_make():
    env = make("wordle", seed=0)
    assert isinstance(env, WordleEnv) and isinstance(env, TextEnv) and isinstance(env, TextEnvProtocol)
    with pytest.raises(ValueError, match="unknown environment 'chess'"):
        make("chess")
    assert "wordle" in lexiq.envs.ENV_NAMES
    with pytest.raises(ValueError, match="unknown vocabulary"):
        WordleEnv(vocab="answerz")
    with pytest.raises(ValueError, match="unknown mode"):
        WordleEnv(mode="nyt")


def test_reset_gives_whole_vocab_and_empty_obs():
    env = WordleEnv(seed=0)
    obs, info = env.reset()
    assert obs == "" and info["n_consistent"] == 2315 and info["n_guesses"] == 0
    assert env.episode().turns == [] and not env.episode().terminated


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_return_for_solve_at_guess_k(k):
    env = WordleEnv(mode="fixed", hidden_word="those")
    env.reset(seed=0)
    fillers = ["crane", "pudgy", "mamba", "quick", "vixen"]
    total = 0.0
    for g in fillers[: k - 1]:
        obs, r, term, trunc, _ = env.step(g)
        assert (r, term, trunc) == (-1.0, False, False)
        total += r
    obs, r, term, trunc, info = env.step("those")
    total += r
    assert obs == "<g>" * 5 and r == 0.0 and term and not trunc and info["solved"]
    assert total == -(k - 1) == env.episode().total_reward
    with pytest.raises(GameOverError, match="game is over"):
        env.step("those")


def test_failure_returns_minus_six():
    env = WordleEnv(mode="fixed", hidden_word="those")
    env.reset()
    rewards, term = [], False
    for g in ["crane", "pudgy", "mamba", "quick", "vixen", "whose"]:
        _, r, term, trunc, _ = env.step(g)
        rewards.append(r)
        assert not trunc
    assert term and sum(rewards) == -6.0 and env.episode().terminated


def test_resample_returns_match_guess_count():
    env = WordleEnv(seed=3)
    policy = OptimalPolicy(StartWordPolicy(rng=1), rng=2)
    for _ in range(30):
        env.reset()
        done = False
        while not done:
            _, _, done, _, info = env.step(policy.act(env.state))
        ep = env.episode()
        n = len(ep.agent_turns)
        assert ep.total_reward == (-(n - 1) if info["solved"] else -6.0)
        validate_episode(ep)


@pytest.mark.parametrize("bad", ["xx", "RAISE", "rai5e", "raises", "", "<g>ab"])
def test_invalid_guess_costs_one_no_feedback_uses_try(bad):
    env = WordleEnv(seed=0)
    env.reset()
    env.step("raise")
    before = env.state.consistent.copy()
    obs, r, term, trunc, info = env.step(bad)
    assert (obs, r, term, trunc, info["valid"], info["n_guesses"]) == ("", -1.0, False, False, False, 2)
    assert np.array_equal(env.state.consistent, before)
    roles = [t.role for t in env.episode().turns]
    assert roles == [AGENT, ENVIRONMENT, AGENT]  # no environment turn after the invalid guess
    for _ in range(4):
        *_, term, _, _ = env.step(bad)
    assert term and env.episode().total_reward == -6.0


def test_real_word_membership_not_checked_unless_required():
    env = WordleEnv(seed=0)
    env.reset()
    obs, _, _, _, info = env.step("zzzzz")
    assert info["valid"] and obs == "<b>" * 5
    env = WordleEnv(seed=0, require_words_in_vocab=True, bad_word_reward=-10.0)
    env.reset()
    obs, r, _, _, info = env.step("zzzzz")
    assert (obs, r, info["valid"]) == ("", -10.0, False)
    obs, r, _, _, info = env.step("raise")
    assert info["valid"] and r == -1.0


@pytest.mark.parametrize("feedback", ["ilql", "nyt"])
def test_fixed_word_feedback_matches_hidden_word(feedback):
    env = WordleEnv(mode="fixed", hidden_word="those", feedback=feedback)
    env.reset()
    for g in ["geese", "raise", "zzzzz", "shoot"]:
        obs, *_ = env.step(g)
        assert obs == feedback_colors(g, "those", feedback)
    assert env.step("geese")[0] == ("<b><y><y><g><g>" if feedback == "ilql" else "<b><b><b><g><g>")
    env = WordleEnv(mode="fixed", seed=0)  # hidden word per reset: from options or drawn from the vocabulary
    env.reset(options={"hidden_word": "qajaq"})  # not in the vocabulary: still playable
    assert env.step("qajaq")[0] == "<g>" * 5
    env.reset(seed=5)
    hidden = env.state.hidden_word
    assert hidden in env.vocab and env.step("raise")[0] == feedback_colors("raise", hidden)
    with pytest.raises(ValueError, match="needs mode='fixed'"):
        WordleEnv().reset(options={"hidden_word": "those"})


def test_episode_serialisation_matches_spec_layout():
    env = WordleEnv(mode="fixed", hidden_word="adult")
    env.reset()
    env.step("raise")
    env.step("adult")
    ep = env.episode()
    assert serialise(ep) == "<a>raise</a><b><y><b><b><b></s>adult</a><g><g><g><g><g></s></eod>"
    assert [(t.role, t.reward) for t in ep.turns] == [(AGENT, -1.0), (ENVIRONMENT, None), (AGENT, 0.0),
                                                      (ENVIRONMENT, None)]
    assert ep.terminated and not ep.truncated and ep.meta["env"] == "wordle"


def test_seeded_resampling_is_deterministic_and_spaces_hold():
    def play(seed):
        env = WordleEnv(seed=seed)
        env.reset()
        return [env.step(g)[0] for g in ["slate", "round", "chimp", "gawky"]]

    assert play(7) == play(7)
    assert len({tuple(play(s)) for s in range(8)}) > 1
    env = WordleEnv()
    env.reset(seed=11)
    a = [env.step("raise")[0]]
    env.reset(seed=11)
    assert [env.step("raise")[0]] == a
    assert env.observation_space.contains(a[0]) and env.observation_space.contains("")
    assert env.action_space.contains("raise")


def test_step_before_reset_and_non_string():
    env = WordleEnv()
    with pytest.raises(RuntimeError, match="reset"):
        env.step("raise")
    env.reset()
    with pytest.raises(TypeError, match="must be a string"):
        env.step(42)  # type: ignore[arg-type]


def test_run_episode_prompts_with_episode():
    seen = []

    def act(ep):
        seen.append(len(ep.turns))
        return "zzzzz" if len(seen) < 3 else "qqqqq"

    ep = run_episode(WordleEnv(seed=0), act, seed=0)
    assert seen == [0, 2, 4, 6, 8, 10] and ep.terminated and ep.total_reward == -6.0
