"""Built-in template manuals: Messenger manuals without any data file.

The human-written sentence pools of Messenger (Hanjie et al., ICML 2021) are the faithful choice; these templates
stand in for them where no data folder exists (tests, quick experiments) and are used only when asked for
(``manual="template"``, or ``manual="auto"`` with a warning). They have the same structure as the human pools,
``{entity: {role: {type: [sentences]}}}``, so the same sampling rules apply; each split (train / val / test) has
its own phrases, so no test sentence occurs in training, as with the human pools.
"""

from __future__ import annotations

from functools import lru_cache

from lexiq.envs.messenger.entities import ENTITY_NAMES, ROLES, TYPES

_ROLE_PHRASES = {
    "train": {"enemy": ("is the enemy", "is a deadly opponent"),
              "message": ("has the message", "carries the secret message"),
              "goal": ("is the goal", "is where the message must go")},
    "val": {"enemy": ("is a dangerous foe", "wants to hurt you"),
            "message": ("holds an important note", "is the courier with the letter"),
            "goal": ("is the destination", "is the one waiting for the note")},
    "test": {"enemy": ("is hostile and lethal", "will kill you on contact"),
             "message": ("keeps the classified papers", "is the bearer of the key document"),
             "goal": ("is the receiver", "is the target you must reach with the papers")},
}
_MOVE_PHRASES = {
    "train": {"chaser": ("it chases you", "it moves toward you"),
              "fleeing": ("it runs away from you", "it flees from you"),
              "immovable": ("it never moves", "it stays where it is")},
    "val": {"chaser": ("it comes after you", "it follows you around"),
            "fleeing": ("it avoids you", "it keeps its distance from you"),
            "immovable": ("it is stationary", "it does not budge")},
    "test": {"chaser": ("it pursues you", "it hunts you down"),
             "fleeing": ("it escapes from you", "it retreats when you approach"),
             "immovable": ("it is fixed in place", "it remains still")},
}


@lru_cache(maxsize=3)
def template_pool(text_split: str) -> dict[str, dict[str, dict[str, list[str]]]]:
    """Template sentences for every entity, role and type of ``text_split`` (``train``, ``val`` or ``test``)."""
    if text_split not in _ROLE_PHRASES:
        raise ValueError(f"unknown manual pool {text_split!r}; expected one of {', '.join(_ROLE_PHRASES)}")
    roles, moves = _ROLE_PHRASES[text_split], _MOVE_PHRASES[text_split]
    pool: dict[str, dict[str, dict[str, list[str]]]] = {}
    for name in ENTITY_NAMES.values():
        pool[name] = {}
        for role in ROLES:
            pool[name][role] = {typ: [f"the {name} {r} and {m}." for r in roles[role] for m in moves[typ]]
                                for typ in TYPES if typ != "unknown"}
            pool[name][role]["unknown"] = [f"the {name} {r}." for r in roles[role]]
    return pool
