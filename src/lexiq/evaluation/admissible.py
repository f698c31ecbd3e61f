"""A language-model policy restricted to the environment's admissible commands.

In games that list the commands they accept (TextWorld's ``admissible_commands``) a policy can be asked to choose
among them instead of writing free text: this is how text-game agents are usually evaluated (He et al., DRRN,
2016; Côté et al., TextWorld, 2018), and it keeps a small model trained from scratch from losing games to typos.
:class:`AdmissiblePolicy` plays, in every state ``s``, the command ``c`` of highest log-probability under the
policy that the model decodes with::

    score(c | s) = Σ_j log π(c_j | s, c_<j)      over the command's tokens and the end-of-turn marker

    π(a | h) = softmax(ℓ(h) + A(h))_a             ℓ = the LM's logits (π_β), A = β·(Q̄ − V) the ILQL advantage

that is, ILQL's extracted policy (Snell et al. 2022, arXiv 2206.11871, §4: π ∝ π_β·exp(β(Q̄ − V)), the same
advantage as :mod:`lexiq.decoding.guided`, renormalised at every token) with β > 0 and heads, and the plain
behaviour-cloned π_β with β = 0 or a model without heads (BC, filtered BC). ``decoding.strategy="greedy"`` plays
the best command (ties: the first in the environment's order); ``"sample"`` draws one from the policy restricted
to the admissible commands, ``P(c) ∝ exp(score(c | s) / temperature)``. Top-k and top-p are not used.

The prompt (the serialised episode so far, :func:`lexiq.data.token_mdp.build_prompt`) is run once per state and
its key/value cache shared by all candidates; prompts keep their last ``max_length − longest candidate`` tokens,
so prompt plus command never exceed the episode length the model was trained on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from lexiq.data.episode import Episode


def _commands_of(env: Any) -> list[str]:
    commands = getattr(env, "admissible_commands", None)
    if commands is None:
        commands = getattr(env, "info", {}).get("admissible_commands")
    if not commands:
        raise ValueError(f"{type(env).__name__}: no admissible commands to choose from (the environment must "
                         "expose admissible_commands)")
    return list(commands)


@torch.no_grad()
def _states(lm: torch.nn.Module, prompt: torch.Tensor, cands: torch.Tensor) -> torch.Tensor:
    """Final hidden states ``[k, c, d]`` of backbone ``lm`` whose position ``j`` predicts ``cands[:, j]``: the
    prompt's last state, then the states after each candidate token (one prompt pass, its cache shared)."""
    from lexiq.decoding.guided import _base_model, _cache_argument, _returned_cache

    base = _base_model(lm)
    if base is None:  # no separate base model: run every candidate with the whole prompt
        ids = torch.cat([prompt.expand(cands.shape[0], -1), cands[:, :-1]], dim=1)
        out = lm(input_ids=ids, output_hidden_states=True)
        return out.hidden_states[-1][:, prompt.shape[1] - 1:]
    out = base(input_ids=prompt, use_cache=True)
    last = out.last_hidden_state[:, -1:].expand(cands.shape[0], -1, -1)
    if cands.shape[1] == 1:
        return last
    cache = _returned_cache(out)
    cache.batch_repeat_interleave(cands.shape[0])
    # right-padded candidates: a pad only ever precedes later pads, so the mask can stay all ones
    mask = torch.ones(cands.shape[0], prompt.shape[1] + cands.shape[1] - 1, dtype=torch.long, device=cands.device)
    rest = base(input_ids=cands[:, :-1], attention_mask=mask, use_cache=True,
                **{_cache_argument(base): cache}).last_hidden_state
    return torch.cat([last, rest], dim=1)


