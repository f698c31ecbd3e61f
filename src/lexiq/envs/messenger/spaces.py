"""Gymnasium observation spaces of the Messenger environments (grids, manual sentences, text rendering).

Messenger: Hanjie et al., ICML 2021; the grid layout is that of ``ahjwang/messenger-emma`` (``specs/ldd_messenger.md``
C.6), which LDD (Zhong et al., NeurIPS 2022) predicts as its dynamics target.
"""

from __future__ import annotations

import string

from gymnasium import spaces

from lexiq.envs.messenger.engine import MessengerEngine
from lexiq.envs.messenger.entities import GRID, N_IDS

MAX_TEXT = 4096
"""Upper bound on the length of one text (a manual sentence or a rendered observation)."""


def text_charset(engine: MessengerEngine) -> str:
    """Printable ASCII plus every character of the engine's sentence pool (human sentences have a few others)."""
    chars = set(string.printable) | {c for s in engine.pool.sentences for c in s}
    return "".join(sorted(chars))


def observation_space(engine: MessengerEngine, text_obs: bool) -> spaces.Dict:
    """One game's observation: ``entities (10, 10, L)`` and ``avatar (10, 10, 1)`` id grids (int64, 0..16), the
    ``manual`` (a tuple of sentences) and, with ``text_obs``, the ``text`` rendering."""
    charset = text_charset(engine)
    parts: dict[str, spaces.Space] = {
        "entities": spaces.Box(0, N_IDS - 1, (GRID, GRID, engine.n_layers), dtype="int64"),
        "avatar": spaces.Box(0, N_IDS - 1, (GRID, GRID, 1), dtype="int64"),
        "manual": spaces.Sequence(spaces.Text(MAX_TEXT, min_length=1, charset=charset)),
    }
    if text_obs:
        parts["text"] = spaces.Text(MAX_TEXT, min_length=1, charset=charset)
    return spaces.Dict(parts)
