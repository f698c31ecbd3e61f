"""The token-level MDP every lexiq objective trains on, built from an :class:`~lexiq.data.episode.Episode`.

This is the construction of ILQL (Snell et al. 2022, "Offline RL for Natural Language Generation with Implicit
Language Q Learning", arXiv 2206.11871; ``ilql.md`` §1.2–1.3), with explicit per-position arrays.

**Serialisation.** ``start`` (``fmt.start_agent`` if the first turn is an agent turn, else ``fmt.start_env``),
then for every turn its begin marker (``fmt.agent_start`` / ``fmt.env_start``, or the turn speaker's entry of
``fmt.speaker_markers`` for environment turns), its text and its end marker (``fmt.agent_end`` / ``fmt.env_end``
/ the speaker's), then ``fmt.episode_end`` if the episode is terminated. Begin markers are observations: the
first action of an agent turn is predicted from the state that has read ``agent_start``. Each turn's text and
each marker are tokenised **separately** with ``add_special_tokens=False``. A marker may be several tokens (a chat
template's ``"<|im_end|>\n<|im_start|>assistant\n"``), except ``agent_end``: it is the agent turn's last action
and carries the turn reward, so it must be a single token.

**Token MDP.** Let ``tok[0..L-1]`` be the tokens. Position ``j`` is a state whose hidden vector scores token
``j+1``; "action ``j``" emits ``tok[j+1]``. An agent turn whose tokens (text + ``agent_end``) sit at positions
``o .. o+n-1`` owns the actions ``o-1 .. o+n-2``; environment tokens are never actions. Per position ``j``:

* ``action_mask[j] = 1`` iff ``tok[j+1]`` is an agent token;
* ``rewards[j]``: the turn reward on the turn's **last** action (the one emitting ``agent_end``), plus
  ``token_rewards[i]`` on the action emitting the turn's i-th text token; 0 elsewhere;
* ``next_state[j] = j+1`` inside a turn; for a turn's last action, the first action position of the next agent
  turn (``o'-1``: the Bellman backup skips the environment's reply, which the state ``o'-1`` has read), or
  ``L-1`` after the last agent turn; 0 where ``j`` is not an action;
* ``next_terminal[j] = 1`` iff ``next_state[j] = L-1`` and the episode is terminated (a non-terminated episode
  bootstraps from ``V(s_{L-1})``);
* ``returns[j] = G_j = r_j + γ·G_{next_state[j]}``, with ``G = 0`` at ``L-1``: the discounted Monte-Carlo
  reward-to-go over **action positions only** (γ applies once per action token, environment tokens cost no
  discount; a truncated episode does **not** bootstrap in this return);
* ``turn_index[j]``: 0-based index of the agent turn (among the agent turns kept in the sequence) that action
  ``j`` belongs to, −1 elsewhere.

Worked example (``ilql.md`` §1.3, Wordle, character tokenizer)::

    <a> r a i s e </a> <b><y><b><b><b> </s> c o u l d </a> <g>×5 </s> </eod>
    0   1 ....  5  6    7 .......  11  12   13 ... 17  18   19..23 24   25

actions at 0..5 and 12..17; ``rewards[5] = −1``; ``next_state[5] = 12``, ``next_state[17] = 25`` with
``next_terminal[17] = 1``.

**Truncation** to ``max_length`` tokens keeps whole turns: ``"error"`` raises; ``"drop_turns"`` drops
trailing turns (never cutting an agent turn, so its reward-bearing end token is kept) and marks the episode
not terminated (it then bootstraps); ``"left"`` drops leading turns (a start marker is kept, chosen by the
first kept turn); ``"left_tokens"`` keeps the last ``max_length`` tokens, cutting inside a turn if need be (the
prompt window of Sodhi et al. 2023): actions whose state was cut are lost, every kept action keeps its reward,
return and next state.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from torch.utils.data import Dataset

from lexiq.data.episode import Episode, EpisodeFormatError, Turn

Truncation = Literal["error", "drop_turns", "left", "left_tokens"]
TRUNCATION_MODES = ("error", "drop_turns", "left", "left_tokens")
_ENCODE_CHUNK = 4096


class TokenMDPError(EpisodeFormatError):
    """An episode cannot become a token MDP (too long, bad markers, token rewards of the wrong length)."""


class UnencodableTextError(TokenMDPError):
    """A text holds a character the tokenizer cannot encode (e.g. upper case for the Wordle tokenizer)."""


# --------------------------------------------------------------------------------------------- episode format
@dataclass(frozen=True)
class EpisodeFormat:
    """The marker strings that serialise an episode. An empty string means "no marker"."""

    start_agent: str
    """First token when the episode starts with an agent turn (ILQL ``<a>``; must be non-empty then)."""
    start_env: str
    """First token when the episode starts with an environment turn (ILQL ``<s>``)."""
    agent_end: str
    """Token after every agent turn (ILQL ``</a>``): the turn's last action, it carries the turn reward."""
    env_end: str = ""
    """Token after every environment turn (ILQL ``</s>``)."""
    episode_end: str = ""
    """Token after the last turn of a terminated episode (ILQL ``</eod>``)."""
    agent_start: str = ""
    """Token before every agent turn's text (dialogue ``<_rep_start_>``): part of the observation, so a prompt for
    the next agent turn ends with it and the model never has to predict it."""
    env_start: str = ""
    """Token before every environment turn's text (dialogue ``<_cus_start_>``)."""
    speaker_markers: tuple[tuple[str, str, str], ...] = ()
    """``(speaker, start, end)`` markers that replace ``env_start`` / ``env_end`` for environment turns of that
    speaker: a logged agent reply in the context (speaker ``agent``) is rendered like an agent turn, an API
    response (speaker ``api``) with its own markers. Agent turns always use ``agent_start`` / ``agent_end``."""

    @classmethod
    def wordle(cls) -> EpisodeFormat:
        """The ILQL / Wordle markers: ``<a>``, ``<s>``, ``</a>``, ``</s>``, ``</eod>``."""
        return cls("<a>", "<s>", "</a>", "</s>", "</eod>")

    @classmethod
    def for_tokenizer(cls, tokenizer: Any) -> EpisodeFormat:
        """Markers from a tokenizer's own specials: start = bos (or eos), agent_end = eos, no env/episode end.

        For a plain chat-free LM (GPT-2) this is ``<|endoftext|> prompt reply <|endoftext|>``, trlx's layout.
        """
        eos = getattr(tokenizer, "eos_token", None)
        if not eos:
            raise TokenMDPError("EpisodeFormat.for_tokenizer: the tokenizer has no eos_token; "
                                "pass an EpisodeFormat")
        start = getattr(tokenizer, "bos_token", None) or eos
        return cls(start_agent=start, start_env=start, agent_end=eos, env_end="", episode_end="")

    @classmethod
    def dialogue(cls) -> EpisodeFormat:
        """Markers of Sodhi et al. 2023 (``dialogue_offline_rl.md`` A.2–A.3): ``<_soc_>`` opens the conversation,
        customer turns sit in ``<_cus_start_> … <_cus_end_>``, agent turns in ``<_rep_start_> … <_rep_end_>`` (so do
        the agent's replies and API calls when they are context: speakers ``agent`` and ``api_call``); API responses
        (speaker ``api``) and ABCD action rows (speaker ``action``) get markers of their own."""
        return cls("<_soc_>", "<_soc_>", "<_rep_end_>", "<_cus_end_>", "", agent_start="<_rep_start_>",
                   env_start="<_cus_start_>",
                   speaker_markers=(("agent", "<_rep_start_>", "<_rep_end_>"),
                                    ("api_call", "<_rep_start_>", "<_rep_end_>"),
                                    ("api", "<_api_start_>", "<_api_end_>"),
                                    ("action", "<_action_start_>", "<_action_end_>")))

    @classmethod
    def from_chat_template(cls, tokenizer: Any) -> EpisodeFormat:
        """Markers that reproduce ``tokenizer.apply_chat_template`` (``data.format: chat_template``).

        A probe conversation user/assistant/user/assistant with sentinel texts is rendered by the template and cut
        at the sentinels. After an assistant text comes ``agent_end`` (the tokenizer's eos, or the special token
        the template puts there; it must be one token) and then the user opening ``env_start``; between a user text
        and the next assistant text come ``env_end`` (up to and including the ``agent_end`` token if the template
        closes user turns with it too) and the assistant opening ``agent_start``; what precedes the first user
        opening (bos, a default system prompt) is the start marker. Customer, API and other environment speakers
        become user turns; logged agent replies and API calls in the context (speakers ``agent`` and ``api_call``)
        become assistant turns.

        Rendering an episode with these markers gives the template's text, except that a template which opens the
        first user turn without the separator of later ones (ChatML without a system message) gets it there too.
        Texts and markers are tokenised separately, so token boundaries next to a marker can differ from
        tokenising the rendered string in one piece; the decoded text is the same.
        """
        template = getattr(tokenizer, "chat_template", None)
        if not template:
            raise TokenMDPError("data.format=chat_template: this tokenizer has no chat_template (use "
                                "data.format=dialogue, or a model whose tokenizer_config.json has one)")
        texts = ["\x01u1\x01", "\x01a1\x01", "\x01u2\x01", "\x01a2\x01"]
        messages = [{"role": r, "content": t} for r, t in zip(("user", "assistant") * 2, texts, strict=True)]
        try:
            rendered = tokenizer.apply_chat_template(messages, tokenize=False)
        except Exception as err:  # noqa: BLE001 - template errors are jinja's own types
            raise TokenMDPError(f"data.format=chat_template: the chat template cannot render a user/assistant "
                                f"conversation: {err}") from None
        pos = [rendered.find(t) for t in texts]
        if min(pos) < 0 or pos != sorted(pos):
            raise TokenMDPError("data.format=chat_template: the chat template does not render message contents "
                                "verbatim and in order; use data.format=dialogue")
        prefix = rendered[:pos[0]]
        after_agent = rendered[pos[1] + len(texts[1]):pos[2]]
        after_user = rendered[pos[2] + len(texts[2]):pos[3]]
        eos = getattr(tokenizer, "eos_token", None) or ""
        specials = sorted({*_added_tokens(tokenizer), *getattr(tokenizer, "all_special_tokens", [])},
                          key=len, reverse=True)
        agent_end = eos if eos and after_agent.startswith(eos) else next(
            (t for t in specials if t and after_agent.startswith(t)), "")
        if not agent_end:
            raise TokenMDPError(f"data.format=chat_template: the template closes an assistant turn with "
                                f"{after_agent[:30]!r}, not with a special token; lexiq needs one token there to "
                                f"carry the turn reward")
        env_start = after_agent[len(agent_end):]
        cut = after_user.find(agent_end)
        env_end = after_user[:cut + len(agent_end)] if cut >= 0 else ""
        agent_start = after_user[len(env_end):]
        # the start marker is the prefix without the user opening (or the part of it shared with env_start)
        shared = 0
        while shared < min(len(prefix), len(env_start)) and prefix[-1 - shared] == env_start[-1 - shared]:
            shared += 1
        start = prefix[:len(prefix) - shared]
        return cls(start_agent=start, start_env=start, agent_end=agent_end, env_end=env_end, episode_end="",
                   agent_start=agent_start, env_start=env_start,
                   speaker_markers=(("agent", agent_start, agent_end), ("api_call", agent_start, agent_end)))

    @property
    def marker_tokens(self) -> list[str]:
        """Every distinct non-empty marker string (to add to a tokenizer as special tokens)."""
        names = [self.start_agent, self.start_env, self.agent_start, self.agent_end, self.env_start, self.env_end,
                 self.episode_end, *(m for _, a, b in self.speaker_markers for m in (a, b))]
        return list(dict.fromkeys(n for n in names if n))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["speaker_markers"] = [list(x) for x in self.speaker_markers]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EpisodeFormat:
        """Inverse of :meth:`to_dict` (formats saved before ``agent_start`` existed load with empty new fields)."""
        strings = ("start_agent", "start_env", "agent_end", "env_end", "episode_end", "agent_start", "env_start")
        speakers = tuple((str(a), str(b), str(c)) for a, b, c in d.get("speaker_markers", []) or [])
        return cls(**{k: str(d.get(k, "")) for k in strings}, speaker_markers=speakers)