class AdmissiblePolicy:
    """Plays the admissible command the model is most likely to produce (module docstring).

    ``model``: a :class:`~lexiq.models.model.LexiqModel`; ``fmt``: its episode format; ``decoding``: the
    :class:`~lexiq.decoding.config.DecodingConfig` whose β (and advantage settings) define π; ``max_length``:
    prompt + command budget in tokens (default: the ``max_length`` the model was trained with, else its
    positions); ``commands``: reads the candidate commands from an environment (default: its
    ``admissible_commands``).
    """

    def __init__(self, model: Any, tokenizer: Any, fmt: Any, decoding: Any, max_length: int | None = None,
                 commands: Callable[[Any], list[str]] | None = None, seed: int = 0) -> None:
        from lexiq.data.token_mdp import build_prompt

        if decoding.strategy not in ("greedy", "sample"):
            raise ValueError(f"decoding.strategy={decoding.strategy!r}: choosing an admissible command supports "
                             "'greedy' or 'sample'")

        self.model = model
        self.tokenizer = tokenizer
        self.fmt = fmt
        self.decoding = decoding
        self.commands = commands or _commands_of
        self._build_prompt = build_prompt
        self.end_id = int(tokenizer.convert_tokens_to_ids(fmt.agent_end))
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.end_id
        meta_len = getattr(model, "meta", {}).get("max_length")
        positions = getattr(getattr(model.lm, "config", None), "max_position_embeddings", None)
        self.max_length = max_length or meta_len or positions
        self.use_heads = decoding.beta > 0 and getattr(model, "heads", None) is not None
        self._encoded: dict[str, list[int]] = {}
        self.generator = torch.Generator().manual_seed(seed)

    def _encode(self, command: str) -> list[int]:
        if command not in self._encoded:
            from lexiq.data.token_mdp import encode_checked

            self._encoded[command] = encode_checked(self.tokenizer, command, f"command {command!r}") + [self.end_id]
        return self._encoded[command]

    @torch.no_grad()
    def scores(self, episode: Episode, commands: Sequence[str]) -> torch.Tensor:
        """``score(c | s)`` of each command after ``episode`` (a ``[len(commands)]`` tensor)."""
        from lexiq.decoding.guided import GuidedLogitsProcessor

        encoded = [self._encode(c) for c in commands]
        width = max(len(e) for e in encoded)
        prompt = self._build_prompt(episode.turns, self.tokenizer, self.fmt)
        if self.max_length:
            prompt = prompt[-max(1, self.max_length - width):]
        device = next(self.model.parameters()).device
        ids = torch.full((len(encoded), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(encoded), width))
        for i, e in enumerate(encoded):
            ids[i, :len(e)] = torch.tensor(e)
            mask[i, :len(e)] = 1.0
        ids, mask = ids.to(device), mask.to(device)
        p = torch.tensor([prompt], dtype=torch.long, device=device)
        h = _states(self.model.lm, p, ids)
        logits = self.model.logits(h).float()  # [k, c, |V|]
        if self.use_heads:
            proc = GuidedLogitsProcessor(self.model, self.decoding)
            value_h = h if self.model.value_lm is None else _states(self.model.value_lm, p, ids)
            target_h = None
            if self.decoding.q_source == "target" and self.model.target_lm is not None:
                target_h = _states(self.model.target_lm, p, ids).flatten(0, 1)
            adv = proc.advantage(value_h.flatten(0, 1), target_h)
            logits = logits + adv.view(logits.shape).float()
        logp = torch.log_softmax(logits, dim=-1).gather(-1, ids.unsqueeze(-1)).squeeze(-1)
        return (logp * mask).sum(dim=1).cpu()

    def choose(self, scores: torch.Tensor) -> int:
        """Index of the command to play: the argmax (greedy) or a draw from ``softmax(scores / temperature)``."""
        if self.decoding.strategy == "greedy":
            return int(torch.argmax(scores))
        probs = torch.softmax(scores.double() / self.decoding.temperature, dim=0)
        return int(torch.multinomial(probs, 1, generator=self.generator))

    def act(self, episodes: Sequence[Episode], envs: Sequence[Any]) -> list[str]:
        """One admissible command for every still-running game."""
        out = []
        for ep, env in zip(episodes, envs, strict=True):
            commands = self.commands(env)
            out.append(commands[self.choose(self.scores(ep, commands))])
        return out
