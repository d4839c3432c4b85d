"""minigrad against PyTorch: the same inputs through both, comparing outputs and input gradients.

Runs only when ``torch`` is importable (it is deliberately not a dependency; see the README) and is
skipped, with that reason shown, otherwise. Each case builds float64 inputs from a seeded generator,
runs both libraries, feeds the same random output gradient into both backward passes, and compares.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F

torch = pytest.importorskip("torch", reason="PyTorch is not installed, so the parity tests are skipped")
TF = torch.nn.functional

rng = np.random.default_rng(1234)


def normal(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def with_ties(*shape):
    return rng.integers(-2, 3, shape).astype(np.float64)


def coin(*shape, empty_row=None):
    """A random bool mask; ``empty_row=i`` makes row i (dimension -2) all False."""
    mask = rng.random(shape) < 0.6
    if empty_row is not None:
        mask[..., empty_row, :] = False
    return mask


def labels(high, *shape):
    return rng.integers(0, high, shape)


# (name, minigrad function, torch function, inputs). Float inputs require grad; integer ones do not.
CASES = [
    ("add broadcast", lambda a, b: a + b, lambda a, b: a + b, [normal(3, 1, 4), normal(5, 1)]),
    ("sub scalar", lambda a: 2.5 - a, lambda a: 2.5 - a, [normal(4, 3)]),
    ("mul broadcast", lambda a, b: a * b, lambda a, b: a * b, [normal(2, 3), normal(3)]),
    ("div broadcast", lambda a, b: a / b, lambda a, b: a / b, [normal(4, 3), positive(4, 1)]),
    ("pow scalar", lambda a: a ** 3, lambda a: a ** 3, [normal(5)]),
    ("pow tensor exponent", lambda a, b: a ** b, lambda a, b: a ** b, [positive(3, 4), normal(4)]),
    ("rpow", lambda a: 2.0 ** a, lambda a: 2.0 ** a, [normal(6)]),
    ("neg", lambda a: -a, lambda a: -a, [normal(3)]),
    ("abs", lambda a: a.abs(), lambda a: a.abs(), [normal(3, 3)]),
    ("maximum with ties", minigrad.maximum, torch.maximum, [with_ties(4, 5), with_ties(5)]),
    ("minimum with ties", minigrad.minimum, torch.minimum, [with_ties(4, 5), with_ties(4, 1)]),
    ("where", lambda a, b: minigrad.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b),
     [normal(3, 4), normal(4)]),
    ("clamp", lambda a: a.clamp(-0.5, 0.5), lambda a: a.clamp(-0.5, 0.5), [normal(20)]),
    ("clamp at the boundary", lambda a: a.clamp(-1.0, 1.0), lambda a: a.clamp(-1.0, 1.0), [with_ties(12)]),
    ("exp", lambda a: a.exp(), lambda a: a.exp(), [normal(3, 4)]),
    ("log", lambda a: a.log(), lambda a: a.log(), [positive(3, 4)]),
    ("sqrt", lambda a: a.sqrt(), lambda a: a.sqrt(), [positive(7)]),
    ("sin cos", lambda a: a.sin() * a.cos(), lambda a: a.sin() * a.cos(), [normal(7)]),
    ("sum all", lambda a: a.sum(), lambda a: a.sum(), [normal(3, 4)]),
    ("sum dims keepdim", lambda a: a.sum(dim=(0, 2), keepdim=True),
     lambda a: a.sum(dim=(0, 2), keepdim=True), [normal(2, 3, 4)]),
    ("mean dim", lambda a: a.mean(dim=-1), lambda a: a.mean(dim=-1), [normal(3, 5)]),
    ("var unbiased", lambda a: a.var(dim=1), lambda a: a.var(dim=1), [normal(4, 6)]),
    ("var biased keepdim", lambda a: a.var(dim=0, correction=0, keepdim=True),
     lambda a: a.var(dim=0, correction=0, keepdim=True), [normal(5, 2)]),
    ("max all with ties", lambda a: a.max(), lambda a: a.max(), [with_ties(4, 4)]),
    ("max dim values", lambda a: a.max(dim=1).values, lambda a: a.max(dim=1).values, [normal(4, 5)]),
    ("min dim keepdim", lambda a: a.min(dim=0, keepdim=True).values,
     lambda a: a.min(dim=0, keepdim=True).values, [normal(4, 5)]),
    ("reshape", lambda a: a.reshape(4, -1), lambda a: a.reshape(4, -1), [normal(2, 6)]),
    ("transpose", lambda a: a.transpose(0, 2), lambda a: a.transpose(0, 2), [normal(2, 3, 4)]),
    ("permute", lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), [normal(2, 3, 4)]),
    ("T", lambda a: a.T, lambda a: a.T, [normal(3, 5)]),
    ("expand", lambda a: a.expand(2, 3, -1), lambda a: a.expand(2, 3, -1), [normal(3, 1)]),
    ("squeeze unsqueeze", lambda a: a.squeeze(1).unsqueeze(-1), lambda a: a.squeeze(1).unsqueeze(-1),
     [normal(3, 1, 4)]),
    ("flatten", lambda a: a.flatten(1), lambda a: a.flatten(1), [normal(2, 3, 4)]),
    ("index slices", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [normal(4, 5)]),
    ("index repeated ints", lambda a: a[[0, 2, 0, 0]], lambda a: a[[0, 2, 0, 0]], [normal(3, 4)]),
    ("index bool mask", lambda a: a[a > 0], lambda a: a[a > 0], [normal(5, 4)]),
    ("cat", lambda a, b: minigrad.cat([a, b], dim=1), lambda a, b: torch.cat([a, b], dim=1),
     [normal(2, 3), normal(2, 5)]),
    ("stack", lambda a, b: minigrad.stack([a, b], dim=-1), lambda a, b: torch.stack([a, b], dim=-1),
     [normal(2, 3), normal(2, 3)]),
    ("split sections", lambda a: a.split([1, 3], dim=1)[1], lambda a: a.split([1, 3], dim=1)[1],
     [normal(2, 4)]),
    ("matmul 2-d", lambda a, b: a @ b, lambda a, b: a @ b, [normal(3, 4), normal(4, 5)]),
    ("matmul vector", lambda a, b: a @ b, lambda a, b: a @ b, [normal(4), normal(2, 4, 3)]),
    ("matmul batch broadcast", lambda a, b: a @ b, lambda a, b: a @ b, [normal(2, 1, 3, 4), normal(5, 4, 2)]),
    ("relu", F.relu, TF.relu, [normal(5, 4)]),
    ("leaky_relu", lambda a: F.leaky_relu(a, 0.2), lambda a: TF.leaky_relu(a, 0.2), [normal(5, 4)]),
    ("sigmoid", F.sigmoid, torch.sigmoid, [normal(5, 4) * 4]),
    ("tanh", F.tanh, torch.tanh, [normal(5, 4) * 3]),
    ("gelu exact", F.gelu, TF.gelu, [normal(5, 4) * 3]),
    ("gelu tanh", lambda a: F.gelu(a, approximate="tanh"), lambda a: TF.gelu(a, approximate="tanh"),
     [normal(5, 4) * 3]),
    ("silu", F.silu, TF.silu, [normal(5, 4) * 3]),
    ("quick_gelu (Hugging Face's QuickGELUActivation)", F.quick_gelu, lambda a: a * torch.sigmoid(1.702 * a),
     [normal(5, 4) * 3]),
    ("softmax", lambda a: F.softmax(a, dim=1), lambda a: TF.softmax(a, dim=1), [normal(3, 4, 2)]),
    ("log_softmax", lambda a: F.log_softmax(a, dim=-1), lambda a: TF.log_softmax(a, dim=-1),
     [normal(3, 6) * 10]),
    ("cross_entropy", F.cross_entropy, TF.cross_entropy, [normal(6, 5), labels(5, 6)]),
    ("cross_entropy sum, smoothing",
     lambda a, t: F.cross_entropy(a, t, reduction="sum", label_smoothing=0.1),
     lambda a, t: TF.cross_entropy(a, t, reduction="sum", label_smoothing=0.1), [normal(6, 5), labels(5, 6)]),
    ("cross_entropy ignore_index", lambda a, t: F.cross_entropy(a, t, ignore_index=2),
     lambda a, t: TF.cross_entropy(a, t, ignore_index=2), [normal(8, 4), labels(4, 8)]),
    ("cross_entropy class dim 1, none", lambda a, t: F.cross_entropy(a, t, reduction="none"),
     lambda a, t: TF.cross_entropy(a, t, reduction="none"), [normal(2, 4, 3), labels(4, 2, 3)]),
    ("masked_fill", lambda a, m: a.masked_fill(m, -2.5), lambda a, m: a.masked_fill(m, -2.5),
     [normal(3, 4, 5), coin(4, 1)]),
    ("tril", lambda a: a.tril(), lambda a: a.tril(), [normal(2, 4, 5)]),
    ("tril -1", lambda a: minigrad.tril(a, -1), lambda a: torch.tril(a, -1), [normal(5, 3)]),
    ("triu 1", lambda a: a.triu(1), lambda a: a.triu(1), [normal(4, 6)]),
    ("sdpa", F.scaled_dot_product_attention, TF.scaled_dot_product_attention,
     [normal(2, 3, 5, 4), normal(2, 3, 7, 4), normal(2, 3, 7, 6)]),
    ("sdpa causal", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
     lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True),
     [normal(2, 3, 6, 4), normal(2, 3, 6, 4), normal(2, 3, 6, 4)]),
    ("sdpa bool mask with an empty row", F.scaled_dot_product_attention, TF.scaled_dot_product_attention,
     [normal(2, 1, 4, 3), normal(2, 1, 5, 3), normal(2, 1, 5, 2), coin(2, 1, 4, 5, empty_row=1)]),
    ("sdpa float mask, scale", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m, scale=0.3),
     lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, m, scale=0.3),
     [normal(2, 4, 3), normal(2, 5, 3), normal(2, 5, 3), normal(4, 5)]),
    ("sdpa broadcast batch", F.scaled_dot_product_attention, TF.scaled_dot_product_attention,
     [normal(4, 3), normal(2, 5, 3), normal(1, 5, 2)]),
    ("sdpa gqa", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
     lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
     [normal(2, 6, 5, 4), normal(2, 2, 5, 4), normal(2, 2, 5, 3)]),
    ("sdpa gqa per-head float mask",
     lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m, enable_gqa=True),
     lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, m, enable_gqa=True),
     [normal(2, 6, 5, 4), normal(2, 3, 7, 4), normal(2, 3, 7, 3), normal(6, 5, 7)]),
    ("sdpa gqa padding mask", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m, enable_gqa=True),
     lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, m, enable_gqa=True),
     [normal(2, 4, 5, 4), normal(2, 1, 7, 4), normal(2, 1, 7, 3), coin(2, 1, 1, 7)]),
]


def _first(result):
    """Split and friends return tuples; max(dim) returns (values, indices): compare the first."""
    return result[0] if isinstance(result, tuple) else result


def _run(fn, library, arrays):
    inputs = [library(a) for a in arrays]
    return inputs, _first(fn(*inputs))


@pytest.mark.parametrize(("mg_fn", "torch_fn", "arrays"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_forward_and_backward_match_pytorch(mg_fn, torch_fn, arrays):
    differentiable = [a.dtype.kind == "f" for a in arrays]
    mg_inputs, mg_out = _run(mg_fn, lambda a: minigrad.tensor(a, requires_grad=a.dtype.kind == "f"), arrays)
    th_inputs, th_out = _run(torch_fn, lambda a: torch.tensor(a, requires_grad=a.dtype.kind == "f"), arrays)

    np.testing.assert_allclose(mg_out.data, th_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert mg_out.dtype == np.float64

    upstream = np.random.default_rng(0).standard_normal(th_out.shape)
    mg_out.backward(upstream)
    th_out.backward(torch.tensor(upstream))
    for i, (mg_in, th_in, needs) in enumerate(zip(mg_inputs, th_inputs, differentiable)):
        if needs:
            np.testing.assert_allclose(mg_in.grad.data, th_in.grad.numpy(), rtol=1e-9, atol=1e-12,
                                       err_msg=f"gradient of input {i}")


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "gelu exact", "gelu tanh", "silu", "exp",
                                  "softmax", "log_softmax", "cross_entropy", "sdpa causal"])
def test_float32_forward_and_backward_close_to_pytorch(name):
    """In float32 minigrad may use fast approximations; they must stay within float32 rounding noise."""
    _, mg_fn, torch_fn, arrays = next(c for c in CASES if c[0] == name)
    arrays = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in arrays]
    mg_inputs, mg_out = _run(mg_fn, lambda a: minigrad.tensor(a, requires_grad=a.dtype.kind == "f"), arrays)
    th_inputs, th_out = _run(torch_fn, lambda a: torch.tensor(a, requires_grad=a.dtype.kind == "f"), arrays)
    assert mg_out.dtype == np.float32
    np.testing.assert_allclose(mg_out.data, th_out.detach().numpy(), rtol=2e-6, atol=2e-6)
    mg_out.sum().backward()
    th_out.sum().backward()
    np.testing.assert_allclose(mg_inputs[0].grad.data, th_inputs[0].grad.numpy(), rtol=2e-5, atol=2e-6)


def test_every_case_is_differentiated_somewhere():
    """A guard against a case list that silently stops testing gradients."""
    assert sum(any(a.dtype.kind == "f" for a in c[3]) for c in CASES) == len(CASES)
