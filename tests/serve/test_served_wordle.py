"""A served Wordle is the same game as an in-process one: same returns, same episodes, for one or many clients."""

from __future__ import annotations

import gc
import threading

import httpx
from serve_helpers import play_local, play_remote, scripted_policy, state_from_episode

from lexiq.envs import make
from lexiq.envs.remote.client import RemoteEnv
from lexiq.envs.wordle.game import WordList

SEEDS = list(range(20))


def _sessions(url: str) -> int:
    return httpx.get(f"{url}/health").json()["sessions"]


def test_served_wordle_matches_in_process_for_the_same_seeds_and_policy(wordle_url):
    env = RemoteEnv(wordle_url)
    try:
        for seed in SEEDS:
            local, remote = play_local(seed), play_remote(env, seed)
            assert remote.total_reward == local.total_reward, seed
            assert remote.to_dict() == local.to_dict(), seed
    finally:
        env.close()
    returns = [play_local(s).total_reward for s in SEEDS]
    assert len(set(returns)) > 1  # the seeds really give different games


def test_concurrent_sessions_do_not_interfere(wordle_url):
    expected = {s: play_local(s).to_dict() for s in SEEDS}
    got: dict[int, dict] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(SEEDS))

    def worker(seed: int) -> None:
        try:
            env = RemoteEnv(wordle_url)
            barrier.wait(timeout=30)
            got[seed] = play_remote(env, seed).to_dict()
            env.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in SEEDS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert got == expected
    assert _sessions(wordle_url) == 0


def test_remote_env_passes_gymnasium_checks(wordle_url):
    from gymnasium.utils.env_checker import check_env

    env = make("remote", url=wordle_url)
    try:
        check_env(env, skip_render_check=True)
        assert env.observation_space.contains("<b><g><y><b><b>")
        assert env.reset(seed=3) == ("", {"valid": True, "n_consistent": 2315, "n_guesses": 0, "solved": False})
        assert env.episode().turns == []
    finally:
        env.close()


class _EpisodePolicy:
    """The scripted policy as a rollout policy: act(episodes, envs) -> guesses."""

    def __init__(self):
        self.vocab = WordList.resolve("answers")
        self.policies: dict[int, object] = {}

    def act(self, episodes, envs):
        return [self.policies.setdefault(id(env), scripted_policy(0)).act(state_from_episode(ep, self.vocab))
                for ep, env in zip(episodes, envs, strict=True)]


def test_the_rollout_evaluator_runs_on_a_served_env_and_closes_its_sessions(wordle_url):
    from lexiq.evaluation.rollout import rollout
    from lexiq.run import EvalConfig, make_env_factory

    remote = rollout(make_env_factory(EvalConfig(env="remote", env_options={"url": wordle_url})), _EpisodePolicy(),
                     n_episodes=6, seed=40, batch_size=3)
    local = rollout(make_env_factory(EvalConfig(env="wordle")), _EpisodePolicy(), n_episodes=6, seed=40, batch_size=3)
    assert [e.to_dict() for e in remote] == [e.to_dict() for e in local]
    assert all(e.meta["seed"] == 40 + i for i, e in enumerate(remote))
    gc.collect()
    assert _sessions(wordle_url) == 0  # rollout never closes its envs: RemoteEnv ends its session when collected


def test_sessions_may_set_env_options(wordle_url):
    env = RemoteEnv(wordle_url, mode="fixed", hidden_word="crane")
    try:
        env.reset()
        assert env.step("crane")[1:3] == (0.0, True)
        assert env.episode().meta["mode"] == "fixed"
    finally:
        env.close()
