"""``lexiq rewards compute``: implicit rewards for a whole log file, written next to the data they score.

Input: an interaction CSV (``lexiq.data.interaction``, Jaques et al. 2019) or a JSONL of lexiq dialogue episodes
(each episode one chat; API calls and tool answers are skipped). Output by extension:

* ``.csv`` — the processed buffer of ``specs/kl_control.md`` §1.2: one row per exchange with ``chat_id``,
  ``index``, ``state`` and ``next_state`` (JSON lists of sentences, history ``H``), ``action``, ``done``,
  ``rating``, one ``reward_<name>`` column per reward (normalised over the buffer unless ``normalise=False``) and
  ``reward`` = Σ_k w_k · reward_<name_k>;
* ``.jsonl`` — one episode per chat (user messages as environment turns, bot replies as agent turns carrying the
  combined reward; rows with an empty reply dropped), the columns in each episode's ``meta["rewards"]``.

The output is written to a temporary file and renamed into place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from lexiq.config import ConfigError
from lexiq.rewards.compute import compute_rewards
from lexiq.rewards.exchange import Exchange


def read_chats(path: str | os.PathLike, study_key: str | None = None) -> list[list[Exchange]]:
    """The chats of an interaction CSV (``.csv``) or of a dialogue-episode JSONL (``.jsonl``)."""
    from lexiq.data.interaction import episode_chat, read_interaction_csv
    from lexiq.data.jsonl import read_episodes

    path = Path(path)
    if path.suffix == ".csv":
        return read_interaction_csv(path, study_key=study_key)
    if path.suffix == ".jsonl":
        chats = [episode_chat(ep, chat_id=str(ep.meta.get("conversation_id", ep.meta.get("chat_id", i))))
                 for i, ep in enumerate(read_episodes(path))]
        return [c for c in chats if c]
    raise ConfigError(f"{path}: expected an interaction .csv or an episode .jsonl")


def score_file(inp: str | os.PathLike, out: str | os.PathLike, names: list[str], weights: list[float] | None = None,
               history: int = 10, normalise: bool = True, study_key: str | None = None,
               progress: bool = True) -> dict[str, float]:
    """Compute the rewards of ``inp`` into ``out`` (module docstring); returns the mean of each column and of the
    combined reward."""
    from lexiq.data.interaction import chat_episode, transitions

    out = Path(out)
    if out.suffix not in (".csv", ".jsonl"):
        raise ConfigError(f"{out}: expected an output ending in .csv or .jsonl")
    chats = read_chats(inp, study_key)
    if not chats:
        raise ConfigError(f"{inp}: no exchanges to score")
    columns, total = compute_rewards(chats, names, weights, normalise=normalise, progress=progress)
    tmp = out.with_name(out.name + ".tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        k = 0
        if out.suffix == ".csv":
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(["chat_id", "index", "state", "action", "next_state", "done", "rating",
                                 *(f"reward_{n}" for n in names), "reward"])
                for chat in chats:
                    for ex, tr in zip(chat, transitions(chat, history), strict=True):
                        writer.writerow([ex.chat_id, ex.index, json.dumps(tr.state), tr.action,
                                         json.dumps(tr.next_state), int(tr.done),
                                         "" if ex.rating is None else ex.rating,
                                         *(columns[n][k] for n in names), total[k]])
                        k += 1
        else:
            with open(tmp, "w", encoding="utf-8") as f:
                for chat in chats:
                    rows = range(k, k + len(chat))
                    ep = chat_episode(chat, [total[i] for i in rows])
                    ep.meta["rewards"] = {n: [columns[n][i] for i in rows] for n in names}
                    f.write(json.dumps(ep.to_dict()) + "\n")
                    k += len(chat)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    n = len(total)
    summary = {n_: sum(columns[n_]) / n for n_ in names}
    summary["reward"] = sum(total) / n
    return summary
