"""NetHack through the NetHack Learning Environment (Küttler et al. 2020) as a lexiq text environment.

``text`` (screen + message rendering, the named action vocabulary), ``env`` (:class:`NetHackTextEnv`) and
``record`` (roll a policy, e.g. uniform over the vocabulary, and write episode JSONL for offline learning).
Needs the optional extra ``pip install 'lexiq[nethack]'`` (``nle``). See ``docs/textworld_nethack.md``.
"""

from __future__ import annotations

from lexiq.envs.nethack.env import TASKS, NetHackTextEnv, require_nle
from lexiq.envs.nethack.record import RandomWordPolicy, record_episodes, write_nethack_episodes
from lexiq.envs.nethack.text import ACTION_NAMES, message_text, parse_action, render_text, screen_text

__all__ = ["ACTION_NAMES", "TASKS", "NetHackTextEnv", "RandomWordPolicy", "message_text", "parse_action",
           "record_episodes", "render_text", "require_nle", "screen_text", "write_nethack_episodes"]
