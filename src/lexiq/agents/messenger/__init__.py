"""EMMA agents for Messenger, PPO, behaviour cloning and Language Dynamics Distillation.

Zhong et al., "Improving Policy Learning via Language Dynamics Distillation" (NeurIPS 2022) on the Messenger
game of Hanjie et al. (ICML 2021); spec ``specs/ldd_messenger.md`` Part A and C.9 / C.12, guide
``docs/messenger.md`` ("Agents, PPO and LDD"). Modules, one job each:

* ``text_encoder`` (sentence table, learned word embeddings or cached MiniLM token states),
  ``history`` (the 3-frame window), ``emma`` (:class:`Emma`, the policy);
* ``demos`` (expert demonstrations to ``.npz``), ``dynamics`` (the next-frame teacher),
  ``ppo`` (PPO + the distillation term), ``bc`` (behaviour cloning), ``evaluate`` (held-out win rate),
  ``runlog`` (run directories).
"""

from __future__ import annotations

from lexiq.agents.messenger.bc import BCConfig, train_bc
from lexiq.agents.messenger.demos import Demos, load_demos, record_demos, save_demos
from lexiq.agents.messenger.dynamics import DynamicsConfig, DynamicsModel, load_teacher, train_dynamics
from lexiq.agents.messenger.emma import Emma, EmmaConfig, load_emma, save_emma
from lexiq.agents.messenger.evaluate import evaluate
from lexiq.agents.messenger.history import FrameHistory, frame
from lexiq.agents.messenger.ppo import PPOConfig, ppo_loss, train_ppo
from lexiq.agents.messenger.text_encoder import SentenceTable, messenger_table

__all__ = [
    "BCConfig", "Demos", "DynamicsConfig", "DynamicsModel", "Emma", "EmmaConfig", "FrameHistory", "PPOConfig",
    "SentenceTable", "evaluate", "frame", "load_demos", "load_emma", "load_teacher", "messenger_table",
    "ppo_loss", "record_demos", "save_demos", "save_emma", "train_bc", "train_dynamics", "train_ppo",
]
