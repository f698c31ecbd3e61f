"""Memory-lean tensor ops shared by objectives.

``linear_logsumexp(z, W, b)`` computes ``lse[k, n] = log Σ_a exp(z[k,n]·W[k,a] + b[k,a])`` for stacked heads
``k`` without ever holding the full ``[k, N, |V|]`` score tensor: rows are processed in chunks and the gradient
with respect to ``z``, ``W`` and ``b`` is formed in the same pass (∂lse/∂score = softmax(score)), so backward
only rescales stored gradients. This is what keeps the CQL term of ILQL cheap with a 50k vocabulary.
"""

from __future__ import annotations

import torch

_CHUNK_ELEMENTS = 1 << 21  # ~8 MB of fp32 scores per chunk


class _LinearLogSumExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, chunk: int):  # type: ignore[override]
        n_heads, n_rows, _ = z.shape
        vocab = weight.shape[1]
        lse = z.new_empty(n_heads, n_rows, dtype=torch.float32)
        need = ctx.needs_input_grad
        grad_z = torch.zeros_like(z, dtype=torch.float32) if need[0] else None
        grad_w = torch.zeros_like(weight, dtype=torch.float32) if need[1] else None
        grad_b = torch.zeros_like(bias, dtype=torch.float32) if need[2] else None
        w32, b32 = weight.float(), bias.float()
        step = max(1, min(n_rows, chunk // max(vocab, 1)))
        for start in range(0, n_rows, step):
            zc = z[:, start : start + step].float()
            scores = torch.baddbmm(b32.unsqueeze(1), zc, w32.transpose(1, 2))  # [k, c, V]
            chunk_lse = torch.logsumexp(scores, dim=-1)
            lse[:, start : start + step] = chunk_lse
            if grad_z is not None or grad_w is not None or grad_b is not None:
                probs = scores.sub_(chunk_lse.unsqueeze(-1)).exp_()  # softmax, in place
                if grad_z is not None:
                    grad_z[:, start : start + step] = torch.bmm(probs, w32)
                if grad_w is not None:
                    grad_w.baddbmm_(probs.transpose(1, 2), zc)
                if grad_b is not None:
                    grad_b.add_(probs.sum(1))
        ctx.save_for_backward(grad_z if grad_z is not None else torch.empty(0),
                              grad_w if grad_w is not None else torch.empty(0),
                              grad_b if grad_b is not None else torch.empty(0))
        return lse.to(z.dtype)

    @staticmethod
    def backward(ctx, grad_lse: torch.Tensor):  # type: ignore[override]
        grad_z, grad_w, grad_b = ctx.saved_tensors
        # The forward pass pre-computed gradients for an upstream gradient of ONE per row. That is exact only
        # when every row's upstream gradient is the same scalar c per head (true for a mean/sum over rows);
        # this is checked here so a misuse fails loudly instead of silently producing a wrong gradient.
        g = grad_lse.float()
        c = g[:, :1]
        if not torch.allclose(g, c.expand_as(g)):
            raise RuntimeError("linear_logsumexp: the result must be reduced with a plain sum/mean over rows")
        # scaled in place: the stored tensors are not needed again and this avoids a second copy of grad_w
        out_z = grad_z.mul_(c.unsqueeze(-1)) if grad_z.numel() else None
        out_w = grad_w.mul_(c.unsqueeze(-1)) if grad_w.numel() else None
        out_b = grad_b.mul_(c) if grad_b.numel() else None
        return out_z, out_w, out_b, None


def linear_logsumexp(z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                     chunk_elements: int = _CHUNK_ELEMENTS) -> torch.Tensor:
    """``lse[k, n] = logsumexp_a(z[k, n] · weight[k, a] + bias[k, a])`` in chunks; shapes z ``[k,N,d]``,
    weight ``[k,|V|,d]``, bias ``[k,|V|]``.

    The returned tensor may only be reduced by a plain sum or mean over rows before ``backward`` (its gradient is
    formed in the forward pass); that is how the CQL term uses it, and a violation raises. One backward pass only
    (no ``retain_graph`` double backward).
    """
    return _LinearLogSumExp.apply(z, weight, bias, chunk_elements)
