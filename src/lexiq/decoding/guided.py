"""Q-guided decoding (ILQL policy extraction) through Hugging Face ``generate`` and its KV cache.

The extracted policy perturbs the behaviour policy π_β (the LM head) with the learned advantage::

    π(a|s) ∝ π_β(a|s) · exp(β·(Q̄(s,a) − V(s)))      Q̄ = min_i Q̄_i (target heads) or min_i Q_i (online)

Snell et al., "Offline RL for Natural Language Generation with Implicit Language Q Learning" (ILQL,
arXiv 2206.11871); ``specs/ilql.md`` §7 (original ``IQL_Policy``, trlx, LMRL, recommended contract §7.4).

Exact order per generation step (``ℓ`` = the scores Hugging Face hands to logits processors: raw logits for
greedy and sampling, ``log_softmax`` of the logits for beam search, a per-row constant away from them)::

    1. filter_order == "before":  ℓ ← top_p(top_k(ℓ / temperature))                  (original ILQL)
    2. A = β·(Q̄ − V)                                   if exp_adv
       A = log(β·1[Q̄−V>0] + (1−β)·1[Q̄−V≤0])           otherwise
    3. A ← min(A, adv_clip)                             if adv_clip is not None (0.0 = only penalise)
    4. s = ℓ + A
    5. filter_order == "after":   s ← top_p(top_k(s / temperature))                   (trlx, LMRL)
    6. beam search only:          s ← log_softmax(s)   (beam score = Σ log π(a|s), as the original beam_raw)
    7. greedy: argmax s; sample: a ~ softmax(s); beam: Hugging Face beam search over running score + s.

Filters (temperature, top-k, top-p, each off at 1.0 / 0 / 1.0) are Hugging Face's own warpers applied at the
chosen point; they act on greedy and beam search too (a "before" top-k restricts the argmax to π_β's top k).
V(s) is the same for every token of a row, so when it cancels (``exp_adv`` and no ``adv_clip``) it is not
evaluated: the scores then differ from ℓ + β(Q̄ − V) by a per-row constant, which changes neither the argmax,
the softmax nor (after step 6) the beam scores. ``beta == 0`` is the plain policy: no heads are evaluated.

How the advantage is computed without re-running the model: a forward hook on the LM's base model
(``lm.base_model``) keeps ``last_hidden_state[:, -1]`` of the forward Hugging Face just ran (prefill or one
cached step; beam and ``num_return_sequences`` rows included, in the same row order as the scores), and the
logits processor applies the heads to it: one small trunk matmul, then one batched matmul for all Q heads over
the vocabulary (into a reused buffer), a min, and one add into the scores. Greedy search on CPU with a large
vocabulary computes A exactly only at the few tokens that upper bounds say could win (:mod:`.bounds`), with
the full computation as fall-back: the chosen tokens are the same. With a separate target backbone
(``model.target_lm``, original paper layout) and ``q_source="target"`` the processor runs the target base
model one step at a time with its own KV cache (same attention mask and position ids as the policy's
forward); under beam search its cache rows are re-indexed by matching each row's prefix to last step's rows.
A separate value transformer (``model.value_lm``, ``separate_policy``) runs the same way, and the heads read its
hidden states instead of the policy's.

Batched prompts of different lengths must be left-padded (pad tokens first, ``attention_mask`` 0 there), as
Hugging Face decoder-only generation requires.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import GenerationConfig, LogitsProcessor
from transformers.generation.logits_process import (
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from lexiq.decoding import bounds
from lexiq.decoding.bounds import Gate, top_tokens
from lexiq.decoding.config import DecodingConfig
from lexiq.models.model import LexiqModel

__all__ = ["GuidedLogitsProcessor", "beta_sweep", "generate", "guided_logits_processor"]

# the policy's own cache travels as ``past_key_values`` (transformers < 5.25) or ``cache`` (5.25 and later): a
# separate backbone must never see it
_TARGET_SKIP_KWARGS = ("input_ids", "past_key_values", "cache", "cache_params", "use_cache", "output_attentions",
                       "output_hidden_states", "return_dict")


def _cache_argument(module: nn.Module) -> str:
    """The name under which ``module.forward`` takes its KV cache in the installed transformers."""
    import inspect

    return "cache" if "cache" in inspect.signature(module.forward).parameters else "past_key_values"


def _returned_cache(out: Any) -> Any:
    cache = getattr(out, "cache", None)
    return cache if cache is not None else getattr(out, "past_key_values", None)


def _base_model(lm: nn.Module) -> nn.Module | None:
    base = getattr(lm, "base_model", None)
    return base if isinstance(base, nn.Module) and base is not lm else None


class _HiddenCapture:
    """Forward hook keeping the final hidden state of the last position of the latest forward of ``lm``."""

    def __init__(self, lm: nn.Module, keep_inputs: bool = False):
        self.lm = lm
        self.keep_inputs = keep_inputs
        self.hidden: torch.Tensor | None = None
        self.args: tuple[Any, ...] = ()
        self.kwargs: dict[str, Any] = {}
        self._handle: torch.utils.hooks.RemovableHandle | None = None

    def attach(self) -> None:
        if self._handle is not None:
            return
        base = _base_model(self.lm)
        if base is not None:
            self._handle = base.register_forward_hook(self._on_base, with_kwargs=True)
        elif self.keep_inputs:
            raise ValueError(f"{type(self.lm).__name__}: guided decoding with a separate target backbone "
                             "needs a causal LM with a `base_model` (e.g. GPT2LMHeadModel.transformer)")
        else:  # no separate base model: the output embedding's input is the final hidden state
            self._handle = self.lm.get_output_embeddings().register_forward_pre_hook(self._on_head)

    def detach(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        self.hidden, self.args, self.kwargs = None, (), {}

    def _on_base(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
        states = output.last_hidden_state if hasattr(output, "last_hidden_state") else output[0]
        self.hidden = states[:, -1]
        if self.keep_inputs:
            self.args, self.kwargs = args, kwargs

    def _on_head(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        self.hidden = args[0][:, -1]


def warpers(cfg: DecodingConfig) -> list[LogitsProcessor]:
    """Hugging Face's temperature, top-k and top-p warpers for ``cfg`` (those that are on), in that order."""
    filters: list[LogitsProcessor] = []
    if cfg.temperature != 1.0:
        filters.append(TemperatureLogitsWarper(cfg.temperature))
    if cfg.top_k > 0:
        filters.append(TopKLogitsWarper(cfg.top_k))
    if cfg.top_p < 1.0:
        filters.append(TopPLogitsWarper(cfg.top_p))
    return filters


