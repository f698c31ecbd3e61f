"""Character-level tokenizers as plain Hugging Face fast tokenizers (no custom code needed to load them).

The Wordle tokenizer of the ILQL paper (Snell et al. 2022, arXiv 2206.11871; ``wordle.md`` §5.2) has 35 tokens
with this exact id order::

    a..z = 0..25, <g>=26, <b>=27, <y>=28, <|pad|>=29, </a>=30, </s>=31, <s>=32, <a>=33, </eod>=34

Encoding locates every special-token string, then emits one id per remaining character; decoding concatenates
the token strings. It is built with the ``tokenizers`` library (a WordLevel model over single characters, the
multi-character tokens as added tokens, a ``Fuse`` decoder) and wrapped in a ``PreTrainedTokenizerFast``, so
``save_pretrained(dir)`` + ``AutoTokenizer.from_pretrained(dir)`` round-trip with no lexiq code.

A character outside the vocabulary cannot be encoded: the raw tokenizer raises an opaque error; use
:func:`encode_checked`, which names the character and its offset (the token-MDP builder always does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lexiq.data.token_mdp import UnencodableTextError, encode_checked

WORDLE_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
WORDLE_COLOURS = ("<g>", "<b>", "<y>")
"""Feedback tokens: green (right letter, right place), black/grey (letter absent), yellow (elsewhere)."""
WORDLE_CONTROL = ("<|pad|>", "</a>", "</s>", "<s>", "<a>", "</eod>")
"""pad, end of agent turn (eoa), end of environment turn (eos), start (bos), start of agent (boa), end of
dialogue (eod)."""
WORDLE_SPECIALS = WORDLE_COLOURS + WORDLE_CONTROL


def char_tokenizer(
    alphabet: str | Sequence[str],
    specials: Sequence[str] = (),
    *,
    special: Sequence[str] | None = None,
    pad_token: str | None = None,
    eos_token: str | None = None,
    bos_token: str | None = None,
    unk_token: str | None = None,
) -> Any:
    """A ``PreTrainedTokenizerFast`` with ids ``alphabet[0..n-1] = 0..n-1`` then ``specials`` in order.

    ``alphabet`` holds single characters; ``specials`` are multi-character tokens matched before splitting
    into characters. ``special`` lists which of them are *special* (dropped by
    ``decode(skip_special_tokens=True)``); default: all of them. ``unk_token`` (one of the specials) maps
    unknown characters to it; by default unknown characters raise an error instead.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = list(alphabet)
    bad = [c for c in chars if len(c) != 1]
    if bad:
        raise ValueError(f"char_tokenizer: alphabet entries must be single characters, got {bad[:5]}")
    vocab: dict[str, int] = {}
    for tok in [*chars, *specials]:
        if tok in vocab:
            raise ValueError(f"char_tokenizer: duplicate token {tok!r}")
        vocab[tok] = len(vocab)
    for name, tok in (("pad", pad_token), ("eos", eos_token), ("bos", bos_token), ("unk", unk_token)):
        if tok is not None and tok not in vocab:
            raise ValueError(f"char_tokenizer: {name}_token {tok!r} is not in the vocabulary")
    special_set = set(specials if special is None else special)
    model = models.WordLevel(vocab=vocab, unk_token=unk_token)
    tk = Tokenizer(model)
    tk.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")  # one piece per character
    tk.decoder = decoders.Fuse()  # concatenate token strings, no spaces
    if not special_set <= set(specials):
        extra = sorted(special_set - set(specials))
        raise ValueError(f"char_tokenizer: special {extra} not among the specials")
    tk.add_tokens([AddedToken(s, special=False, normalized=False) for s in specials
                   if s not in special_set and len(s) > 1])
    tk.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials
                           if s in special_set])
    kwargs = {k: v for k, v in (("pad_token", pad_token), ("eos_token", eos_token), ("bos_token", bos_token),
                                ("unk_token", unk_token)) if v is not None}
    return PreTrainedTokenizerFast(tokenizer_object=tk, clean_up_tokenization_spaces=False, **kwargs)


def wordle_char_tokenizer() -> Any:
    """The 35-token Wordle character tokenizer (ids in the module docstring).

    pad = ``<|pad|>`` (29), eos = ``</a>`` (30; generation stops at the end of an agent turn),
    bos = ``<s>`` (32). The colour tokens ``<g> <b> <y>`` are ordinary added tokens (kept by
    ``skip_special_tokens``); the six control tokens are special. Pair it with
    :meth:`lexiq.data.token_mdp.EpisodeFormat.wordle`.
    """
    return char_tokenizer(
        WORDLE_ALPHABET, WORDLE_SPECIALS, special=WORDLE_CONTROL,
        pad_token="<|pad|>", eos_token="</a>", bos_token="<s>",
    )


__all__ = [
    "UnencodableTextError",
    "WORDLE_ALPHABET",
    "WORDLE_COLOURS",
    "WORDLE_CONTROL",
    "WORDLE_SPECIALS",
    "char_tokenizer",
    "encode_checked",
    "wordle_char_tokenizer",
]
