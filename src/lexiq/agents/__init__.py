"""Agents that act in lexiq's non-LM environments (torch policies trained with RL, not causal LMs).

* :mod:`lexiq.agents.messenger` — EMMA policies for Messenger, PPO, behaviour cloning and Language Dynamics
  Distillation (Zhong et al., NeurIPS 2022); guide: ``docs/messenger.md``, "Agents, PPO and LDD".
"""
