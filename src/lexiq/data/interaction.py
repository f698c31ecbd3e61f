"""Logged chat interactions (one row per exchange) as batch-RL transitions and as lexiq episodes.

The format of Jaques et al. 2019, "Way Off-Policy Batch Deep Reinforcement Learning of Implicit Human Preferences
in Dialog" (arXiv 1907.00456; ``specs/kl_control.md`` §1): a CSV with one row per exchange on a web chat. Columns
used: ``Chat ID``, ``Datetime``, ``Message`` (the user's input), ``Response`` (the bot's reply to it: the action),
and optionally ``Study Key``, ``Chatbot ID`` and ``Response Rating`` (a manual up/down vote).

Per chat, rows sorted by ``Datetime`` (a missing response counts as ""), with ``a_i`` = the response without
emojis and leading whitespace and ``context = [m_0, a_0, m_1, a_1, …, m_{n−1}, a_{n−1}, ""]``:

    state_i      = context[: 1 + 2i][−(H − 2):]      (ends with the user message m_i)
    next_state_i = context[: 3 + 2i][−H:]            (ends with the next user message m_{i+1}, "" on the last row)
    done_i       = 1 on the chat's last row only

``H`` is the history length (10 in the upstream reward script). :func:`chat_episode` turns one chat into a lexiq
episode (user messages = environment turns, bot replies = agent turns carrying the exchange's reward), and
:func:`episode_chat` goes the other way, so any lexiq dialogue data set (Taskmaster, ABCD, …) can be scored with
the same implicit rewards.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import re
from datetime import datetime
from pathlib import Path

from lexiq.data.episode import AGENT, ENVIRONMENT, Episode, EpisodeFormatError, Turn
from lexiq.rewards.exchange import Exchange

REQUIRED_COLUMNS = ("Chat ID", "Datetime", "Message", "Response")

# emoji, pictographs, dingbats, symbols, regional indicators, ZWJ and variation selectors
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\U00002600-\U000027BF\U00002300-\U000023FF\U00002B00-\U00002BFF"
                    "\U0001F1E6-\U0001F1FF\u200d\ufe0e\ufe0f\u20e3\u3030\u303d\u3297\u3299]")


def strip_emojis(text: str) -> str:
    """``text`` without emojis (and ZWJ / variation selectors), leading whitespace removed: an action as the
    upstream code stores it."""
    return _EMOJI.sub("", text).lstrip()


@dataclasses.dataclass(frozen=True)
class Transition:
    """The batch-RL row of one exchange (``specs/kl_control.md`` §1.2)."""

    state: list[str]
    action: str
    next_state: list[str]
    done: bool


def _parse_time(value: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise EpisodeFormatError(f"{where}: Datetime {value!r} is not an ISO date-time "
                                 "(expected e.g. 2019-03-01 12:30:05)") from None


def _rating(value: str | None, where: str) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise EpisodeFormatError(f"{where}: Response Rating {value!r} is not a number") from None


def read_interaction_csv(path: str | os.PathLike, study_key: str | None = None,
                         exclude_bots: tuple[str, ...] = ()) -> list[list[Exchange]]:
    """The chats of an interaction CSV, each a list of exchanges in time order (chats in order of first
    appearance). ``study_key`` keeps only rows of that ``Study Key``; ``exclude_bots`` drops rows of those
    ``Chatbot ID`` values. A missing column or an unreadable cell raises :class:`EpisodeFormatError` naming the
    file and row."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise EpisodeFormatError(f"{path}: missing column(s) {', '.join(missing)}; expected at least "
                                     f"{', '.join(REQUIRED_COLUMNS)}")
        if study_key is not None and "Study Key" not in (reader.fieldnames or []):
            raise EpisodeFormatError(f"{path}: study_key={study_key!r} given but the file has no Study Key column")
        rows: dict[str, list[tuple[datetime, int, dict[str, str]]]] = {}
        for line, row in enumerate(reader, start=2):
            where = f"{path}:{line}"
            if study_key is not None and row.get("Study Key") != study_key:
                continue
            if row.get("Chatbot ID") in exclude_bots:
                continue
            chat = (row.get("Chat ID") or "").strip()
            if not chat:
                raise EpisodeFormatError(f"{where}: empty Chat ID")
            rows.setdefault(chat, []).append((_parse_time(row.get("Datetime") or "", where), line, row))
    chats: list[list[Exchange]] = []
    for chat, items in rows.items():
        items.sort(key=lambda x: (x[0], x[1]))
        exchanges = []
        for i, (_, line, row) in enumerate(items):
            last = i == len(items) - 1
            exchanges.append(Exchange(
                chat_id=chat, index=i, previous_user=row.get("Message") or "",
                bot=strip_emojis(row.get("Response") or ""),
                next_user="" if last else (items[i + 1][2].get("Message") or ""), done=last,
                rating=_rating(row.get("Response Rating"), f"{path}:{line}"), bot_id=row.get("Chatbot ID")))
        chats.append(exchanges)
    return chats


