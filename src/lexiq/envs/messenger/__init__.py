"""Messenger (Hanjie, Zhong & Narasimhan, ICML 2021), stages 1-3, as used by LDD (Zhong et al., NeurIPS 2022).

Rules: ``specs/ldd_messenger.md`` Part C; user guide: ``docs/messenger.md``. Modules:

* ``entities`` (ids, roles, movement types, actions), ``games`` (splits, variants, layouts, built-in games),
  ``data`` (finding and reading ``games.json`` / ``texts/``), ``templates`` (data-free manuals),
  ``manuals`` (drawing manuals), ``rng`` (counter-based randomness), ``physics`` (one tick),
  ``engine`` (:class:`MessengerEngine`, N games in NumPy);
* ``env`` (:class:`MessengerEnv`, Gymnasium), ``vector`` (:class:`MessengerVectorEnv`, Gymnasium vector env),
  ``text`` (:func:`describe`, :class:`MessengerTextEnv`, a lexiq text environment);
* ``expert`` (:class:`MessengerExpert`, a scripted planner on the true state; :func:`evaluate_expert`).
"""

from __future__ import annotations

from lexiq.envs.messenger.engine import MessengerEngine, StepResult
from lexiq.envs.messenger.entities import ACTION_NAMES, ENTITY_NAMES, NAME_TO_ID
from lexiq.envs.messenger.env import MessengerEnv
from lexiq.envs.messenger.expert import ExpertTextPolicy, MessengerExpert, evaluate_expert
from lexiq.envs.messenger.games import DEFAULT_MAX_STEPS, SPLITS, STAGES
from lexiq.envs.messenger.text import MessengerTextEnv, describe, parse_action
from lexiq.envs.messenger.vector import MessengerVectorEnv

__all__ = [
    "ACTION_NAMES", "DEFAULT_MAX_STEPS", "ENTITY_NAMES", "NAME_TO_ID", "SPLITS", "STAGES", "ExpertTextPolicy",
    "MessengerEngine", "MessengerEnv", "MessengerExpert", "MessengerTextEnv", "MessengerVectorEnv", "StepResult",
    "describe", "evaluate_expert", "parse_action",
]
