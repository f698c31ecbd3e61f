"""From whole conversations to one-step reply episodes (the unit of offline RL for response generation).

Sodhi et al. 2023 (arXiv 2307.12425; ``specs/dialogue_offline_rl.md`` A.3, A.6) score one agent reply at a time:
for every agent turn of a conversation, the turns before it are the context and the reply is the single action
(a contextual bandit). :func:`reply_episodes` makes those episodes. Earlier agent turns become environment turns
that keep their speaker (``agent`` for text, ``api_call`` for API calls), so the episode format still renders
them as the agent's words while only the scored reply is trained.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from lexiq.data.episode import AGENT, ENVIRONMENT, Episode, Turn


def as_context(turn: Turn) -> Turn:
    """``turn`` as context: an agent turn becomes an environment turn spoken by the agent (no reward)."""
    if turn.role != AGENT:
        return turn
    return Turn(ENVIRONMENT, turn.text, speaker=turn.speaker or "agent")


def reply_episodes(conversation: Episode, reward: float | None = None, min_context_turns: int = 0,
                   speakers: Collection[str] | None = None) -> list[Episode]:
    """One episode per agent turn of ``conversation``: the turns before it as context, the turn as the action.

    ``reward`` replaces the logged turn reward (e.g. 1.0 for gold replies); ``min_context_turns`` skips replies
    with fewer context turns; ``speakers`` keeps only replies by those speakers (e.g. ``{"agent"}``: the agent's
    words, not its API calls). ``meta`` keeps the conversation's and adds ``turn`` (the reply's index).
    """
    out: list[Episode] = []
    for i, turn in enumerate(conversation.turns):
        if turn.role != AGENT or i < min_context_turns:
            continue
        if speakers is not None and (turn.speaker or "agent") not in speakers:
            continue
        reply = dataclasses.replace(turn, reward=turn.reward if reward is None else float(reward),
                                    token_rewards=None if reward is not None else turn.token_rewards)
        context = [as_context(t) for t in conversation.turns[:i]]
        out.append(Episode([*context, reply], terminated=True, meta={**conversation.meta, "turn": i}))
    return out
