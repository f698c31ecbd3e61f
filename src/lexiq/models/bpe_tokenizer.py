"""A byte-level BPE tokenizer trained on a task's own text, for models trained from scratch on it.

The byte tokenizer (:mod:`lexiq.models.byte_tokenizer`) makes generated game text about four times longer than
words; a from-scratch model then spends its few CPU steps on spelling. Training byte-pair merges (Sennrich et al.,
"Neural Machine Translation of Rare Words with Subword Units", ACL 2016) on the training episodes' text gives a
small vocabulary in which a game's words and object names are one or a few tokens, while the 256 byte symbols
(GPT-2's byte-level alphabet, Radford et al. 2019) stay in the vocabulary: any text still encodes, unseen words
fall back to pieces and bytes, and nothing is ever unknown. Special tokens: ``<|pad|>`` and ``<|endoftext|>``
(bos = eos), as the byte tokenizer. The result is a plain ``PreTrainedTokenizerFast``; save it with
``save_pretrained(dir)`` and name ``dir`` as ``model.tokenizer``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lexiq.models.byte_tokenizer import EOS, PAD


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int = 2048, min_frequency: int = 2) -> Any:
    """A byte-level BPE tokenizer with at most ``vocab_size`` tokens learned from ``texts`` (module docstring)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if vocab_size < 258:
        raise ValueError(f"vocab_size={vocab_size}: expected at least 258 (256 bytes and 2 special tokens)")
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[PAD, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tk.train_from_iterator(list(texts), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tk, pad_token=PAD, eos_token=EOS, bos_token=EOS,
                                   clean_up_tokenization_spaces=False)
