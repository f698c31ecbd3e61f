"""The data a reward sees: one logged exchange of a chat (Jaques et al. 2019, "Way Off-Policy Batch Deep
Reinforcement Learning of Implicit Human Preferences in Dialog", arXiv 1907.00456, section on implicit rewards).

An exchange is the triple ``(u_prev, b, u_next)``: the user message the bot answered, the bot reply (the action)
and the user's reply to it (``""`` on the last row of a chat, where ``done=True``).

Reward function kinds:

- :data:`ExchangeReward` ``(Exchange) -> float``: needs one exchange only;
- :data:`ChatReward` ``(Sequence[Exchange]) -> list[float]``: needs the whole chat (rows in order) and returns one
  value per row;
- :data:`BatchReward` ``(Sequence[Exchange]) -> list[float]``: a batched implementation of an exchange reward
  (one value per exchange, rows independent of each other).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True)
class Exchange:
    """One row of a chat.

    Attributes:
        previous_user: ``u_prev``, the user message the bot answered.
        bot: ``b``, the bot reply (the action).
        next_user: ``u_next``, the user's reply to ``b``; ``""`` on the last row of the chat.
        done: ``True`` only on the last row of the chat.
        chat_id: identifier of the chat the row belongs to.
        index: position of the row in its chat (0-based).
        rating: the manual rating of the bot reply, if any (``Response Rating``).
        bot_id: which bot answered (``Chatbot ID``), if logged.
    """

    previous_user: str
    bot: str
    next_user: str
    done: bool
    chat_id: str
    index: int
    rating: float | None = None
    bot_id: str | None = None


ExchangeReward: TypeAlias = Callable[[Exchange], float]
ChatReward: TypeAlias = Callable[[Sequence[Exchange]], list[float]]
BatchReward: TypeAlias = Callable[[Sequence[Exchange]], list[float]]
RewardFn: TypeAlias = ExchangeReward | ChatReward
