"""Training objectives: one file per method, registered by name in :data:`OBJECTIVES`."""

from __future__ import annotations

from lexiq.objectives.base import Objective, ObjectiveConfig
from lexiq.objectives.bc import BC, BCConfig
from lexiq.objectives.dt import DecisionTransformer, DTConfig
from lexiq.objectives.filtered_bc import FilteredBC, FilteredBCConfig
from lexiq.objectives.ilql import ILQL, ILQLConfig
from lexiq.objectives.iq_learn import IQLearn, IQLearnConfig
from lexiq.objectives.kl_q import KLQ, KLQConfig
from lexiq.objectives.mc_returns import MCReturns, MCReturnsConfig
from lexiq.objectives.reward_model import RewardModelConfig, RewardModelObjective

OBJECTIVES: dict[str, type[Objective]] = {
    cls.name: cls for cls in (BC, FilteredBC, MCReturns, ILQL, DecisionTransformer, RewardModelObjective, KLQ,
                                 IQLearn)}


class UnknownObjectiveError(ValueError):
    """The objective name is not registered."""


def get_objective(name: str) -> type[Objective]:
    """The objective class called ``name`` (one-line error listing the known names otherwise)."""
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise UnknownObjectiveError(
            f"unknown objective {name!r}; expected one of: {', '.join(sorted(OBJECTIVES))}") from None


__all__ = ["OBJECTIVES", "Objective", "ObjectiveConfig", "get_objective", "UnknownObjectiveError", "BC", "BCConfig",
           "FilteredBC", "FilteredBCConfig", "ILQL", "ILQLConfig", "MCReturns", "MCReturnsConfig",
           "RewardModelObjective", "RewardModelConfig", "DecisionTransformer", "DTConfig", "KLQ", "KLQConfig",
           "IQLearn", "IQLearnConfig"]
