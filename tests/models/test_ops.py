import pytest
import torch

from lexiq.models.ops import linear_logsumexp


def _reference(z, w, b):
    return torch.logsumexp(torch.baddbmm(b.unsqueeze(1), z, w.transpose(1, 2)), dim=-1)


@pytest.mark.parametrize("chunk", [7, 1 << 22])
def test_linear_logsumexp_matches_autograd(chunk):
    torch.manual_seed(0)
    z = torch.randn(2, 13, 5, requires_grad=True)
    w = torch.randn(2, 11, 5, requires_grad=True)
    b = torch.randn(2, 11, requires_grad=True)
    out = linear_logsumexp(z, w, b, chunk_elements=chunk)
    ref = _reference(z, w, b)
    assert torch.allclose(out, ref, atol=1e-5)
    (out.sum() * 0.37).backward()
    gz, gw, gb = z.grad.clone(), w.grad.clone(), b.grad.clone()
    z.grad = w.grad = b.grad = None
    (ref.sum() * 0.37).backward()
    assert torch.allclose(gz, z.grad, atol=1e-5)
    assert torch.allclose(gw, w.grad, atol=1e-5)
    assert torch.allclose(gb, b.grad, atol=1e-5)


def test_linear_logsumexp_rejects_non_uniform_upstream_gradient():
    z = torch.randn(1, 4, 3, requires_grad=True)
    w = torch.randn(1, 6, 3)
    b = torch.zeros(1, 6)
    out = linear_logsumexp(z, w, b)
    with pytest.raises(RuntimeError, match="plain sum/mean"):
        (out * torch.arange(4.0)).sum().backward()
