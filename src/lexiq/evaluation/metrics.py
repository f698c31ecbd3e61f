"""Summary statistics of evaluation episodes.

* mean return ± standard error: ``se = std/√N`` with the population standard deviation (as the ILQL evaluation);
* success rate: fraction of episodes flagged successful by the environment (``meta['success']``);
* LMRL-Gym normalised score (Abdulhai et al., "LMRL Gym", §5): with the data set's average return ``avg``, the
  minimum possible return ``lo`` and a maximum/expert return ``hi``::

      norm(s) = 50·(s − lo)/(avg − lo)            if s < avg
              = 50 + 50·(s − avg)/(hi − avg)       otherwise

  so 0 = minimum, 50 = data average, 100 = the expert anchor.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from lexiq.data.episode import Episode


def mean_stderr(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error (population std / √N)."""
    n = len(values)
    if n == 0:
        raise ValueError("mean_stderr: no values")
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / n
    return mean, math.sqrt(var) / math.sqrt(n)


def mean_with_stderr(values: Sequence[float]) -> dict[str, float]:
    """``{"mean", "stderr"}`` with the sample standard error s/√n (0.0 for one value): the cells of the dialogue,
    KL-control and IRL benchmarks. (:func:`mean_stderr` keeps the population form the Wordle tables use.)"""
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError("mean_with_stderr: no values")
    stderr = statistics.stdev(vals) / math.sqrt(len(vals)) if len(vals) > 1 else 0.0
    return {"mean": statistics.fmean(vals), "stderr": stderr}


def normalized_score(score: float, avg: float, hi: float, lo: float) -> float:
    """LMRL-Gym normalised score (see module docstring)."""
    if score < avg:
        return 50.0 * (score - lo) / (avg - lo) if avg != lo else 0.0
    return 50.0 + 50.0 * (score - avg) / (hi - avg) if hi != avg else 50.0


def summarize(episodes: Sequence[Episode]) -> dict[str, float]:
    """mean_return, stderr, success_rate, mean_agent_turns, n_episodes of a list of finished episodes."""
    returns = [e.total_reward for e in episodes]
    mean, se = mean_stderr(returns)
    success = [bool(e.meta.get("success", False)) for e in episodes]
    return {
        "mean_return": mean,
        "stderr": se,
        "success_rate": sum(success) / len(success),
        "mean_agent_turns": sum(len(e.agent_turns) for e in episodes) / len(episodes),
        "n_episodes": float(len(episodes)),
    }
