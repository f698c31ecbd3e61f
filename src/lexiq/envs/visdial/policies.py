"""The data-collecting policy of ILQL's visual dialogue: ask the server's supervised Q-bot (upstream
``VDRemotePolicy``, ``specs/visdial_protocol.md`` §2.5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lexiq.data.episode import Episode
from lexiq.envs.http import HttpOptions
from lexiq.envs.visdial.client import DEFAULT_URL, GREEDY, VisDialClient, history_of


def dialogue_of(episode: Episode) -> tuple[str, list[tuple[str, str]]]:
    """``(caption, [(question, answer), ...])`` of a visual-dialogue episode (an unanswered question ends it)."""
    if not episode.turns or episode.turns[0].is_agent:
        raise ValueError("a visual-dialogue episode starts with the caption (an environment turn)")
    caption = episode.turns[0].text
    pairs: list[tuple[str, str]] = []
    rest = episode.turns[1:]
    for k in range(0, len(rest) - 1, 2):
        pairs.append((rest[k].text, rest[k + 1].text))
    return caption, pairs


class QBotPolicy:
    """A rollout policy (``act(episodes, envs) -> questions``) that asks ``/fetch_q_bot_response``."""

    name = "sl_qbot"

    def __init__(self, url: str = DEFAULT_URL, generation_kwargs: dict[str, Any] | None = None,
                 http: HttpOptions | None = None) -> None:
        self.client = VisDialClient(url, http)
        self.generation_kwargs = dict(GREEDY if generation_kwargs is None else generation_kwargs)

    def act(self, episodes: Sequence[Episode], envs: Sequence[Any] = ()) -> list[str]:
        out = []
        for episode in episodes:
            caption, pairs = dialogue_of(episode)
            out.append(self.client.fetch_q_bot_response(history_of(pairs), caption, self.generation_kwargs))
        return out
