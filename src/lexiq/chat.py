"""An interactive chat with a saved policy (``lexiq chat --checkpoint DIR``).

The loop reads one user line at a time, appends it to the conversation as an environment turn, and decodes the
policy's next agent turn from the conversation so far, exactly as :class:`lexiq.evaluation.rollout.LMPolicy` does
during rollouts (same episode format, same decoding settings, return conditioning for ``dt`` policies). The reply
is printed and appended as an agent turn (reward 0.0). ``quit`` / ``exit``, end of input or Ctrl-C end the chat;
the whole conversation comes back as one :class:`~lexiq.data.episode.Episode`.

How much of the conversation the policy sees is bounded twice: ``history`` keeps only the last N exchanges (user
line + reply) before the current line, and ``max_prompt_tokens`` keeps the last K prompt tokens. Without an
explicit K the model's own context window (its position limit minus ``decoding.max_new_tokens``) is used, so a
long chat never runs past the positions the model has.

The KL-control chat loop (``kl_control.md`` §7) keeps the last five sentences and picks among five beams with a
"priority" draw; here the policy's saved decoding settings (or ``decoding.*`` overrides) decide, and with several
returned sequences the first one (the best beam) is the reply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lexiq.data.episode import Episode, Turn

QUIT_WORDS = ("quit", "exit")
USER_PROMPT = "you> "
REPLY_PREFIX = "policy> "


def context_turns(turns: list[Turn], history: int | None) -> list[Turn]:
    """The turns of ``turns`` (alternating user line / reply, ending with the current user line) the policy sees.

    ``history`` = number of earlier exchanges kept before the current line; None keeps them all, 0 none.
    """
    if history is None:
        return list(turns)
    return list(turns[max(0, len(turns) - 1 - 2 * history):])


def context_window(model: Any, decoding: Any) -> int | None:
    """Prompt tokens that fit the model: its position limit minus ``decoding.max_new_tokens`` (None: unknown)."""
    lm = getattr(model, "lm", model)
    config = getattr(lm, "config", None)
    limit = getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None)
    if not isinstance(limit, int) or limit <= 0:
        return None
    return max(1, limit - int(decoding.max_new_tokens))


def _describe(decoding: Any) -> str:
    parts = [f"strategy={decoding.strategy}", f"beta={decoding.beta:g}", f"max_new_tokens={decoding.max_new_tokens}"]
    if decoding.strategy == "beam":
        parts.append(f"num_beams={decoding.num_beams}")
    if decoding.strategy in ("sample", "bcq"):
        parts.append(f"temperature={decoding.temperature:g}")
    return ", ".join(parts)


def chat(model: Any, tokenizer: Any, fmt: Any, decoding: Any, *, read: Callable[[str], str] = input,
         write: Callable[[str], Any] = print, history: int | None = None, max_prompt_tokens: int | None = None,
         name: str | None = None) -> Episode:
    """Chat with a policy until ``quit`` / ``exit`` (any case), end of input (``EOFError``) or Ctrl-C.

    ``read(prompt)`` returns one user line (``input`` by default); ``write(text)`` shows one line (``print``).
    Empty lines are skipped. Each user line becomes ``Turn("environment", line)``; the reply is the first of
    ``LMPolicy(model, tokenizer, fmt, decoding, max_prompt_tokens).act`` on the last ``history`` exchanges plus
    that line (the best beam when ``decoding.num_return_sequences > 1``) and becomes ``Turn("agent", reply)``.
    ``max_prompt_tokens`` None = the model's context window (:func:`context_window`). A line the tokenizer cannot
    encode is reported and dropped; the chat goes on. ``name`` (e.g. the checkpoint directory) is shown in the
    banner.

    Returns the conversation: every answered user line and its reply, in order, ``terminated=True``, with
    ``meta["chat"]`` recording the checkpoint, decoding settings and history bound.
    """
    from lexiq.data.token_mdp import UnencodableTextError
    from lexiq.evaluation.rollout import LMPolicy

    if history is not None and history < 0:
        raise ValueError(f"history {history}: expected 0 or more exchanges (None keeps them all)")
    if max_prompt_tokens is None:
        max_prompt_tokens = context_window(model, decoding)
    policy = LMPolicy(model, tokenizer, fmt, decoding, max_prompt_tokens=max_prompt_tokens)
    kept = "all earlier exchanges" if history is None else f"the last {history} exchange{'' if history == 1 else 's'}"
    write(f"lexiq chat with {name or 'a policy'} ({_describe(decoding)}; context: {kept}).")
    write("Type quit or exit to end.")
    turns: list[Turn] = []
    was_training = model.training
    model.eval()
    try:
        while True:
            try:
                line = read(USER_PROMPT)
            except EOFError:
                write("")
                break
            text = line.strip()
            if not text:
                continue
            if text.lower() in QUIT_WORDS:
                break
            user = Turn("environment", text)
            episode = Episode(context_turns([*turns, user], history), terminated=False)
            try:
                reply = policy.act([episode])[0]
            except UnencodableTextError as exc:
                write(f"(cannot encode that line, it is dropped: {str(exc).splitlines()[0]})")
                continue
            write(f"{REPLY_PREFIX}{reply}")
            turns += [user, Turn("agent", reply)]
    except KeyboardInterrupt:
        write("")
    finally:
        if was_training:
            model.train()
    meta = {"chat": {"checkpoint": name, "history": history, "max_prompt_tokens": max_prompt_tokens,
                     "decoding": _decoding_dict(decoding)}}
    return Episode(turns, terminated=True, meta=meta)


def _decoding_dict(decoding: Any) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    return asdict(decoding) if is_dataclass(decoding) else dict(vars(decoding))
