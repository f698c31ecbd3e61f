"""Where episodes come from: a JSONL file, in-memory records, a 🤗 ``datasets.Dataset``, trlx samples.

trlx conversion (CarperAI/trlx ``make_experience`` for ILQL; ``ilql.md`` §1.6, after Snell et al. 2022,
arXiv 2206.11871): a sample is a string (one agent turn; trlx prepends bos: our start marker) or an
alternating list ``[prompt_1, output_1, prompt_2, output_2, ...]`` (even length) with **one scalar reward per
sample**. Prompts become environment turns, outputs agent turns; the reward goes on the **last** agent turn
(so on the action that emits its end marker, trlx's "last action token"), every other agent turn gets 0;
every episode is terminated. Differences from trlx's token layout: our format ends **every** agent turn with
``agent_end`` (trlx appends eos only after the last output) and always starts with the start marker.

``normalize="zscore"`` reproduces trlx's dataset-wide reward standardisation::

    r'_i = (r_i − mean(r)) / (std(r) + eps),   std unbiased (ddof = 1), eps = float64 machine epsilon,

and only centres (``r' = r − mean``) when ``std`` is NaN (a single sample), exactly like trlx.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from lexiq.data.episode import AGENT, ENVIRONMENT, Episode, EpisodeFormatError, Turn, episode_from_dict
from lexiq.data.episode import validate_episode as _validate
from lexiq.data.jsonl import read_episodes

EpisodeSource = str | os.PathLike | Sequence[Episode | dict[str, Any]] | Any


def _is_hf_dataset(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "datasets" and hasattr(obj, "column_names")


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _clean_arrow_row(row: dict[str, Any]) -> dict[str, Any]:
    """Undo Arrow's schema unification: keys missing from a record come back as None; drop them."""
    out = _drop_none(row)
    if isinstance(out.get("turns"), list):
        out["turns"] = [_drop_none(t) if isinstance(t, dict) else t for t in out["turns"]]
    if isinstance(out.get("meta"), dict):
        out["meta"] = _drop_none(out["meta"])
    return out


def load_episodes(source: EpisodeSource) -> list[Episode]:
    """Validated episodes from any supported source.

    * a path to a ``.jsonl`` file (:func:`lexiq.data.jsonl.read_episodes`; errors name ``file:line``);
    * a list of :class:`Episode` or of episode dicts (errors name ``episode i`` / ``record i``);
    * a 🤗 ``datasets.Dataset`` whose rows are episode records (columns ``turns`` and optionally
      ``terminated``, ``truncated``, ``meta``; errors name ``dataset row i``). Arrow fills keys a record
      lacks with None; those are dropped before validation (so a ``meta`` value of None is not kept).
    """
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir() or path.suffix != ".jsonl":
            raise EpisodeFormatError(f"{path}: expected a .jsonl file with one episode object per line")
        return read_episodes(path)
    if isinstance(source, Episode):
        raise EpisodeFormatError("load_episodes: got one Episode; pass a list of episodes")
    if isinstance(source, dict):  # also datasets.DatasetDict
        keys = list(source.keys())
        raise EpisodeFormatError(f"load_episodes: got a {type(source).__name__} with keys {keys[:5]}; "
                                 f"pass one split (e.g. ds['train']), a list of episodes, or a .jsonl path")
    if _is_hf_dataset(source):
        episodes = [episode_from_dict(_clean_arrow_row(dict(row)), f"dataset row {i}")
                    for i, row in enumerate(source)]
        if not episodes:
            raise EpisodeFormatError("dataset: no rows (expected one episode record per row)")
        return episodes
    if isinstance(source, bytes) or not isinstance(source, Iterable):
        raise EpisodeFormatError(f"load_episodes: unsupported source {type(source).__name__}; expected a "
                                 f".jsonl path, a list of Episodes or dicts, or a datasets.Dataset")
    episodes = []
    for i, item in enumerate(source):
        if isinstance(item, Episode):
            _validate(item, f"episode {i}")
            episodes.append(item)
        else:
            episodes.append(episode_from_dict(item, f"record {i}"))
    if not episodes:
        raise EpisodeFormatError("load_episodes: no episodes (empty list)")
    return episodes


