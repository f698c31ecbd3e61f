"""The JSON forms shared by the environment server and :class:`~lexiq.envs.remote.client.RemoteEnv`.

* A Gymnasium ``Text`` space travels as ``{"type": "text", "min_length": 0, "max_length": 15, "charset": "..."}``;
  any other space as ``{"type": "other", "repr": "..."}`` (the client then accepts any text).
* ``info`` dicts and episode ``meta`` are made JSON-safe by :func:`jsonable` (NumPy scalars and arrays become
  numbers and lists, tuples and sets lists, anything else its ``str``).
* An episode is ``Episode.to_dict()``; :func:`episode_from_wire` also accepts an episode that has not started yet
  (no turn, or no agent turn), which a stored data set never contains but a just-reset environment does.
"""

from __future__ import annotations

import math
import string
from typing import Any

from gymnasium import spaces

from lexiq.data.episode import Episode, episode_from_dict

ANY_TEXT_LENGTH = 1_000_000


def space_to_wire(space: Any) -> dict[str, Any]:
    """The JSON description of an observation or action space."""
    if isinstance(space, spaces.Text):
        return {"type": "text", "min_length": int(space.min_length), "max_length": int(space.max_length),
                "charset": space.characters}
    return {"type": "other", "repr": repr(space)}


def space_from_wire(record: Any) -> spaces.Text:
    """A ``Text`` space from :func:`space_to_wire`'s JSON (a permissive one for spaces other than text)."""
    if isinstance(record, dict) and record.get("type") == "text":
        return spaces.Text(max_length=int(record["max_length"]), min_length=int(record["min_length"]),
                           charset=str(record["charset"]))
    return spaces.Text(max_length=ANY_TEXT_LENGTH, min_length=0, charset=string.printable)


def jsonable(value: Any) -> Any:
    """``value`` with every part turned into something ``json.dumps`` writes as strict JSON."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    tolist = getattr(value, "tolist", None)  # NumPy scalars and arrays, torch tensors
    if callable(tolist):
        return jsonable(tolist())
    return str(value)


def episode_to_wire(episode: Episode) -> dict[str, Any]:
    """The JSON form of an episode (its ``meta`` made JSON-safe)."""
    record = episode.to_dict()
    if "meta" in record:
        record["meta"] = jsonable(record["meta"])
    return record


def episode_from_wire(record: Any, where: str = "episode") -> Episode:
    """An :class:`Episode` from its JSON form, validated like a data set's episodes except that an episode that
    has only just begun (no turn yet, or environment turns only) is accepted too."""
    if isinstance(record, dict) and isinstance(record.get("turns"), list):
        turns = record["turns"]
        if not any(isinstance(t, dict) and t.get("role") == "agent" for t in turns):
            probe = dict(record, turns=[*turns, {"role": "agent", "text": ""}])
            ep = episode_from_dict(probe, where)  # validates every given turn and the flags
            return Episode(ep.turns[:-1], terminated=ep.terminated, truncated=ep.truncated, meta=ep.meta)
    return episode_from_dict(record, where)

