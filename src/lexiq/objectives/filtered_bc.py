"""Filtered behaviour cloning (%BC): behaviour cloning on the best episodes only.

    D' = top ⌈f·|D|⌉ episodes of D by return  (or {e ∈ D : R(e) ≥ threshold})
    L  = L_BC on D'

Ties are broken by the original order (stable sort), so the selection is deterministic.
``sort_by: length`` keeps the shortest episodes instead (the ILQL paper's %BC on Wordle tweets).

References: Snell et al., arXiv 2206.11871 (%BC baseline); Abdulhai et al., "LMRL Gym" (filtered BC keeps the
top 10/30/50 % by return).

Logged metrics: those of BC; the number of kept episodes and the return cut-off are written to the run's
``results.json`` (``train_episodes``, ``return_cutoff``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from lexiq.data.episode import Episode
from lexiq.objectives.bc import BC, BCConfig


class FilterError(ValueError):
    """The filter would keep no episode."""


@dataclass
class FilteredBCConfig(BCConfig):
    """Which episodes to keep."""

    top_fraction: float | None = 0.3
    """Keep this fraction of episodes with the highest return (ignored when return_threshold is set)."""
    return_threshold: float | None = None
    """Keep episodes whose return is at least this value."""
    sort_by: Literal["return", "length"] = "return"
    """'return' (highest first) or 'length' (fewest agent turns first)."""


class FilteredBC(BC):
    """BC on the top fraction of episodes by return (or above a return threshold)."""

    name = "filtered_bc"
    config_class = FilteredBCConfig

    def prepare_episodes(self, episodes: list[Episode]) -> list[Episode]:
        cfg: FilteredBCConfig = self.config
        if cfg.return_threshold is not None:
            kept = [e for e in episodes if e.total_reward >= cfg.return_threshold]
            if not kept:
                raise FilterError(f"filtered_bc: no episode has return >= {cfg.return_threshold}")
            self.cutoff = cfg.return_threshold
            return kept
        frac = cfg.top_fraction if cfg.top_fraction is not None else 1.0
        if not 0.0 < frac <= 1.0:
            raise FilterError(f"filtered_bc: top_fraction must be in (0, 1], got {frac}")
        if cfg.sort_by == "length":
            order = sorted(range(len(episodes)), key=lambda i: len(episodes[i].agent_turns))
        else:
            order = sorted(range(len(episodes)), key=lambda i: -episodes[i].total_reward)
        keep = max(1, math.ceil(frac * len(episodes)))
        chosen = sorted(order[:keep])
        self.cutoff = min(episodes[i].total_reward for i in chosen)
        return [episodes[i] for i in chosen]

    def prepare_validation(self, episodes: list[Episode]) -> list[Episode]:
        """The held-out episodes at or above the training cut-off: the loss of the replies the method imitates."""
        cutoff = getattr(self, "cutoff", None)
        kept = [e for e in episodes if cutoff is None or e.total_reward >= cutoff]
        if not kept:
            raise FilterError(f"filtered_bc: no validation episode has return >= {cutoff} (the training cut-off)")
        return kept
