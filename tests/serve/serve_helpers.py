"""A scripted Wordle policy that acts on episodes (so it can play a remote env), and games played with it."""

from __future__ import annotations

import numpy as np

from lexiq.data.episode import Episode
from lexiq.envs.wordle.game import GameState, WordList, colors_to_pattern
from lexiq.envs.wordle.policies import MixturePolicy, OptimalPolicy, StartWordPolicy, UniformWordPolicy


def state_from_episode(episode: Episode, vocab: WordList) -> GameState:
    """The resampling-mode Wordle state an episode leads to: its guesses, their colours and the words consistent
    with them (what the scripted policies act on)."""
    guesses, patterns, rewards = [], [], []
    turns = episode.turns
    i = 0
    while i < len(turns):
        assert turns[i].is_agent, turns
        guesses.append(turns[i].text)
        rewards.append(float(turns[i].reward))
        if i + 1 < len(turns) and not turns[i + 1].is_agent:
            patterns.append(colors_to_pattern(turns[i + 1].text))
            i += 2
        else:
            patterns.append(None)
            i += 1
    consistent = vocab.consistent_with([(g, p) for g, p in zip(guesses, patterns, strict=True) if p is not None])
    solved = len(consistent) == 1 and vocab.words[consistent[0]] in guesses
    return GameState(vocab, consistent, tuple(guesses), tuple(patterns), tuple(rewards), solved=solved)


def scripted_policy(seed: int) -> MixturePolicy:
    """Mostly the information-gain expert, sometimes a uniform word: one generator, so runs are reproducible."""
    rng = np.random.default_rng(seed)
    expert = OptimalPolicy(StartWordPolicy(rng=rng), rng=rng)
    return MixturePolicy(0.8, expert, UniformWordPolicy(rng=rng), rng=rng)


def play_local(seed: int) -> Episode:
    from lexiq.envs import WordleEnv

    env = WordleEnv()
    policy = scripted_policy(seed)
    env.reset(seed=seed)
    while True:
        _, _, terminated, truncated, _ = env.step(policy.act(env.state))
        if terminated or truncated:
            return env.episode()


def play_remote(env, seed: int) -> Episode:
    vocab = WordList.resolve("answers")
    policy = scripted_policy(seed)
    env.reset(seed=seed)
    while True:
        _, _, terminated, truncated, _ = env.step(policy.act(state_from_episode(env.episode(), vocab)))
        if terminated or truncated:
            return env.episode()
