"""Counter-based random numbers, so that every game of a batch has its own reproducible stream.

Each game ``i`` has a 64-bit key derived from its seed. Uniform number ``j`` drawn at step ``t`` of the game's
``e``-th episode is a pure function ``hash(key_i, e, t, j)`` (the SplitMix64 finaliser of Steele, Lea & Flood,
"Fast Splittable Pseudorandom Number Generators", OOPSLA 2014, applied twice). Nothing depends on how many games
are stepped together or in which order, which is what makes a game of :class:`MessengerVectorEnv` seeded ``s``
replay exactly like :class:`MessengerEnv` seeded ``s``, and it costs a handful of NumPy operations per step.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_EPISODE_SHIFT = np.uint64(32)
_STEP_SHIFT = np.uint64(8)
SLOTS_PER_STEP = 256
"""Distinct uniforms available per (episode, step); callers split them into fixed ranges."""


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x ^ (x >> _S30)
    x = x * _M1
    x = x ^ (x >> _S27)
    x = x * _M2
    return x ^ (x >> _S31)


def seed_keys(seeds: np.ndarray, salt: int = 0) -> np.ndarray:
    """64-bit stream keys from integer seeds (any int64 values); ``salt`` separates families of streams (the
    engine uses the stage and split, so one seed does not replay the same layouts in every split)."""
    base = _mix(np.asarray(seeds, dtype=np.int64).astype(np.uint64) + _GOLDEN)
    return _mix(base ^ _mix(np.full(base.shape, salt, dtype=np.uint64) * _GOLDEN + _M1))


def uniforms(keys: np.ndarray, episodes: np.ndarray, steps: np.ndarray, first: int, count: int) -> np.ndarray:
    """``(n, count)`` uniforms in [0, 1): slots ``first .. first+count-1`` of step ``steps[i]`` of episode
    ``episodes[i]`` of game key ``keys[i]``."""
    if first < 0 or first + count > SLOTS_PER_STEP:
        raise ValueError(f"slots {first}..{first + count - 1} outside 0..{SLOTS_PER_STEP - 1}")
    base = ((episodes.astype(np.uint64) << _EPISODE_SHIFT) + (steps.astype(np.uint64) << _STEP_SHIFT)
            + np.uint64(first))
    counters = base[:, None] + np.arange(count, dtype=np.uint64)[None, :]
    z = _mix(_mix(counters * _GOLDEN + keys[:, None]) ^ keys[:, None])
    return (z >> _S11).astype(np.float64) * (1.0 / 9007199254740992.0)


def choose(u: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    """Uniform index in ``0 .. n-1`` from a uniform ``u`` (``n`` may be an array)."""
    return np.minimum((u * n).astype(np.int64), np.asarray(n, dtype=np.int64) - 1)


def permutation(u: np.ndarray) -> np.ndarray:
    """One uniformly random permutation per row from ``(n, k)`` uniforms (argsort of i.i.d. keys)."""
    return np.argsort(u, axis=1, kind="stable")