def transitions(chat: list[Exchange], history: int = 10) -> list[Transition]:
    """The (state, action, next state, done) rows of one chat with history length ``history`` (module
    docstring)."""
    if history < 3:
        raise ValueError(f"transitions: history={history}, expected at least 3 (state keeps history − 2 sentences)")
    context: list[str] = []
    for ex in chat:
        context += [ex.previous_user, ex.bot]
    context.append("")
    out = []
    for i, ex in enumerate(chat):
        out.append(Transition(state=context[: 1 + 2 * i][-(history - 2):], action=ex.bot,
                              next_state=context[: 3 + 2 * i][-history:], done=ex.done))
    return out


def chat_episode(chat: list[Exchange], rewards: list[float] | None = None, drop_empty: bool = True) -> Episode:
    """One chat as a lexiq episode: each user message an environment turn (speaker ``user``), each bot reply an
    agent turn (speaker ``agent``) with ``rewards[i]`` (0.0 when not given). The episode is terminated: the chat
    ended. ``drop_empty`` skips exchanges whose reply is empty (the upstream code drops those rows)."""
    if rewards is not None and len(rewards) != len(chat):
        raise ValueError(f"chat_episode: {len(rewards)} rewards for {len(chat)} exchanges")
    turns: list[Turn] = []
    for i, ex in enumerate(chat):
        if drop_empty and not ex.bot.strip():
            continue
        if ex.previous_user:
            turns.append(Turn(ENVIRONMENT, ex.previous_user, speaker="user"))
        turns.append(Turn(AGENT, ex.bot, 0.0 if rewards is None else float(rewards[i]), speaker="agent"))
    chat_id = chat[0].chat_id if chat else ""
    return Episode(turns, terminated=True, meta={"chat_id": chat_id})


def episode_chat(episode: Episode, chat_id: str | None = None) -> list[Exchange]:
    """The exchanges of a dialogue episode: every agent turn with the environment turn just before it (the user
    message, "" if none) and the first environment turn after it (the user's reply, "" if none). Agent turns
    whose ``speaker`` is ``api_call`` and environment turns spoken by ``api`` are skipped (tool traffic, not
    conversation)."""
    cid = chat_id if chat_id is not None else str(episode.meta.get("conversation_id", episode.meta.get("chat_id", "")))
    turns = [t for t in episode.turns if t.speaker not in ("api_call", "api")]
    out: list[Exchange] = []
    for i, t in enumerate(turns):
        if t.role != AGENT:
            continue
        before = turns[i - 1].text if i > 0 and turns[i - 1].role == ENVIRONMENT else ""
        after = next((u.text for u in turns[i + 1:] if u.role == ENVIRONMENT), "")
        out.append(Exchange(chat_id=cid, index=len(out), previous_user=before, bot=t.text, next_user=after,
                            done=False))
    if out:
        out[-1] = dataclasses.replace(out[-1], done=True)
    return out