@dataclass(frozen=True)
class RewardNormalization:
    """Statistics of the z-scoring ``r' = (r − mean) / (std + eps)`` (no division when std is NaN)."""

    mean: float
    std: float
    """Unbiased (ddof = 1) standard deviation of the raw rewards; NaN for a single sample."""
    eps: float = float(np.finfo(np.float64).eps)

    def apply(self, r: float) -> float:
        c = float(r) - self.mean
        return c if math.isnan(self.std) else c / (self.std + self.eps)


def zscore_rewards(rewards: Sequence[float]) -> tuple[list[float], RewardNormalization]:
    """trlx's dataset-wide reward standardisation (module docstring): (new rewards, stats)."""
    r = np.asarray(rewards, np.float64)
    stats = RewardNormalization(float(r.mean()), float(r.std(ddof=1)) if r.size > 1 else math.nan)
    return [stats.apply(x) for x in r], stats


def _sample_turns(sample: Any, i: int, eos_token: str | None) -> list[tuple[str, str]]:
    where = f"sample {i}"
    if isinstance(sample, str):
        parts: list[str] = [sample]
        roles = [AGENT]
    elif isinstance(sample, Sequence) and not isinstance(sample, bytes):
        parts = list(sample)
        if not parts or len(parts) % 2:
            raise EpisodeFormatError(f"{where}: expected an even-length list [prompt_1, output_1, prompt_2, "
                                     f"output_2, ...], got {len(parts)} items")
        roles = [ENVIRONMENT if k % 2 == 0 else AGENT for k in range(len(parts))]
    else:
        raise EpisodeFormatError(f"{where}: expected a string or a list of strings, "
                                 f"got {type(sample).__name__}")
    out = []
    for k, (role, text) in enumerate(zip(roles, parts, strict=True)):
        if not isinstance(text, str):
            raise EpisodeFormatError(f"{where}: item {k}: expected a string, got {type(text).__name__}")
        if role == AGENT and eos_token and text.endswith(eos_token):
            text = text[: -len(eos_token)]
        if role == ENVIRONMENT and text == "":
            continue  # an empty prompt has no tokens: no environment turn
        out.append((role, text))
    return out


def from_trlx_samples(
    samples: Sequence[str | Sequence[str]],
    rewards: Sequence[float],
    normalize: Literal["zscore"] | None = None,
    eos_token: str | None = None,
) -> tuple[list[Episode], RewardNormalization | None]:
    """Convert trlx ILQL data (``samples``, one scalar reward each) to terminated Episodes.

    Returns ``(episodes, stats)``; ``stats`` is the :class:`RewardNormalization` used when
    ``normalize="zscore"``, else None. Each episode's ``meta["raw_reward"]`` keeps the un-normalised reward.
    ``eos_token``: strip it from the end of outputs that already carry it (the episode format adds its own
    ``agent_end``). Empty prompts produce no environment turn.
    """
    if len(samples) != len(rewards):
        raise EpisodeFormatError(f"from_trlx_samples: {len(samples)} samples but {len(rewards)} rewards "
                                 f"(expected one scalar reward per sample)")
    if not samples:
        raise EpisodeFormatError("from_trlx_samples: no samples")
    if normalize not in (None, "zscore"):
        raise ValueError(f"normalize must be None or 'zscore', got {normalize!r}")
    raw: list[float] = []
    for i, r in enumerate(rewards):
        if isinstance(r, bool) or not isinstance(r, int | float | np.number) or not math.isfinite(float(r)):
            raise EpisodeFormatError(f"sample {i}: expected a finite scalar reward, got {r!r}")
        raw.append(float(r))
    stats = None
    values = raw
    if normalize == "zscore":
        values, stats = zscore_rewards(raw)
    episodes = []
    for i, (sample, r) in enumerate(zip(samples, values, strict=True)):
        parts = _sample_turns(sample, i, eos_token)
        last_agent = max(k for k, (role, _) in enumerate(parts) if role == AGENT)
        turns = [Turn(ENVIRONMENT, text) if role == ENVIRONMENT
                 else Turn(AGENT, text, r if k == last_agent else 0.0)
                 for k, (role, text) in enumerate(parts)]
        episodes.append(Episode(turns, terminated=True, meta={"raw_reward": raw[i]}))
    return episodes, stats


__all__ = ["RewardNormalization", "from_trlx_samples", "load_episodes", "zscore_rewards"]
