"""NetHack as text: the terminal screen and message rendered as a string, and a small named action vocabulary.

The NetHack Learning Environment (Küttler et al., "The NetHack Learning Environment", NeurIPS 2020, arXiv
2006.13760) exposes the 24 × 80 terminal NetHack draws (``tty_chars``: the message line on top, the map, two
status lines at the bottom) and the current message (``message``, 256 bytes). :func:`render_text` turns them into
one observation string::

    Message: <the message, or nothing>
    <the 24 terminal rows, trailing spaces removed, blank rows kept so the map keeps its shape>

:data:`ACTIONS` is the named vocabulary (the words an agent writes) and the NLE action each plays:

=================  ==========================================================
words              NLE action (key)
=================  ==========================================================
north … northwest  ``CompassDirection`` N, E, S, W, NE, SE, SW, NW (k l j h u n b y): move one square
up / down          ``MiscDirection.UP`` / ``DOWN`` (< >): climb / descend stairs
wait               ``MiscDirection.WAIT`` (.): rest one turn
search             ``Command.SEARCH`` (s): search adjacent squares
pickup             ``Command.PICKUP`` (,): pick up what lies here
eat                ``Command.EAT`` (e)
kick               ``Command.KICK`` (^D)
more               ``MiscAction.MORE`` (Enter): dismiss a --More-- prompt
escape             ``Command.ESC``: cancel a question or menu
=================  ==========================================================

:func:`parse_action` reads a reply: the first vocabulary word in it (case ignored, whole words, the longer
``northeast`` before ``north``), or None.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

ACTION_NAMES = ("north", "east", "south", "west", "northeast", "southeast", "southwest", "northwest", "up", "down",
                "wait", "search", "pickup", "eat", "kick", "more", "escape")
_WORD = re.compile(r"\b(" + "|".join(sorted(ACTION_NAMES, key=len, reverse=True)) + r")\b", re.IGNORECASE)


def nle_actions() -> tuple[Any, ...]:
    """The NLE action of each of :data:`ACTION_NAMES`, in order (needs the ``nle`` package)."""
    from nle.nethack.actions import Command, CompassDirection, MiscAction, MiscDirection

    c = CompassDirection
    return (c.N, c.E, c.S, c.W, c.NE, c.SE, c.SW, c.NW, MiscDirection.UP, MiscDirection.DOWN, MiscDirection.WAIT,
            Command.SEARCH, Command.PICKUP, Command.EAT, Command.KICK, MiscAction.MORE, Command.ESC)


def parse_action(text: str) -> int | None:
    """Index in :data:`ACTION_NAMES` of the first vocabulary word in ``text``, or None."""
    match = _WORD.search(text)
    return ACTION_NAMES.index(match.group(1).lower()) if match else None


def _decode(row: np.ndarray) -> str:
    return bytes(np.asarray(row, dtype=np.uint8)).decode("latin-1")


def message_text(message: np.ndarray) -> str:
    """The NUL-terminated ``message`` observation as a string."""
    return _decode(message).split("\0", 1)[0].strip()


def screen_text(tty_chars: np.ndarray) -> str:
    """The terminal rows of ``tty_chars`` ([rows, cols] bytes), right-stripped, joined by newlines."""
    return "\n".join(_decode(row).rstrip() for row in tty_chars)


def render_text(obs: dict[str, Any]) -> str:
    """The observation string of an NLE observation dict (module docstring): message line, then the screen."""
    return f"Message: {message_text(obs['message'])}\n{screen_text(obs['tty_chars'])}"