# ------------------------------------------------------------------------------------------ checked encoding
def _added_tokens(tokenizer: Any) -> list[str]:
    get = getattr(tokenizer, "get_added_vocab", None)
    try:
        return sorted(get(), key=len, reverse=True) if get is not None else []
    except Exception:  # noqa: BLE001 - slow tokenizers without added vocab
        return []


def _raw_encode(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    out = tokenizer(texts, add_special_tokens=False)
    ids = out["input_ids"] if isinstance(out, dict) or hasattr(out, "keys") else out
    return [list(map(int, x)) for x in ids]


def _explain_unencodable(tokenizer: Any, text: str) -> str:
    """Name the first character of ``text`` (outside added tokens) that the tokenizer cannot encode."""
    added = _added_tokens(tokenizer)
    spans: list[tuple[int, int]] = []
    if added:
        spans = [m.span() for m in re.finditer("|".join(map(re.escape, added)), text)]
    unk_id = getattr(tokenizer, "unk_token_id", None)
    pos = 0
    for start, end in [*spans, (len(text), len(text))]:
        for i in range(pos, start):
            ch = text[i]
            try:
                ids = _raw_encode(tokenizer, [ch])[0]
            except Exception:  # noqa: BLE001 - the tokenizer's own error is opaque
                ids = None
            if ids is None or (unk_id is not None and unk_id in ids):
                return (f"character {ch!r} (U+{ord(ch):04X}) at offset {i} of {text[:60]!r} is not in the "
                        f"tokenizer's vocabulary")
        pos = end
    return f"text {text[:60]!r} cannot be encoded by this tokenizer"


def _unk_problem(tokenizer: Any, text: str, ids: list[int], unk_id: int) -> str | None:
    """Why ``text`` silently became the unk token, or None if it did not."""
    if unk_id in ids:
        unk = getattr(tokenizer, "unk_token", None)
        if not unk or unk not in text:
            return f"{_explain_unencodable(tokenizer, text)} (it became the unk token)"
    return None


def encode_checked(tokenizer: Any, text: str, where: str = "text") -> list[int]:
    """``tokenizer(text, add_special_tokens=False).input_ids``, but unknown characters raise an error.

    Raises :class:`UnencodableTextError` ("where: character 'X' (U+0058) at offset 3 of '...' is not in the
    tokenizer's vocabulary") when the tokenizer fails or silently maps a character to its unk token.
    """
    return _encode_many(tokenizer, [text], lambda _: where)[0]


def _encode_many(tokenizer: Any, texts: Sequence[str], where_of: Callable[[int], str]) -> list[list[int]]:
    """Checked encoding of many texts; each distinct text is tokenised once (batched)."""
    uniq: dict[str, int] = {}
    for t in texts:
        uniq.setdefault(t, len(uniq))
    keys = list(uniq)
    enc: list[list[int]] = []
    for s in range(0, len(keys), _ENCODE_CHUNK):
        chunk = keys[s:s + _ENCODE_CHUNK]
        try:
            enc.extend(_raw_encode(tokenizer, chunk))
        except Exception:  # noqa: BLE001 - locate the culprit one text at a time
            for t in chunk:
                try:
                    enc.extend(_raw_encode(tokenizer, [t]))
                except Exception as err:  # noqa: BLE001
                    i = texts.index(t)
                    why = _explain_unencodable(tokenizer, t)
                    raise UnencodableTextError(f"{where_of(i)}: {why}") from err
    unk_id = getattr(tokenizer, "unk_token_id", None)
    if unk_id is not None:
        for t, ids in zip(keys, enc, strict=True):
            why = _unk_problem(tokenizer, t, ids, unk_id)
            if why is not None:
                raise UnencodableTextError(f"{where_of(texts.index(t))}: {why}")
    return [enc[uniq[t]] for t in texts]


# --------------------------------------------------------------------------------------------- markers
@dataclass(frozen=True)
class _Markers:
    """Token ids of the markers: a tuple per marker (empty = no marker); ``agent_end`` is one id or None."""

    start_agent: tuple[int, ...]
    start_env: tuple[int, ...]
    agent_end: int | None
    env_end: tuple[int, ...]
    episode_end: tuple[int, ...]
    agent_start: tuple[int, ...]
    env_start: tuple[int, ...]
    speakers: dict[str, tuple[tuple[int, ...], tuple[int, ...]]]

    def start_for(self, first: Turn) -> tuple[int, ...]:
        """The sequence's first tokens, chosen by the first turn's role."""
        return self.start_agent if first.is_agent else self.start_env

    def begin_for(self, turn: Turn) -> tuple[int, ...]:
        """The tokens before a turn's text."""
        if turn.is_agent:
            return self.agent_start
        return self.speakers[turn.speaker][0] if turn.speaker in self.speakers else self.env_start

    def end_for(self, turn: Turn) -> tuple[int, ...]:
        """The tokens after a turn's text (for an agent turn: its last action, one token)."""
        if turn.is_agent:
            return () if self.agent_end is None else (self.agent_end,)
        return self.speakers[turn.speaker][1] if turn.speaker in self.speakers else self.env_end


def _marker_ids(tokenizer: Any, s: str, name: str) -> tuple[int, ...]:
    return () if s == "" else tuple(encode_checked(tokenizer, s, f"EpisodeFormat.{name}"))


def _marker_id(tokenizer: Any, s: str, name: str) -> int | None:
    enc = _marker_ids(tokenizer, s, name)
    if len(enc) > 1:
        raise TokenMDPError(f"EpisodeFormat.{name}={s!r} is {len(enc)} tokens {list(enc)} under this "
                            f"tokenizer; it must be a single token (add it with tokenizer.add_special_tokens)")
    return enc[0] if enc else None


def _resolve_markers(tokenizer: Any, fmt: EpisodeFormat) -> _Markers:
    names = ("start_agent", "start_env", "env_end", "episode_end", "agent_start", "env_start")
    ids = {name: _marker_ids(tokenizer, getattr(fmt, name), name) for name in names}
    speakers = {sp: (_marker_ids(tokenizer, a, f"speaker_markers[{sp}]"),
                     _marker_ids(tokenizer, b, f"speaker_markers[{sp}]")) for sp, a, b in fmt.speaker_markers}
    return _Markers(**ids, agent_end=_marker_id(tokenizer, fmt.agent_end, "agent_end"), speakers=speakers)


# --------------------------------------------------------------------------------------------- the MDP
@dataclass
class TokenMDP:
    """One episode as per-position arrays, all of length ``L`` (meaning: module docstring)."""

    input_ids: np.ndarray
    """int64[L] token ids."""
    action_mask: np.ndarray
    """float32[L] 1 iff token j+1 is an agent token (text or agent_end)."""
    rewards: np.ndarray
    """float32[L] reward of action j (turn reward on the agent_end action, token rewards on their tokens)."""
    next_state: np.ndarray
    """int64[L] position of the next state of action j (0 where j is not an action)."""
    next_terminal: np.ndarray
    """float32[L] 1 iff next_state[j] is the final state L-1 of a terminated episode."""
    returns: np.ndarray
    """float32[L] G_j = r_j + γ·G_{next_state[j]} over action positions (no bootstrap), 0 elsewhere."""
    turn_index: np.ndarray
    """int64[L] 0-based index of the agent turn (in this sequence) that action j belongs to, −1 elsewhere."""
    terminated: bool
    """Whether the final state is terminal (False for in-progress episodes and after ``drop_turns``)."""
    episode_return: float
    """Undiscounted return of the **whole** episode (``Episode.total_reward``, dropped turns included)."""
    dropped_leading_turns: int = 0
    """Turns removed from the front by ``truncation="left"``."""
    dropped_trailing_turns: int = 0
    """Turns removed from the end by ``truncation="drop_turns"``."""
    dropped_leading_tokens: int = 0
    """Tokens removed from the front by ``truncation="left_tokens"``."""
    where: str = ""
    """Name of the episode in error messages (``episode 17``, ``data.jsonl:17``)."""

    @property
    def length(self) -> int:
        """Number of tokens L."""
        return int(self.input_ids.shape[0])

    @property
    def was_truncated(self) -> bool:
        return bool(self.dropped_leading_turns or self.dropped_trailing_turns or self.dropped_leading_tokens)

    @property
    def action_positions(self) -> np.ndarray:
        """Positions j with action_mask[j] = 1, ascending."""
        return np.flatnonzero(self.action_mask > 0)

    def __len__(self) -> int:
        return self.length


def _check_args(gamma: float, max_length: int | None, truncation: str) -> None:
    if not 0.0 <= float(gamma) <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    if truncation not in TRUNCATION_MODES:
        raise ValueError(f"truncation must be one of {TRUNCATION_MODES}, got {truncation!r}")
    if max_length is not None and (isinstance(max_length, bool) or int(max_length) < 2):
        raise ValueError(f"max_length must be an integer >= 2 or None, got {max_length!r}")


def _check_episode(episode: Episode, turn_ids: list[list[int]], where: str) -> None:
    if not episode.turns:
        raise TokenMDPError(f"{where}: empty episode: it has no turns")
    if not any(t.is_agent for t in episode.turns):
        raise TokenMDPError(f"{where}: episode has no agent turn: there is nothing to learn from")
    for i, (t, ids) in enumerate(zip(episode.turns, turn_ids, strict=True)):
        if t.is_agent and t.token_rewards is not None and len(t.token_rewards) != len(ids):
            raise TokenMDPError(
                f"{where}: turn {i}: {len(t.token_rewards)} token_rewards but its text {t.text[:40]!r} is "
                f"{len(ids)} tokens under this tokenizer (expected one token reward per text token)")


def _build(episode: Episode, turn_ids: list[list[int]], m: _Markers, gamma: float, max_length: int | None,
           truncation: str, where: str) -> TokenMDP:
    turns = episode.turns
    _check_episode(episode, turn_ids, where)
    n = len(turns)
    tlen = [len(m.begin_for(t)) + len(ids) + len(m.end_for(t)) for t, ids in zip(turns, turn_ids, strict=True)]
    cum = [0, *itertools.accumulate(tlen)]

    def length(a: int, b: int, term: bool) -> int:
        return int(len(m.start_for(turns[a])) + cum[b] - cum[a] + (len(m.episode_end) if term else 0))

    a, b, term = 0, n, bool(episode.terminated)
    full = length(a, b, term)
    if max_length is not None and full > max_length:
        agents = [i for i, t in enumerate(turns) if t.is_agent]
        if truncation == "error":
            raise TokenMDPError(f"{where}: {full} tokens > max_length {max_length} (truncation='error'; use "
                                f"truncation='drop_turns' or 'left', or raise max_length)")
        if truncation == "drop_turns":
            fits = [bb for bb in range(n, agents[0], -1) if length(0, bb, False) <= max_length]
            if not fits:
                raise TokenMDPError(
                    f"{where}: cannot fit max_length {max_length} by dropping trailing turns: the sequence "
                    f"up to the end of its first agent turn (turn {agents[0]}) is "
                    f"{length(0, agents[0] + 1, False)} tokens ({full} in all)")
            b, term = fits[0], False
        elif truncation == "left":
            fits = [aa for aa in range(0, agents[-1] + 1) if length(aa, n, term) <= max_length]
            if not fits:
                raise TokenMDPError(
                    f"{where}: cannot fit max_length {max_length} by dropping leading turns: the sequence "
                    f"from its last agent turn (turn {agents[-1]}) is {length(agents[-1], n, term)} tokens "
                    f"({full} in all)")
            a = fits[0]

    seq: list[int] = list(m.start_for(turns[a]))
    # (turn index, offset of its first token, number of tokens including agent_end)
    spans: list[tuple[int, int, int]] = []
    for i in range(a, b):
        t = turns[i]
        seq.extend(m.begin_for(t))
        o = len(seq)
        seq.extend(turn_ids[i])
        seq.extend(m.end_for(t))
        if t.is_agent:
            spans.append((i, o, len(seq) - o))
    if term:
        seq.extend(m.episode_end)
    L = len(seq)

    action_mask = [0.0] * L
    rewards = [0.0] * L
    next_state = [0] * L
    next_terminal = [0.0] * L
    turn_index = [-1] * L
    for k, (i, o, n_tok) in enumerate(spans):
        if n_tok == 0:
            raise TokenMDPError(f"{where}: turn {i}: agent turn has no tokens (empty text and an empty "
                                f"EpisodeFormat.agent_end): its reward has no action to land on")
        if o == 0:
            raise TokenMDPError(f"{where}: turn {i}: the first agent token has no preceding state; set a "
                                f"non-empty EpisodeFormat.start_agent")
        first, last = o - 1, o + n_tok - 2
        action_mask[first:last + 1] = [1.0] * n_tok
        turn_index[first:last + 1] = [k] * n_tok
        next_state[first:last] = range(first + 1, last + 1)
        next_state[last] = spans[k + 1][1] - 1 if k + 1 < len(spans) else L - 1
        turn = turns[i]
        if turn.token_rewards:
            for q, tr in enumerate(turn.token_rewards):
                rewards[first + q] += float(tr)
        rewards[last] += float(turn.reward or 0.0)
    if term:
        next_terminal[spans[-1][1] + spans[-1][2] - 2] = 1.0

    # G_j = r_j + γ·G_{next_state[j]}: walking the actions backwards, next_state[j] is always the action just
    # visited (the next agent turn's first action for a turn's last action), and G = 0 after the last one.
    returns = [0.0] * L
    g = 0.0
    for _, o, n_tok in reversed(spans):
        for j in range(o + n_tok - 2, o - 2, -1):
            g = rewards[j] + gamma * g
            returns[j] = g

    mdp = TokenMDP(
        input_ids=np.asarray(seq, np.int64), action_mask=np.asarray(action_mask, np.float32),
        rewards=np.asarray(rewards, np.float32), next_state=np.asarray(next_state, np.int64),
        next_terminal=np.asarray(next_terminal, np.float32), returns=np.asarray(returns, np.float32),
        turn_index=np.asarray(turn_index, np.int64), terminated=term, episode_return=float(episode.total_reward),
        dropped_leading_turns=a, dropped_trailing_turns=n - b, where=where,
    )
    if truncation == "left_tokens" and max_length is not None and L > max_length:
        mdp = _cut_leading_tokens(mdp, L - max_length)
    return mdp


def _cut_leading_tokens(m: TokenMDP, cut: int) -> TokenMDP:
    """``m`` without its first ``cut`` positions (``truncation="left_tokens"``): every kept action keeps its reward,
    return and next state (shifted); actions whose state was cut are gone."""
    keep = slice(cut, None)
    mask = m.action_mask[keep].copy()
    if not mask.any():
        raise TokenMDPError(f"{m.where}: max_length {m.length - cut} keeps no agent token (truncation='left_tokens' "
                            "cuts from the left; the episode ends with more than max_length environment tokens)")
    next_state = np.where(mask > 0, m.next_state[keep] - cut, 0).astype(np.int64)
    return dataclasses.replace(
        m, input_ids=m.input_ids[keep].copy(), action_mask=mask, rewards=m.rewards[keep].copy(),
        next_state=next_state, next_terminal=m.next_terminal[keep].copy(), returns=m.returns[keep].copy(),
        turn_index=m.turn_index[keep].copy(), dropped_leading_tokens=cut)


def _turn_where(where: str) -> Callable[[int], str]:
    return lambda i: f"{where}: turn {i}"


def build_token_mdp(
    episode: Episode,
    tokenizer: Any,
    fmt: EpisodeFormat,
    gamma: float = 1.0,
    max_length: int | None = None,
    truncation: Truncation = "error",
    where: str = "episode 0",
) -> TokenMDP:
    """Serialise ``episode`` with ``fmt`` and build its token MDP (module docstring; ``ilql.md`` §1.3).

    ``gamma`` is the per-action-token discount of ``returns``: ``G_j = r_j + γ·G_{next_state[j]}``.
    ``max_length`` / ``truncation`` choose how an over-long episode is cut (whole turns only).
    Errors (:class:`TokenMDPError`, a :class:`~lexiq.data.episode.EpisodeFormatError`) start with ``where``.
    """
    _check_args(gamma, max_length, truncation)
    markers = _resolve_markers(tokenizer, fmt)
    turn_ids = _encode_many(tokenizer, [t.text for t in episode.turns], _turn_where(where))
    return _build(episode, turn_ids, markers, float(gamma), max_length, truncation, where)


def build_prompt(turns: Episode | Sequence[Turn], tokenizer: Any, fmt: EpisodeFormat) -> list[int]:
    """Token ids of the episode so far, ready for the model to generate the next agent turn.

    ``start`` + each turn's markers and tokens; no ``episode_end``; then ``fmt.agent_start`` if set. Without
    ``agent_start`` it ends with the start marker (no turns: ``fmt.start_agent``) or the previous turn's end
    marker (its last text token if that marker is empty).
    """
    seq_turns = list(turns.turns if isinstance(turns, Episode) else turns)
    m = _resolve_markers(tokenizer, fmt)
    out: list[int] = list(m.start_agent if not seq_turns else m.start_for(seq_turns[0]))
    turn_ids = _encode_many(tokenizer, [t.text for t in seq_turns], _turn_where("prompt"))
    for t, ids in zip(seq_turns, turn_ids, strict=True):
        out.extend(m.begin_for(t))
        out.extend(ids)
        out.extend(m.end_for(t))
    out.extend(m.agent_start)
    if not out:
        raise TokenMDPError("prompt: empty prompt (no turns, no start marker); set EpisodeFormat.start_agent")
    return out


@dataclass(eq=False)
class TokenizedDataset(Dataset):
    """A torch ``Dataset`` of :class:`TokenMDP`, tokenised once up front (each distinct text encoded once).

    Items are named ``episode {i}`` (or ``names[i]``) in errors. Collate with
    :func:`lexiq.data.collate.collate_mdp`.
    """

    episodes: Sequence[Episode]
    tokenizer: Any
    fmt: EpisodeFormat | None = None
    """Markers; default :meth:`EpisodeFormat.for_tokenizer`."""
    gamma: float = 1.0
    max_length: int | None = None
    truncation: Truncation = "error"
    names: Sequence[str] | None = None
    items: list[TokenMDP] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _check_args(self.gamma, self.max_length, self.truncation)
        if self.fmt is None:
            self.fmt = EpisodeFormat.for_tokenizer(self.tokenizer)
        markers = _resolve_markers(self.tokenizer, self.fmt)
        n_eps = len(self.episodes)
        names = list(self.names) if self.names is not None else [f"episode {i}" for i in range(n_eps)]
        if len(names) != len(self.episodes):
            raise ValueError(f"TokenizedDataset: {len(names)} names for {len(self.episodes)} episodes")
        texts: list[str] = []
        owner: list[tuple[int, int]] = []
        for e, ep in enumerate(self.episodes):
            for t, turn in enumerate(ep.turns):
                texts.append(turn.text)
                owner.append((e, t))
        flat = _encode_many(self.tokenizer, texts, lambda i: f"{names[owner[i][0]]}: turn {owner[i][1]}")
        self.items = []
        pos = 0
        for e, ep in enumerate(self.episodes):
            ids = flat[pos:pos + len(ep.turns)]
            pos += len(ep.turns)
            self.items.append(_build(ep, ids, markers, float(self.gamma), self.max_length, self.truncation,
                                     names[e]))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> TokenMDP:
        return self.items[i]

    @property
    def lengths(self) -> list[int]:
        return [it.length for it in self.items]

    @property
    def n_truncated(self) -> int:
        """How many episodes lost turns to ``drop_turns`` / ``left`` truncation."""
        return sum(it.was_truncated for it in self.items)


__all__ = [
    "EpisodeFormat",
    "TokenMDP",
    "TokenMDPError",
    "TokenizedDataset",
    "TRUNCATION_MODES",
    "Truncation",
    "UnencodableTextError",
    "build_prompt",
    "build_token_mdp",
    "encode_checked",
]