class _TargetStream:
    """Runs a separate (target, value or prior) model one generation step at a time with its own KV cache.

    ``logits=False``: the backbone (``base_model``) runs and :meth:`step` returns the last hidden state;
    ``logits=True``: the whole causal LM runs and :meth:`step` returns its last-position logits."""

    def __init__(self, target_lm: nn.Module, logits: bool = False):
        base = target_lm if logits else _base_model(target_lm)
        if base is None:
            raise ValueError(f"{type(target_lm).__name__}: the target backbone needs a `base_model`")
        self.base = base
        self.logits = logits
        self.cache_argument = _cache_argument(base)
        self.reset()

    def reset(self) -> None:
        self.cache: Any = None
        self.seqs: torch.Tensor | None = None

    def step(self, sequences: torch.Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor:
        """Last position's hidden state (or logits); ``args``/``kwargs`` are those of the policy's base-model
        forward."""
        new_ids = args[0] if args else kwargs["input_ids"]
        prefix = sequences[:, : sequences.shape[1] - new_ids.shape[1]]
        if self.cache is not None:
            assert self.seqs is not None
            if self.seqs.shape != prefix.shape:
                raise RuntimeError("guided decoding: a separate backbone's cache is out of step with "
                                   "generation (one processor call per forward is expected; chunked prefill "
                                   "and assisted generation are not supported)")
            if not torch.equal(self.seqs, prefix):  # beam search re-ordered the rows: follow the parents
                same = (prefix[:, None, :] == self.seqs[None, :, :]).all(-1)  # [rows now, rows before]
                if not bool(same.any(1).all()):
                    raise RuntimeError("guided decoding: a row's prefix matches no row of the previous step")
                self.cache.reorder_cache(same.to(torch.uint8).argmax(1))
        elif prefix.shape[1] != 0:
            raise RuntimeError("guided decoding: a separate backbone must see the prompt (prefill) first")
        kw = {k: v for k, v in kwargs.items() if k not in _TARGET_SKIP_KWARGS}
        kw[self.cache_argument] = self.cache
        out = self.base(new_ids, use_cache=True, return_dict=True, **kw)
        self.cache = _returned_cache(out)
        self.seqs = sequences
        return out.logits[:, -1] if self.logits else out.last_hidden_state[:, -1]


class GuidedLogitsProcessor(LogitsProcessor):
    """Adds the advantage A (from the heads at the current position) to the scores, with filters around it.

    Use as a context manager around any Hugging Face forward/generate of ``model.lm``: entering registers the
    hidden-state hook (and resets the caches of separate backbones), leaving removes it. Each call consumes the
    hidden state of the latest forward, so exactly one call per forward is expected. See the module docstring
    for the order of operations. ``inplace=True`` lets the processor write into ``scores`` (saves a pass over
    [rows, |V|]; safe whenever the caller does not keep the raw logits, as :func:`generate`).
    ``argmax_only=True`` (greedy search, used by :func:`generate`) promises that only the argmax of the output
    is used: filters after A and renormalisation are skipped, and on CPU with a large vocabulary the second Q
    head is evaluated only at the few tokens that can still win (exact argmax; the other scores are upper
    bounds and the returned tensor is a buffer reused by the next call).
    """

    def __init__(self, model: LexiqModel, cfg: DecodingConfig, renormalize: bool | None = None,
                 inplace: bool = False, argmax_only: bool = False):
        self.model = model
        self.cfg = cfg
        self.renormalize = cfg.strategy == "beam" if renormalize is None else renormalize
        self.inplace = inplace
        self.argmax_only = argmax_only
        self.use_heads = cfg.beta > 0
        if self.use_heads and model.heads is None:
            raise ValueError("guided decoding with beta > 0 needs a model with value/Q heads "
                             "(model.heads is None)")
        self.filters = warpers(cfg)  # applied where filter_order says
        self.need_v = not (cfg.exp_adv and cfg.adv_clip is None)
        separate = self.use_heads and cfg.q_source == "target" and model.target_lm is not None
        separate_value = self.use_heads and model.value_lm is not None
        self._capture = _HiddenCapture(model.lm, keep_inputs=separate or separate_value)
        self._target = _TargetStream(model.target_lm) if separate else None
        self._value = _TargetStream(model.value_lm) if separate_value else None
        self._buf: torch.Tensor | None = None
        heads = model.heads
        # greedy on CPU, large vocabulary: evaluate the second Q head only where it can change the argmax
        self._bound = (argmax_only and self.use_heads and cfg.exp_adv and heads is not None and heads.n_q > 1
                       and heads.vocab_size >= bounds.BOUND_MIN_VOCAB and heads.q_bias.device.type == "cpu")
        self._gate = Gate(0.3)  # a try costs ~30% of the heads it may save (CPU, |V| = 50k)

    # ---------------------------------------------------------------- hook lifecycle
    def __enter__(self) -> GuidedLogitsProcessor:
        if self.use_heads:
            self._capture.attach()
        for stream in (self._target, self._value):
            if stream is not None:
                stream.reset()
        self._gate = Gate(0.3)
        return self

    def __exit__(self, *exc: object) -> None:
        self._capture.detach()
        for stream in (self._target, self._value):
            if stream is not None:
                stream.reset()
        self._buf = None

    # ---------------------------------------------------------------- advantage
    def _q_inputs(self, h: torch.Tensor, target_h: torch.Tensor | None
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Trunk features ``[n_q, rows, d]`` and the output layer (weight ``[n_q, |V|, d]``, bias) of Q̄."""
        heads = self.model.heads
        assert heads is not None
        d, n = heads.head_hidden, heads.n_q
        if self.cfg.q_source == "target":
            trunk_w, trunk_b = heads.target_trunk.weight, heads.target_trunk.bias
            weight, bias = heads.target_q_weight, heads.target_q_bias
            x = h if target_h is None else target_h
        else:  # online trunk rows [d : d + n·d] are Q_1..Q_n (row block [0:d] is V)
            trunk_w, trunk_b = heads.trunk.weight[d:], heads.trunk.bias[d:]
            weight, bias = heads.q_weight, heads.q_bias
            x = h
        z = torch.relu_(F.linear(x, trunk_w, trunk_b))  # [rows, n·d]
        return z.view(-1, n, d).transpose(0, 1), weight, bias

    def _buffer(self, zq: torch.Tensor) -> torch.Tensor:
        assert self.model.heads is not None
        shape = (zq.shape[0], zq.shape[1], self.model.heads.vocab_size)
        if self._buf is None or self._buf.shape != shape or self._buf.device != zq.device:
            self._buf = torch.empty(shape, dtype=zq.dtype, device=zq.device)
        return self._buf

    def _q_min(self, zq: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
               scale: float) -> torch.Tensor:
        """``scale · min_i Q_i(s, ·)`` over the vocabulary ([rows, |V|], a view of a reused buffer)."""
        q = torch.baddbmm(bias.unsqueeze(1), zq, weight.transpose(1, 2), beta=scale, alpha=scale,
                          out=self._buffer(zq))
        qmin = q[0]
        for i in range(1, q.shape[0]):
            torch.minimum(qmin, q[i], out=qmin)
        return qmin

    @staticmethod
    def _q_min_at(zq: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, idx: torch.Tensor,
                  scale: float) -> torch.Tensor:
        """``scale · min_i Q_i(s, a)`` at token ids ``idx`` ([rows, k]) only."""
        rows = weight[:, idx]  # [n_q, rows, k, d]
        q = torch.matmul(rows, zq.unsqueeze(-1)).squeeze(-1).add_(bias[:, idx])
        return q.amin(0).mul_(scale)

    def _values(self, h: torch.Tensor) -> torch.Tensor:
        heads = self.model.heads
        assert heads is not None
        d = heads.head_hidden
        zv = torch.relu_(F.linear(h, heads.trunk.weight[:d], heads.trunk.bias[:d]))
        return heads.v_out(zv)  # [rows, 1]

    def _tail(self, scaled_q: torch.Tensor, scaled_v: torch.Tensor | None) -> torch.Tensor:
        """exp_adv: β·Q̄ → min(β·Q̄ − β·V, adv_clip), in place."""
        if scaled_v is not None:
            scaled_q.sub_(scaled_v)
        if self.cfg.adv_clip is not None:
            scaled_q.clamp_(max=self.cfg.adv_clip)
        return scaled_q

    def _inputs(self, h: torch.Tensor, target_h: torch.Tensor | None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        assert self.model.heads is not None
        dtype = self.model.heads.q_bias.dtype
        return h.to(dtype), None if target_h is None else target_h.to(dtype)

    @torch.no_grad()
    def advantage(self, h: torch.Tensor, target_h: torch.Tensor | None = None) -> torch.Tensor:
        """A(s, ·) of steps 2–3 for hidden states ``h`` ([rows, hidden]); V is dropped when it cancels."""
        cfg = self.cfg
        h, target_h = self._inputs(h, target_h)
        zq, weight, bias = self._q_inputs(h, target_h)
        if cfg.exp_adv:
            v = self._values(h).mul_(cfg.beta) if self.need_v else None
            return self._tail(self._q_min(zq, weight, bias, cfg.beta), v)
        gap = self._q_min(zq, weight, bias, 1.0).sub_(self._values(h))
        good, bad = math.log(cfg.beta), (math.log(1.0 - cfg.beta) if cfg.beta < 1.0 else -math.inf)
        adv = torch.where(gap > 0, good, bad).to(gap.dtype)
        return adv.clamp_(max=cfg.adv_clip) if cfg.adv_clip is not None else adv

    def _head_scores(self, scores: torch.Tensor, zq: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                     i: int, scaled_v: torch.Tensor | None, out: torch.Tensor) -> torch.Tensor:
        """ℓ + A(Q_i) over the vocabulary into ``out`` (exp_adv), one GEMM and one pass over [rows, |V|]."""
        beta = self.cfg.beta
        if scaled_v is None and self.cfg.adv_clip is None:  # ℓ + β·b_i + β·z_i W_iᵀ
            return torch.add(scores, bias[i], alpha=beta, out=out).addmm_(zq[i], weight[i].t(), alpha=beta)
        torch.addmm(bias[i], zq[i], weight[i].t(), beta=beta, alpha=beta, out=out)  # β·Q_i
        return self._tail(out, scaled_v).add_(scores)

    @torch.no_grad()
    def _argmax_scores(self, scores: torch.Tensor, h: torch.Tensor, target_h: torch.Tensor | None
                       ) -> torch.Tensor:
        """Scores with the argmax of ℓ + A, often with Q_2.. evaluated at a few tokens only (:mod:`.bounds`).

        A is monotone in Q, so ℓ + A(min_i Q_i) = min_i (ℓ + A(Q_i)): the heads are evaluated one at a time.
        After the first, u = ℓ + A(Q_1) is an upper bound; if the exact scores of its k best tokens certify
        the argmax, u with those exact scores written in is returned, else the other heads follow.
        """
        cfg = self.cfg
        h, target_h = self._inputs(h, target_h)
        zq, weight, bias = self._q_inputs(h, target_h)
        v = self._values(h).mul_(cfg.beta) if self.need_v else None
        buf = self._buffer(zq)
        u = self._head_scores(scores, zq, weight, bias, 0, v, out=buf[0])
        if self._gate.open():
            cand, outside = top_tokens(u, bounds.BOUND_CANDIDATES)
            q_cand = self._q_min_at(zq, weight, bias, cand, cfg.beta)
            exact = scores.gather(1, cand).add_(self._tail(q_cand, v))
            won = bool((exact.amax(1) >= outside).all())
            self._gate.record(won)
            if won:
                return u.scatter_(1, cand, exact)
        for i in range(1, zq.shape[0]):
            torch.minimum(u, self._head_scores(scores, zq, weight, bias, i, v, out=buf[1]), out=u)
        return u

    # ---------------------------------------------------------------- processor
    def _filter(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        for f in self.filters:
            scores = f(input_ids, scores)
        return scores

    @torch.no_grad()
    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        owned = self.inplace
        if self.cfg.filter_order == "before" and self.filters:
            scores, owned = self._filter(input_ids, scores), True
        if self.use_heads:
            h = self._capture.hidden
            if h is None:
                raise RuntimeError("guided decoding: no hidden state captured since the last call (enter the "
                                   "processor as a context manager and run one forward of model.lm per call)")
            self._capture.hidden = None
            if h.shape[0] != scores.shape[0]:
                raise RuntimeError(f"guided decoding: captured hidden states have {h.shape[0]} rows but the "
                                   f"scores have {scores.shape[0]}")
            if self._value is not None:  # the heads read the separate value transformer
                h = self._value.step(input_ids, self._capture.args, self._capture.kwargs)
            target_h = None
            if self._target is not None:
                target_h = self._target.step(input_ids, self._capture.args, self._capture.kwargs)
            if self._bound:  # argmax only: later filters and renormalisation would keep the argmax
                return self._argmax_scores(scores, h, target_h)
            adv = self.advantage(h, target_h)
            scores = scores.add_(adv) if owned else scores + adv
        if self.argmax_only:
            return scores
        if self.cfg.filter_order == "after" and self.filters:
            scores = self._filter(input_ids, scores)
        if self.renormalize:
            scores = torch.log_softmax(scores, dim=-1)
        return scores


def guided_logits_processor(model: LexiqModel, cfg: DecodingConfig, renormalize: bool | None = None,
                            inplace: bool = False) -> GuidedLogitsProcessor:
    """A :class:`GuidedLogitsProcessor` for ``model`` and ``cfg``; use it as a context manager::

        with guided_logits_processor(model, cfg) as proc:
            out = model.lm.generate(ids, attention_mask=mask, logits_processor=[proc], do_sample=False)

    Leave Hugging Face's own temperature/top-k/top-p off (1.0 / 0 / 1.0): the processor applies ``cfg``'s.
    ``renormalize`` (default: ``cfg.strategy == "beam"``) returns log-probabilities, as beam search needs.
    """
    return GuidedLogitsProcessor(model, cfg, renormalize=renormalize, inplace=inplace)


def _generation_config(cfg: DecodingConfig, eos_token_id: int | Sequence[int] | None,
                       pad_token_id: int | None) -> GenerationConfig:
    kw: dict[str, Any] = {"max_new_tokens": cfg.max_new_tokens, "eos_token_id": eos_token_id,
                          "pad_token_id": pad_token_id, "num_return_sequences": cfg.num_return_sequences,
                          "use_cache": True}
    if cfg.strategy == "sample":
        # lexiq's processor applies the filters; Hugging Face's warpers stay off (top_k would default to 50)
        kw.update(do_sample=True, num_beams=1, temperature=1.0, top_k=0, top_p=1.0)
    elif cfg.strategy == "beam":
        kw.update(do_sample=False, num_beams=cfg.num_beams, length_penalty=cfg.length_penalty)
    else:
        kw.update(do_sample=False, num_beams=1)
    return GenerationConfig(**kw)


@torch.no_grad()
def generate(model: LexiqModel, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
             cfg: DecodingConfig | None = None, eos_token_id: int | Sequence[int] | None = None,
             pad_token_id: int | None = None) -> torch.LongTensor:
    """Decode from ``model`` with Q-guided scores (``cfg.beta > 0``), from π_β alone (``cfg.beta == 0``) or with
    discrete BCQ (``cfg.strategy == "bcq"``, :mod:`lexiq.decoding.bcq`).

    ``input_ids``/``attention_mask``: ``[B, L]`` prompts, **left-padded** when their lengths differ (pad
    first, mask 0 there). Returns the new tokens only, ``[B · num_return_sequences, T]`` with
    ``T ≤ max_new_tokens`` (the rows of one prompt are consecutive; rows that stopped at ``eos_token_id``
    continue with ``pad_token_id``). The model is used in whatever train/eval mode it is in (call
    ``model.eval()`` first).
    """
    cfg = cfg or DecodingConfig()
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    elif attention_mask.shape != input_ids.shape:
        raise ValueError(f"generate: attention_mask shape {tuple(attention_mask.shape)} does not match "
                         f"input_ids {tuple(input_ids.shape)}")
    elif not bool(attention_mask[:, -1].all()):
        raise ValueError("generate: prompts must be left-padded (attention_mask[:, -1] must be 1 everywhere)")
    if cfg.strategy == "bcq":
        from lexiq.decoding.bcq import generate_bcq

        return generate_bcq(model, input_ids, attention_mask, cfg, eos_token_id, pad_token_id)
    gen_cfg = _generation_config(cfg, eos_token_id, pad_token_id)
    kwargs: dict[str, Any] = {"attention_mask": attention_mask, "generation_config": gen_cfg}
    needs_processor = cfg.beta > 0 or (cfg.has_filters and cfg.strategy != "greedy")
    if not needs_processor:  # the plain policy: Hugging Face generate as is
        out = model.lm.generate(input_ids, **kwargs)
        return out[:, input_ids.shape[1]:]
    argmax_only = cfg.strategy == "greedy" or (cfg.strategy == "beam" and cfg.num_beams == 1)
    proc = GuidedLogitsProcessor(model, cfg, inplace=True, argmax_only=argmax_only)
    with proc:  # the hook is removed on exit, also when generate raises
        out = model.lm.generate(input_ids, logits_processor=[proc], **kwargs)
    return out[:, input_ids.shape[1]:]


def beta_sweep(model: LexiqModel, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
               cfg: DecodingConfig | None = None, eos_token_id: int | Sequence[int] | None = None,
               pad_token_id: int | None = None,
               betas: Iterable[float] = (1.0, 2.0, 4.0, 8.0, 16.0)) -> dict[float, torch.LongTensor]:
    """:func:`generate` once per β (the rest from ``cfg``): ``{β: new tokens}``, the spec's §7.4 sweep."""
    cfg = cfg or DecodingConfig()
    return {float(b): generate(model, input_ids, attention_mask, replace(cfg, beta=float(b)), eos_token_id,
                               pad_token_id) for b in betas}
