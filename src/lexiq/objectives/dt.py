"""Decision Transformer by return tokens: imitate every logged reply, conditioned on how well it did.

Chen et al. 2021 ("Decision Transformer: Reinforcement Learning via Sequence Modeling", arXiv 2106.01345) condition
a sequence model on the return-to-go; for dialogue, Sodhi et al. 2023 (arXiv 2307.12425; ``specs/
dialogue_offline_rl.md`` A.8) reduce it to two tokens. Before every agent turn ``k`` the serialisation gets one
return token, an observation the model never has to predict::

    R_k = Σ_{k' ≥ k} r_{k'}              (undiscounted return-to-go from agent turn k)
    token_k = <_reward_one_>  if R_k ≥ return_threshold  else  <_reward_zero_>

Logged agent replies that are only context (environment turns spoken by the agent — speaker ``agent`` or
``api_call`` —, e.g. the dialogue history of a one-step episode) get ``<_reward_one_>`` when ``relabel_context`` is
on: the history is treated as good play.
The loss is behaviour cloning of every reply, whatever its return (all candidates, not only the good ones)::

    L_DT = (1/n) Σ_j m_j · [−log π_θ(a_j | s_j, return tokens)]

At decoding time the prompt gets the same relabelling and ends with ``<_reward_one_>`` (then the agent start
marker): the policy is asked for a high-return reply. The saved policy records this in ``lexiq.json``
(``return_conditioning``) and :class:`lexiq.evaluation.rollout.LMPolicy` applies it.

Logged metrics: those of ``bc`` (``losses/bc``, ``charts/action_tokens``) plus ``charts/high_return_fraction``
(share of the trained agent turns labelled high in the data, computed once; relabelled context replies are not
counted).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from lexiq.config import ConfigError
from lexiq.data.episode import AGENT, ENVIRONMENT, Episode, Turn
from lexiq.objectives.bc import BC, BCConfig

HIGH, LOW = "return_high", "return_low"
AGENT_SPEAKERS = ("agent", "api_call")
"""Speakers of environment turns that are the agent's own logged words (relabelled as high-return context)."""
HIGH_TOKEN, LOW_TOKEN = "<_reward_one_>", "<_reward_zero_>"


@dataclass
class DTConfig(BCConfig):
    """Return-token conditioning."""

    return_threshold: float = 1.0
    """A reply's return-to-go ≥ this is high (Sodhi et al.: reward 1 of a 0/1 reward)."""
    relabel_context: bool = True
    """Mark logged agent replies in the context (environment turns with speaker 'agent') as high-return."""


def _return_turn(speaker: str) -> Turn:
    return Turn(ENVIRONMENT, "", speaker=speaker)


def condition_turns(turns: list[Turn], threshold: float, relabel_context: bool = True,
                    prompt: bool = False) -> list[Turn]:
    """The turns with a return token before every agent turn (and, with ``relabel_context``, before every context
    reply). With ``prompt`` (an episode in progress, to decode the next turn) every earlier agent turn is marked
    high — the policy is asked to play well throughout — and a high-return token is appended."""
    rewards = [float(t.reward or 0.0) + sum(t.token_rewards or []) if t.role == AGENT else 0.0 for t in turns]
    to_go = [0.0] * len(turns)
    acc = 0.0
    for i in range(len(turns) - 1, -1, -1):
        acc += rewards[i]
        to_go[i] = acc
    out: list[Turn] = []
    for t, g in zip(turns, to_go, strict=True):
        if t.role == AGENT:
            out.append(_return_turn(HIGH if prompt or g >= threshold else LOW))
        elif relabel_context and t.speaker in AGENT_SPEAKERS:
            out.append(_return_turn(HIGH))
        out.append(t)
    if prompt:
        out.append(_return_turn(HIGH))
    return out


class DecisionTransformer(BC):
    """Behaviour cloning on return-token-conditioned episodes (module docstring)."""

    name = "dt"
    config_class = DTConfig

    def prepare_episodes(self, episodes: list[Episode]) -> list[Episode]:
        if not episodes:
            return episodes
        out = [dataclasses.replace(ep, turns=condition_turns(ep.turns, self.config.return_threshold,
                                                             self.config.relabel_context)) for ep in episodes]
        # the return tokens of the trained (agent-role) turns; relabelled context replies are not counted
        marks = [ep.turns[i - 1].speaker for ep in out for i, t in enumerate(ep.turns) if t.role == AGENT]
        self.high_fraction = marks.count(HIGH) / max(1, len(marks))
        if self.high_fraction in (0.0, 1.0):
            raise ConfigError(f"dt: every agent turn is {'high' if self.high_fraction else 'low'}-return at "
                              f"objective.return_threshold={self.config.return_threshold}; conditioning needs both")
        return out

    def prepare_validation(self, episodes: list[Episode]) -> list[Episode]:
        """Held-out episodes with their own return tokens (all-high is fine here: e.g. gold replies)."""
        return [dataclasses.replace(ep, turns=condition_turns(ep.turns, self.config.return_threshold,
                                                              self.config.relabel_context)) for ep in episodes]

    def loss(self, model: Any, batch: Any) -> Any:
        loss, metrics = super().loss(model, batch)
        metrics["charts/high_return_fraction"] = getattr(self, "high_fraction", float("nan"))
        return loss, metrics

    def extend_format(self, fmt: Any) -> Any:
        """The episode format plus the two return tokens (rendered for the ``return_high``/``return_low`` turns)."""
        extra = tuple(m for m in ((HIGH, HIGH_TOKEN, ""), (LOW, LOW_TOKEN, "")) if m not in fmt.speaker_markers)
        return dataclasses.replace(fmt, speaker_markers=fmt.speaker_markers + extra)

    def model_meta(self) -> dict[str, Any]:
        """What the saved policy needs at decoding time."""
        return {"return_conditioning": {"threshold": self.config.return_threshold,
                                        "relabel_context": self.config.relabel_context}}
