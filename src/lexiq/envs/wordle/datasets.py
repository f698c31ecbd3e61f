"""Synthetic Wordle datasets of the ILQL paper (Snell et al. 2022, arXiv 2206.11871; ``specs/wordle.md`` §8).

``generate_dataset(kind, n_episodes, seed)`` plays scripted policies (§6) in the resampling environment (§3.1)
and returns lexiq :class:`Episode` objects (§5.1 turn structure). Kinds:

* ``"expert"`` (§8.1): OptimalPolicy with the start-word policy; ``n_episodes`` games.
* ``"mixed"``: mixed-quality logs, as from a fleet of agents of different quality. Each game is played by one
  behaviour drawn with probabilities ``behaviours`` (default ``expert 0.15, looping 0.45, consistent 0.4``):
  ``expert`` (OptimalPolicy with start words), ``looping`` (the expert for ``loop_after`` = 2 guesses, then
  stuck repeating one of them — RepeatPolicy(first_n=loop_after), the looping failure of language agents and
  the continuation of §8.3), ``consistent`` (RandomMixturePolicy(prob_smart=1.0): a uniform word consistent
  with the feedback so far), ``half_random`` (RandomMixturePolicy(prob_smart=0.5): a uniform consistent word or
  a uniform word), ``random`` (a uniform vocabulary word every guess). ``meta["behaviour"]`` records it.
  With ``shared_opening`` (default True) every behaviour opens with the expert's start words, so the first
  guess does not reveal who is playing (otherwise the value of an opening would measure how often its player
  loops later, not how good the opening is). Games are independent (unlike ``adversarial``, no shared
  prefixes). Why these defaults: imitating the data's most frequent action is a poor policy at some states
  (after the expert's 2nd guess, a repeat is 3× more frequent than the expert's move), so greedy BC does not
  recover the expert however long it trains, while the best games and the per-step returns still identify good
  play (docs/benchmarks.md).
* ``"adversarial"`` (§8.3): for each of ``n_episodes`` expert games: the expert game (kind ``expert``); if it has
  at least 3 guesses, ``n_adversarial`` (5) games of RepeatPolicy(first_n=2) continued from the state after the
  expert's 2nd guess (kind ``adversarial``, ``branch_at=2``); then ``n_suboptimal`` (5) games of
  RandomMixturePolicy(prob_smart=0.5) from scratch (kind ``suboptimal``).
* ``"branch"`` (§8.2): for each of ``n_episodes`` expert games, from every non-terminal state of the expert game
  (``branch_at = k`` guesses already played, including the empty start) ``n_suboptimal`` (1) games of
  WrongPolicy(vocab=allowed_guesses) to the end (kind ``branch_suboptimal``), then the expert game itself.

For ``adversarial`` and ``branch``, ``n_episodes`` counts *expert games* (upstream's ``n_trajectories``); the
returned list is longer. Episodes of one expert game share ``meta["group"]``; continuations include their prefix.
Every ``meta`` has ``kind``, ``policy``, ``vocab``, ``feedback`` and ``solved``.

Reproducibility: one ``numpy`` Generator seeded with ``seed`` drives every choice (targets and policies), so a
seed fixes the dataset; the optimal-choice cache only stores deterministic argmax sets and never changes results.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lexiq.data.episode import Episode
from lexiq.envs.wordle.game import GameState, WordList, check_feedback_rule
from lexiq.envs.wordle.policies import (
    START_WORDS,
    OptimalPolicy,
    RandomMixturePolicy,
    RepeatPolicy,
    StartWordPolicy,
    SwitchPolicy,
    UniformWordPolicy,
    WordlePolicy,
    WrongPolicy,
)

KINDS = ("expert", "mixed", "adversarial", "branch")
DEFAULT_MIXED_BEHAVIOURS = {"expert": 0.15, "looping": 0.45, "consistent": 0.4}
MIXED_BEHAVIOURS = ("expert", "looping", "consistent", "half_random", "random")

_OPTIONS: dict[str, dict[str, Any]] = {
    "expert": {},
    "mixed": {"behaviours": DEFAULT_MIXED_BEHAVIOURS, "loop_after": 2, "shared_opening": True},
    "adversarial": {"n_adversarial": 5, "n_suboptimal": 5, "prob_smart": 0.5, "first_n": 2},
    "branch": {"n_suboptimal": 1, "branch_vocab": "allowed_guesses"},
}
_COMMON = {"feedback": "ilql", "start_words": START_WORDS, "progress": False}


def _trajectory(state: GameState, policy: WordlePolicy, rng: np.random.Generator) -> list[GameState]:
    """All states from ``state`` (included) to the end of the game."""
    states = [state]
    while not state.done:
        state = state.step(policy.act(state), rng)
        states.append(state)
    return states


def _play(state: GameState, policy: WordlePolicy, rng: np.random.Generator) -> GameState:
    while not state.done:
        state = state.step(policy.act(state), rng)
    return state


def generate_dataset(kind: str, n_episodes: int, seed: int, vocab: WordList | str | os.PathLike[str] | Sequence[str]
                     = "answers", **options: Any) -> list[Episode]:
    """Generate a Wordle dataset (see the module docstring for the kinds and their options).

    Common options: ``feedback`` ("ilql" | "nyt"), ``start_words`` (expert's opening list; None or () for pure
    information gain), ``progress`` (tqdm bar). Kind options: ``behaviours`` (name → probability),
    ``loop_after`` and ``shared_opening`` (mixed); ``n_adversarial``, ``n_suboptimal``, ``prob_smart``,
    ``first_n`` (adversarial); ``n_suboptimal``, ``branch_vocab`` (branch).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown Wordle dataset kind {kind!r}; expected one of {', '.join(KINDS)}")
    allowed = {**_COMMON, **_OPTIONS[kind]}
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for kind {kind!r}; expected some of {sorted(allowed)}")
    if isinstance(n_episodes, bool) or not isinstance(n_episodes, int) or n_episodes < 0:
        raise ValueError(f"n_episodes must be a non-negative int, got {n_episodes!r}")
    opt = {**allowed, **options}
    feedback = check_feedback_rule(opt["feedback"])
    words = WordList.resolve(vocab)
    words.pattern_matrix(feedback)  # precompute once (vocab x vocab) so every step is a table lookup
    rng = np.random.default_rng(seed)

    start_words = opt["start_words"]
    start = StartWordPolicy(start_words, rng=rng) if start_words else None
    expert = OptimalPolicy(start, rng=rng)
    base_meta = {"vocab": words.name, "feedback": feedback}
    init = GameState.initial(words, feedback=feedback)

    def meta(kind_: str, policy: WordlePolicy, end: GameState, **extra: Any) -> dict[str, Any]:
        return {"kind": kind_, "policy": policy.name, **base_meta, "solved": bool(end.solved), **extra}

    out: list[Episode] = []
    it: Any = range(n_episodes)
    if opt["progress"]:
        from tqdm.auto import tqdm

        it = tqdm(it, desc=f"wordle {kind}")

    if kind == "expert":
        for _ in it:
            end = _play(init, expert, rng)
            out.append(end.episode(meta("expert", expert, end)))
        return out

    if kind == "mixed":
        weights = opt["behaviours"]
        valid = isinstance(weights, Mapping) and bool(weights) and not set(weights) - set(MIXED_BEHAVIOURS)
        valid = valid and all(isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0
                              for w in weights.values())
        if not valid or sum(weights.values()) <= 0:
            raise ValueError(f"behaviours must map some of {list(MIXED_BEHAVIOURS)} to non-negative weights with a "
                             f"positive sum, got {opt['behaviours']!r}")
        loop_after, shared_opening = opt["loop_after"], opt["shared_opening"]
        if isinstance(loop_after, bool) or not isinstance(loop_after, int) or loop_after < 0:
            raise ValueError(f"loop_after must be a non-negative int, got {loop_after!r}")
        if not isinstance(shared_opening, bool):
            raise ValueError(f"shared_opening must be true or false, got {shared_opening!r}")
        policies: dict[str, WordlePolicy] = {
            "expert": expert,
            "looping": SwitchPolicy(expert, RepeatPolicy(first_n=max(loop_after, 1), rng=rng), loop_after, rng=rng),
            "consistent": RandomMixturePolicy(1.0, rng=rng),
            "half_random": RandomMixturePolicy(0.5, rng=rng),
            "random": UniformWordPolicy(rng=rng),
        }
        if shared_opening and start is not None:
            # every behaviour opens with the expert's start words, so the first guess does not reveal the player
            for name in ("consistent", "half_random", "random"):
                policies[name] = SwitchPolicy(start, policies[name], 1, rng=rng)
        names = list(weights)
        probs = np.array([weights[k] for k in names], dtype=np.float64)
        probs /= probs.sum()
        for _ in it:
            name = names[int(rng.choice(len(names), p=probs))]
            end = _play(init, policies[name], rng)
            out.append(end.episode(meta("mixed", policies[name], end, behaviour=name)))
        return out

    if kind == "adversarial":
        repeat = RepeatPolicy(first_n=int(opt["first_n"]), rng=rng)
        subopt = RandomMixturePolicy(float(opt["prob_smart"]), rng=rng)
        for i in it:
            states = _trajectory(init, expert, rng)
            end = states[-1]
            out.append(end.episode(meta("expert", expert, end, group=i)))
            if len(states) > 3:  # the expert made at least 3 guesses: branch after its 2nd guess
                for _ in range(int(opt["n_adversarial"])):
                    e = _play(states[2], repeat, rng)
                    out.append(e.episode(meta("adversarial", repeat, e, group=i, branch_at=2)))
            for _ in range(int(opt["n_suboptimal"])):
                e = _play(init, subopt, rng)
                out.append(e.episode(meta("suboptimal", subopt, e, group=i)))
        return out

    # branch
    wrong = WrongPolicy(WordList.resolve(opt["branch_vocab"]), rng=rng)
    for i in it:
        states = _trajectory(init, expert, rng)
        for k, s in enumerate(states[:-1]):
            for _ in range(int(opt["n_suboptimal"])):
                e = _play(s, wrong, rng)
                out.append(e.episode(meta("branch_suboptimal", wrong, e, group=i, branch_at=k)))
        end = states[-1]
        out.append(end.episode(meta("expert", expert, end, group=i)))
    return out


def _solved(ep: Episode) -> bool:
    if "solved" in ep.meta:
        return bool(ep.meta["solved"])
    agent = ep.agent_turns
    return bool(ep.terminated and agent and agent[-1].reward == 0.0)


def dataset_stats(episodes: Sequence[Episode]) -> dict[str, Any]:
    """``n``, ``mean_return``, ``stderr`` (population std / sqrt(n), as upstream), ``success_rate``,
    ``mean_guesses`` (agent turns per episode) and ``kinds`` (count per ``meta["kind"]``)."""
    n = len(episodes)
    if n == 0:
        return {"n": 0, "mean_return": math.nan, "stderr": math.nan, "success_rate": math.nan,
                "mean_guesses": math.nan, "kinds": {}}
    returns = np.array([ep.total_reward for ep in episodes], dtype=np.float64)
    return {
        "n": n,
        "mean_return": float(returns.mean()),
        "stderr": float(returns.std() / math.sqrt(n)),
        "success_rate": float(np.mean([_solved(ep) for ep in episodes])),
        "mean_guesses": float(np.mean([len(ep.agent_turns) for ep in episodes])),
        "kinds": dict(Counter(str(ep.meta.get("kind", "")) for ep in episodes)),
    }
