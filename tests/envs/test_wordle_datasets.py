"""Synthetic Wordle datasets and scripted-policy quality (specs/wordle.md §4.4, §6, §8;
ILQL, Snell et al. 2022, arXiv 2206.11871)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from lexiq.data.episode import AGENT, Episode, Turn, validate_episode
from lexiq.envs.wordle import (
    GameState,
    RandomMixturePolicy,
    RepeatPolicy,
    WordList,
    WrongPolicy,
    dataset_stats,
    generate_dataset,
    rollout,
)
from lexiq.envs.wordle.policies import START_WORDS


def guesses(ep: Episode) -> list[str]:
    return [t.text for t in ep.turns if t.role == AGENT]


def test_seeded_determinism():
    for kind in ("expert", "mixed", "adversarial", "branch"):
        a = [e.to_dict() for e in generate_dataset(kind, 20, seed=3)]
        b = [e.to_dict() for e in generate_dataset(kind, 20, seed=3)]
        c = [e.to_dict() for e in generate_dataset(kind, 20, seed=4)]
        assert a == b and a != c, kind


def test_expert_dataset_quality_and_format():
    eps = generate_dataset("expert", 300, seed=0)
    for ep in eps[:50]:
        validate_episode(ep)
        assert ep.meta["kind"] == "expert" and ep.meta["policy"].startswith("optimal")
    st = dataset_stats(eps)
    assert st["n"] == 300 and st["kinds"] == {"expert": 300}
    # spec §4.4: -2.60 +- 0.03 (s.e., 1,000 games); 300 games have s.e. ~0.055, so +-0.25 is > 4 s.e.
    assert abs(st["mean_return"] + 2.60) < 0.25, st
    assert st["success_rate"] > 0.97 and 3.3 < st["mean_guesses"] < 3.9
    for ep in eps:
        n = len(ep.agent_turns)
        assert ep.total_reward == (-(n - 1) if ep.meta["solved"] else -6.0)


def test_random_consistent_policy_is_worse_than_optimal():
    vocab = WordList.named("answers")
    rng = np.random.default_rng(0)
    rand = RandomMixturePolicy(1.0, rng=rng)  # uniform consistent word every step
    r_rand = np.mean([sum(rollout(GameState.initial(vocab), rand, rng).rewards) for _ in range(300)])
    r_opt = dataset_stats(generate_dataset("expert", 300, seed=1))["mean_return"]
    assert r_rand < r_opt - 0.2, (r_rand, r_opt)  # about -3.1 vs -2.64


def test_mixed_dataset_behaviours():
    eps = generate_dataset("mixed", 400, seed=0, vocab="official_200")
    by_name: dict[str, list[Episode]] = {}
    for ep in eps:
        assert ep.meta["kind"] == "mixed"
        by_name.setdefault(ep.meta["behaviour"], []).append(ep)
    assert set(by_name) == {"expert", "looping", "consistent"}
    # default probabilities 0.15 / 0.45 / 0.4: counts within ~4 binomial s.d. of 400 draws
    for name, p in (("expert", 0.15), ("looping", 0.45), ("consistent", 0.4)):
        assert abs(len(by_name[name]) - 400 * p) < 4 * (400 * p * (1 - p)) ** 0.5, (name, len(by_name[name]))
    # shared opening: every behaviour's first guess is one of the expert's start words
    starts = {w for w in START_WORDS if w in WordList.resolve("official_200").index}
    assert {guesses(ep)[0] for ep in eps} <= starts
    # a looping game plays the expert's two guesses, then only repeats them: it can only win by guess 2
    for ep in by_name["looping"]:
        g = guesses(ep)
        assert all(x in g[:2] for x in g[2:])
        assert not ep.meta["solved"] or len(g) <= 2
    # a consistent player never repeats a word (a repeated guess is consistent only if it was the answer)
    assert all(len(set(guesses(ep))) == len(guesses(ep)) for ep in by_name["consistent"])
    mean = {k: np.mean([e.total_reward for e in v]) for k, v in by_name.items()}
    assert min(mean["expert"], mean["consistent"]) > mean["looping"] + 2.0, mean
    # without the shared opening the consistent player opens with any word
    free = generate_dataset("mixed", 60, seed=0, vocab="official_200", behaviours={"consistent": 1.0},
                            shared_opening=False)
    assert not {guesses(ep)[0] for ep in free} <= starts
    only = generate_dataset("mixed", 30, seed=0, behaviours={"random": 1.0, "half_random": 1.0})
    assert {e.meta["behaviour"] for e in only} == {"random", "half_random"}
    # consistent words play far better than half-random ones (measured −1.96 vs −3.22 on 4,000 games)
    half = generate_dataset("mixed", 150, seed=1, vocab="official_200", behaviours={"half_random": 1.0})
    cons = generate_dataset("mixed", 150, seed=1, vocab="official_200", behaviours={"consistent": 1.0})
    assert np.mean([e.total_reward for e in cons]) > np.mean([e.total_reward for e in half]) + 0.6
    for bad in ({"loop_after": -1}, {"loop_after": "2"}, {"shared_opening": "maybe"}, {"shared_opening": 1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            generate_dataset("mixed", 1, seed=0, **bad)
    for bad in ({"genius": 1.0}, {"expert": "lots"}, {"expert": -1.0}, {"expert": 0.0}, ["expert"], {}):
        with pytest.raises(ValueError, match="behaviours must map"):
            generate_dataset("mixed", 1, seed=0, behaviours=bad)


def test_adversarial_dataset_structure():
    eps = generate_dataset("adversarial", 40, seed=0)
    groups: dict[int, list[Episode]] = {}
    for ep in eps:
        groups.setdefault(ep.meta["group"], []).append(ep)
    assert sorted(groups) == list(range(40))
    for grp in groups.values():
        expert = [e for e in grp if e.meta["kind"] == "expert"]
        adv = [e for e in grp if e.meta["kind"] == "adversarial"]
        sub = [e for e in grp if e.meta["kind"] == "suboptimal"]
        assert len(expert) == 1 and len(sub) == 5
        assert len(adv) == (5 if len(expert[0].agent_turns) >= 3 else 0)
        for e in adv:
            g = guesses(e)
            assert g[:2] == guesses(expert[0])[:2] and set(g[2:]) <= set(g[:2]) and len(g) == 6
            assert e.total_reward == -6.0 and e.meta["branch_at"] == 2


def test_branch_dataset_structure():
    eps = generate_dataset("branch", 30, seed=0, n_suboptimal=2)
    groups: dict[int, list[Episode]] = {}
    for ep in eps:
        groups.setdefault(ep.meta["group"], []).append(ep)
    allowed = WordList.named("allowed_guesses")
    for grp in groups.values():
        assert grp[-1].meta["kind"] == "expert"
        expert = guesses(grp[-1])
        branches = grp[:-1]
        assert len(branches) == 2 * len(expert)  # n_suboptimal per non-terminal expert state
        for e in branches:
            k = e.meta["branch_at"]
            g = guesses(e)
            assert e.meta["kind"] == "branch_suboptimal" and g[:k] == expert[:k]
            assert all(w in allowed for w in g[k:]) and len(g) == 6 and e.total_reward == -6.0


def test_scripted_policies_behaviour():
    vocab = WordList.named("answers")
    rng = np.random.default_rng(0)
    s = GameState.initial(vocab).step("raise", rng).step("mount", rng)
    wrong = WrongPolicy("allowed_guesses", rng=rng)
    consistent = set(s.consistent_words)
    assert all(wrong.act(s) not in consistent for _ in range(200))
    rep = RepeatPolicy(first_n=1, rng=rng)
    assert {rep.act(s) for _ in range(20)} == {"raise"}
    smart = RandomMixturePolicy(1.0, vocab="allowed_guesses", rng=rng)  # refiltered by the game's feedback
    allowed = WordList.named("allowed_guesses")
    hist = [(g, p) for g, p in zip(s.guesses, s.patterns, strict=True)]
    ok = {allowed[int(i)] for i in allowed.consistent_with(hist)}
    assert consistent <= ok and all(smart.act(s) in ok for _ in range(50))


def test_dataset_stats_and_errors():
    won = Episode([Turn(AGENT, "raise", -1.0), Turn("environment", "<b>" * 5), Turn(AGENT, "could", 0.0)])
    lost = Episode([Turn(AGENT, "xx", -1.0)] * 6)
    st = dataset_stats([won, lost])
    assert st["n"] == 2 and st["mean_return"] == -3.5 and st["success_rate"] == 0.5 and st["mean_guesses"] == 4.0
    assert st["stderr"] == pytest.approx(2.5 / np.sqrt(2))
    with pytest.raises(ValueError, match="unknown Wordle dataset kind 'experts'"):
        generate_dataset("experts", 1, seed=0)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['p_smart'\]"):
        generate_dataset("expert", 1, seed=0, p_smart=0.5)


@pytest.mark.slow
def test_expert_generation_speed():
    generate_dataset("expert", 2000, seed=0)  # warm the caches
    t = time.perf_counter()
    n = 20_000
    eps = generate_dataset("expert", n, seed=1)
    dt = time.perf_counter() - t
    print(f"\nexpert episodes/s: {n / dt:,.0f}  stats: {dataset_stats(eps)}")
