"""Batched rollouts of any policy in any lexiq text environment.

A policy is anything with ``act(episodes, envs) -> list[str]``: it receives the episodes so far (and the
environments, which scripted policies may read) of every still-running game and returns one action string each.
:class:`LMPolicy` prompts a :class:`~lexiq.models.model.LexiqModel` with the serialised episode (the token-MDP
format) and decodes the next agent turn with (Q-guided) generation for the whole batch at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch

from lexiq.config import ConfigError
from lexiq.data.episode import Episode
from lexiq.envs.base import TextEnvProtocol


class Policy(Protocol):
    def act(self, episodes: Sequence[Episode], envs: Sequence[Any]) -> list[str]:
        ...


class LMPolicy:
    """A language-model policy: prompt = serialised episode so far, action = decoded text up to the turn end."""

    def __init__(self, model: Any, tokenizer: Any, fmt: Any, decoding: Any, max_prompt_tokens: int | None = None):
        """``max_prompt_tokens`` keeps only the last K prompt tokens (left truncation inside turns, as the dialogue
        protocol of Sodhi et al. does with K = 96); None keeps the whole episode."""
        from lexiq.data.token_mdp import build_prompt

        self.model = model
        self.tokenizer = tokenizer
        self.fmt = fmt
        self.decoding = decoding
        self._build_prompt = build_prompt
        self.end_id = tokenizer.convert_tokens_to_ids(fmt.agent_end)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.end_id
        self.max_prompt_tokens = max_prompt_tokens

    def prompt_turns(self, turns: Sequence[Any], high: bool = True) -> list[Any]:
        """The turns the prompt is built from: a return-conditioned policy (``dt``) asks for a high return (or,
        with ``high=False``, a low one: the twin prompt of return guidance)."""
        cond = getattr(self.model, "meta", {}).get("return_conditioning")
        if not cond:
            return list(turns)
        from dataclasses import replace

        from lexiq.objectives.dt import LOW, condition_turns

        out = condition_turns(list(turns), cond["threshold"], cond.get("relabel_context", True), prompt=True)
        if not high:
            out[-1] = replace(out[-1], speaker=LOW)
        return out

    def _batch(self, prompts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-padded ids and attention mask of the prompts (each cut to its last ``max_prompt_tokens``)."""
        if self.max_prompt_tokens:
            prompts = [p[-self.max_prompt_tokens:] for p in prompts]
        width = max(len(p) for p in prompts)
        device = next(self.model.parameters()).device
        ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        attn = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):  # left padding
            ids[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
            attn[i, width - len(p):] = 1
        return ids.to(device), attn.to(device)

    @torch.no_grad()
    def act(self, episodes: Sequence[Episode], envs: Sequence[Any] = ()) -> list[str]:
        """The next agent turn of every episode: ``decoding.num_return_sequences`` consecutive strings each."""
        from lexiq.decoding import generate

        prompts = [self._build_prompt(self.prompt_turns(ep.turns), self.tokenizer, self.fmt) for ep in episodes]
        ids, attn = self._batch(prompts)
        if getattr(self.decoding, "return_guidance", 0.0) > 0:
            from lexiq.decoding.return_guidance import generate_return_guided

            if not getattr(self.model, "meta", {}).get("return_conditioning"):
                raise ConfigError("decoding.return_guidance: the policy is not return-conditioned (train it with "
                                  "dt) — set decoding.return_guidance=0")
            low, low_attn = self._batch([self._build_prompt(self.prompt_turns(ep.turns, high=False),
                                                            self.tokenizer, self.fmt) for ep in episodes])
            if not torch.equal(low_attn, attn):
                raise ValueError("return guidance: the low-return prompts tokenise to other lengths than the "
                                 "high-return ones")
            new = generate_return_guided(self.model, ids, low, attn, self.decoding, eos_token_id=self.end_id,
                                         pad_token_id=self.pad_id)
        else:
            new = generate(self.model, ids, attn, self.decoding, eos_token_id=self.end_id,
                           pad_token_id=self.pad_id)
        actions = []
        for row in new.tolist():
            if self.end_id in row:
                row = row[: row.index(self.end_id)]
            row = [t for t in row if t != self.pad_id]
            actions.append(self.tokenizer.decode(row, skip_special_tokens=False,
                                                 clean_up_tokenization_spaces=False).strip())
        return actions


def rollout(make_env: Callable[[], TextEnvProtocol], policy: Policy, n_episodes: int, seed: int = 0,
            batch_size: int = 64, progress: bool = False, max_steps: int = 1000) -> list[Episode]:
    """Play ``n_episodes`` games (env ``i`` reset with ``seed + i``), ``batch_size`` at a time.

    Each returned episode has ``meta['success']`` from the environment's final ``info`` (``success`` or
    ``solved``) and ``meta['seed']``.
    """
    results: list[Episode] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_episodes, desc="rollouts", dynamic_ncols=True, leave=False)
    for start in range(0, n_episodes, batch_size):
        seeds = list(range(seed + start, seed + min(n_episodes, start + batch_size)))
        envs = [make_env() for _ in seeds]
        infos: list[dict[str, Any]] = []
        for env, s in zip(envs, seeds, strict=True):
            infos.append(env.reset(seed=s)[1])
        active = list(range(len(envs)))
        for _ in range(max_steps):
            if not active:
                break
            actions = policy.act([envs[i].episode() for i in active], [envs[i] for i in active])
            still = []
            for i, action in zip(active, actions, strict=True):
                _, _, terminated, truncated, info = envs[i].step(action)
                infos[i] = info
                if not (terminated or truncated):
                    still.append(i)
            active = still
        for env, s, info in zip(envs, seeds, infos, strict=True):
            ep = env.episode()
            ep.meta = dict(ep.meta)
            ep.meta["success"] = bool(info.get("success", info.get("solved", False)))
            ep.meta["seed"] = s
            results.append(ep)
        if bar is not None:
            bar.update(len(seeds))
    if bar is not None:
        bar.close()
    return results
