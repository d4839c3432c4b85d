"""Training benchmark: minigrad's training steps vs PyTorch eager and NumPy by hand, side by side in one run.

Work, all float32, 2 threads for BLAS, Numba and PyTorch (``--threads``):

- the MLP 784-128-10 training step (forward, cross-entropy, backward, SGD lr 0.1, zero_grad) at batch 64 and
  batch 1: minigrad (``nn.Linear``/``nn.ReLU``/``F.cross_entropy``/``optim.SGD``), PyTorch eager, and the
  step written by hand in NumPy;
- conv2d, N64, 16->32 channels, 32x32, 3x3, padding 1: forward, and forward + backward (minigrad, PyTorch,
  NumPy im2col + matmul);
- the small ResNet's training step (3 stages of 2 basic blocks, widths 16/32/64, 32x32 input, batch 64);
- save + load of the MLP's 101,770-parameter state dict to files on disk (minigrad.save/load, torch.save/
  torch.load(weights_only=True), np.savez/np.load).

Before timing, every side runs the work once on the same data and its result (updated weights, outputs,
gradients, loaded arrays) is compared with the others'; a side that disagrees is reported as WRONG and not
timed. The timing helpers are bench_core's: warm-up excluded, interleaved rounds, median and quartiles.

Usage (from the repository root)::

    python benchmarks/bench_training.py            # full run
    python benchmarks/bench_training.py --quick    # smoke run: tiny sizes, few repeats (for tests)
    python benchmarks/bench_training.py --render benchmarks/results/training.json
"""

from __future__ import annotations

import argparse
import datetime
import gc
import itertools
import json
import math
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import (  # bench_core also puts the repository on sys.path
    cell,
    common_arguments,
    cpu_seconds,
    load_torch,
    machine_info,
    mismatch,
    other_load,
    others_cell,
    set_threads,
    table,
    target,
    time_interleaved,
    write_results,
)

SIDES = ("minigrad", "torch", "numpy")
FULL = {"mlp_batches": [64, 1], "mlp_sizes": [784, 128, 10], "conv": [64, 16, 32, 32], "resnet": [64, 32],
        "gpt": [16, 128, 128, 4, 4, 103], "repeats": 15, "warmup_s": 0.2, "min_sample_s": 0.02}
QUICK = {"mlp_batches": [8, 1], "mlp_sizes": [784, 128, 10], "conv": [2, 4, 8, 8], "resnet": [2, 8],
         "gpt": [2, 8, 16, 2, 2, 11], "repeats": 3, "warmup_s": 0.01, "min_sample_s": 0.002}
LR = 0.1
RESNET_WIDTHS, RESNET_BLOCKS = (16, 32, 64), 2  # the ResNet step's model: 3 stages of 2 basic blocks
MLP_VS_TORCH, MLP_VS_NUMPY, CONV_VS_TORCH, GPT_VS_TORCH = 1.0, 0.8, 1 / 1.5, 1.0
RTOL, ATOL = 1e-3, 1e-4


# --- checking --------------------------------------------------------------------------------------------

def to_numpy(value) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach"):
        return value.detach().numpy()
    return np.asarray(value.data)


def compare(results: dict[str, list[np.ndarray]]) -> tuple[dict[str, float], dict[str, str]]:
    """Worst mismatch of each side's arrays against the first side's; the sides that disagree."""
    names = list(results)
    reference = [a.astype(np.float64) for a in results[names[0]]]
    worst, wrong = {}, {}
    for side in names[1:]:
        got = results[side]
        bad = max(mismatch(g.astype(np.float64), r, RTOL, ATOL) for g, r in zip(got, reference, strict=True))
        worst[side] = bad if math.isfinite(bad) else str(bad)
        if not bad <= 1:
            wrong[side] = (f"differs from {names[0]} by {bad:.3g}x the tolerance "
                           f"(rtol {RTOL}, atol {ATOL} x rms)")
    return worst, wrong


def run(group: str, name: str, size, check: dict[str, Callable[[], list]], timed: dict[str, Callable],
        settings: dict, note: str = "") -> dict:
    """Check every side's result against the first side's, then time the sides that agree."""
    entry = {"group": group, "name": name, "size": size, "note": note, "sides": {}}
    outputs = {}
    for side, fn in check.items():
        try:
            outputs[side] = [to_numpy(a) for a in fn()]
        except Exception as error:  # one broken side must not hide the others
            entry["sides"][side] = {"status": "error", "reason": f"{type(error).__name__}: {error}"[:300]}
    if outputs:
        entry["mismatch"], wrong = compare(outputs)
        for side, reason in wrong.items():
            entry["sides"][side] = {"status": "wrong", "reason": reason}
    runnable = {s: timed[s] for s in outputs if s not in entry["sides"]}
    before = cpu_seconds()
    entry["sides"].update(time_interleaved(runnable, settings["repeats"], settings["warmup_s"],
                                           settings["min_sample_s"]))
    entry["other_processes_cores"] = other_load(before, cpu_seconds())
    return entry


# --- the MLP step ------------------------------------------------------------------------------------------

def mlp_arrays(sizes: list[int], batch: int, seed: int = 0) -> tuple[dict, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = {}
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        bound = 1 / math.sqrt(fan_in)
        weights[f"{2 * i}.weight"] = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        weights[f"{2 * i}.bias"] = rng.uniform(-bound, bound, fan_out).astype(np.float32)
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], batch)
    return weights, x, y


def mlp_minigrad(weights: dict, x: np.ndarray, y: np.ndarray) -> tuple[Callable, Callable]:
    import minigrad
    import minigrad.nn.functional as F
    from minigrad import nn, optim

    model = nn.Sequential(nn.Linear(*weights["0.weight"].shape[::-1]), nn.ReLU(),
                          nn.Linear(*weights["2.weight"].shape[::-1]))
    model.load_state_dict({k: v.copy() for k, v in weights.items()})
    opt = optim.SGD(model.parameters(), lr=LR)
    xs, ys = minigrad.from_numpy(x), minigrad.from_numpy(y)

    def step() -> None:
        F.cross_entropy(model(xs), ys).backward()
        opt.step()
        opt.zero_grad()

    return step, lambda: [p.data for p in model.state_dict().values()]


def mlp_torch(torch, weights: dict, x: np.ndarray, y: np.ndarray) -> tuple[Callable, Callable]:
    nn = torch.nn
    model = nn.Sequential(nn.Linear(*weights["0.weight"].shape[::-1]), nn.ReLU(),
                          nn.Linear(*weights["2.weight"].shape[::-1]))
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> None:
        nn.functional.cross_entropy(model(xs), ys).backward()
        opt.step()
        opt.zero_grad()

    return step, lambda: list(model.state_dict().values())


def mlp_numpy(weights: dict, x: np.ndarray, y: np.ndarray) -> tuple[Callable, Callable]:
    """The step by hand: the fastest honest version (in-place updates; np.outer when the batch is 1)."""
    w1, b1, w2, b2 = (weights[k].copy() for k in ("0.weight", "0.bias", "2.weight", "2.bias"))
    batch, rows = len(x), np.arange(len(x))
    lr = np.float32(LR)

    def step() -> None:
        h = x @ w1.T
        h += b1
        a = np.maximum(h, 0, out=h)
        z = a @ w2.T
        z += b2
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        z[rows, y] -= 1
        z /= np.float32(batch)  # dL/dz of the mean cross-entropy
        if batch == 1:
            gw2 = np.outer(z[0], a[0])
            da = z @ w2
            da *= a > 0
            gw1 = np.outer(da[0], x[0])
        else:
            gw2 = z.T @ a
            da = z @ w2
            da *= a > 0
            gw1 = da.T @ x
        w2[...] -= lr * gw2
        b2[...] -= lr * z.sum(axis=0)
        w1[...] -= lr * gw1
        b1[...] -= lr * da.sum(axis=0)

    return step, lambda: [w1, b1, w2, b2]


def mlp_work(settings: dict, torch) -> list[dict]:
    entries = []
    for batch in settings["mlp_batches"]:
        weights, x, y = mlp_arrays(settings["mlp_sizes"], batch)
        makers = {"minigrad": lambda w, a, b: mlp_minigrad(w, a, b), "numpy": mlp_numpy}
        if torch is not None:
            makers["torch"] = lambda w, a, b: mlp_torch(torch, w, a, b)
        check, timed = {}, {}
        for side, make in makers.items():
            def once(make=make, weights=weights, x=x, y=y):
                step, state = make(weights, x, y)
                step()
                return state()
            check[side] = once
            try:
                timed[side] = make(weights, x, y)[0]
            except Exception:  # reported by the check
                timed[side] = None
        check = {s: check[s] for s in ("numpy", "minigrad", "torch") if s in check}  # NumPy: the reference
        entries.append(run("mlp_step", "MLP step", batch, check, timed, settings,
                           note="updated weights compared after one step from the same start"))
    return entries


# --- conv2d ------------------------------------------------------------------------------------------------

def numpy_conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, pad: int):
    """Plain NumPy im2col (one strided copy per kernel tap) + matmul; returns the output and its backward."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad), x.dtype)
    xp[:, :, pad:pad + h, pad:pad + wd] = x
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    cols = np.empty((n, c, kh, kw, oh, ow), x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + oh, j:j + ow]
    cols = cols.reshape(n, c * kh * kw, oh * ow)
    w2 = w.reshape(o, -1)
    y = (np.matmul(w2, cols) + b[:, None]).reshape(n, o, oh, ow)

    def backward(g: np.ndarray) -> list[np.ndarray]:
        g = g.reshape(n, o, -1)
        gw = np.matmul(g, cols.transpose(0, 2, 1)).sum(0).reshape(w.shape)
        gc = np.matmul(w2.T, g).reshape(n, c, kh, kw, oh, ow)
        gxp = np.zeros_like(xp)
        for i in range(kh):
            for j in range(kw):
                gxp[:, :, i:i + oh, j:j + ow] += gc[:, :, i, j]
        return [gxp[:, :, pad:pad + h, pad:pad + wd], gw, g.sum((0, 2))]

    return y, backward


def conv_work(settings: dict, torch) -> list[dict]:
    import minigrad
    import minigrad.nn.functional as F

    n, c_in, c_out, size = settings["conv"]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, c_in, size, size), dtype=np.float32)
    w = rng.standard_normal((c_out, c_in, 3, 3), dtype=np.float32) * np.float32(0.1)
    b = rng.standard_normal(c_out, dtype=np.float32)
    g = rng.standard_normal((n, c_out, size, size), dtype=np.float32)
    mx, mw, mb = (minigrad.from_numpy(a).requires_grad_() for a in (x, w, b))

    def mg_forward():
        with minigrad.no_grad():
            return [F.conv2d(mx, mw, mb, padding=1)]

    def mg_both():
        mx.grad = mw.grad = mb.grad = None
        F.conv2d(mx, mw, mb, padding=1).backward(minigrad.from_numpy(g))
        return [mx.grad, mw.grad, mb.grad]

    forward = {"numpy": lambda: [numpy_conv2d(x, w, b, 1)[0]], "minigrad": mg_forward}
    both = {"numpy": lambda: numpy_conv2d(x, w, b, 1)[1](g), "minigrad": mg_both}
    if torch is not None:
        tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
        tg = torch.from_numpy(g)

        def torch_forward():
            with torch.no_grad():
                return [torch.nn.functional.conv2d(tx, tw, tb, padding=1)]

        def torch_both():
            tx.grad = tw.grad = tb.grad = None
            torch.nn.functional.conv2d(tx, tw, tb, padding=1).backward(tg)
            return [tx.grad, tw.grad, tb.grad]

        forward["torch"], both["torch"] = torch_forward, torch_both
    size_ = [n, c_in, c_out, size]
    return [run("conv2d", "forward", size_, forward, forward, settings, note="outputs compared"),
            run("conv2d", "forward+backward", size_, both, both, settings,
                note="gradients of input, weight and bias compared")]


# --- the ResNet step ---------------------------------------------------------------------------------------

def torch_resnet(torch, in_channels: int, widths: tuple[int, ...], blocks_per_stage: int):
    """minigrad.models.ResNet written in torch, with the same parameter names."""
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                             if stride != 1 or cin != cout else nn.Identity())

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
                                      nn.BatchNorm2d(widths[0]))
            blocks, channels = [], widths[0]
            for stage, width in enumerate(widths):
                for index in range(blocks_per_stage):
                    blocks.append(BasicBlock(channels, width, 2 if stage > 0 and index == 0 else 1))
                    channels = width
            self.blocks = nn.Sequential(*blocks)
            self.fc = nn.Linear(channels, 10)

        def forward(self, x):
            x = self.blocks(torch.relu(self.stem(x)))
            return self.fc(x.mean(dim=(2, 3)))

    return ResNet()


def resnet_data(settings: dict) -> tuple[np.ndarray, np.ndarray]:
    """The ResNet step's images (B, 3, H, W) and labels (B,)."""
    batch, size = settings["resnet"]
    rng = np.random.default_rng(2)
    return rng.standard_normal((batch, 3, size, size), dtype=np.float32), rng.integers(0, 10, batch)


def resnet_minigrad(x: np.ndarray, y: np.ndarray) -> tuple[dict, Callable, Callable]:
    """minigrad's ResNet with SGD: its starting weights, its training step and its check (training-mode
    logits from the starting weights)."""
    import minigrad
    import minigrad.nn.functional as F
    from minigrad import optim
    from minigrad.models import ResNet
    from minigrad.profiler import record_function

    model = ResNet(in_channels=3, widths=RESNET_WIDTHS, blocks_per_stage=RESNET_BLOCKS)
    start = {k: v.data.copy() for k, v in model.state_dict().items()}
    opt = optim.SGD(model.parameters(), lr=LR)
    xs, ys = minigrad.from_numpy(x), minigrad.from_numpy(y)

    def mg_step():
        F.cross_entropy(model(xs), ys).backward()
        with record_function("optimizer.step"):  # a row of its own when scaling.py profiles the step
            opt.step()
        opt.zero_grad()

    def mg_check():
        model.load_state_dict({k: v.copy() for k, v in start.items()})
        out = model(xs)
        model.load_state_dict({k: v.copy() for k, v in start.items()})
        return [out]

    return start, mg_step, mg_check


def resnet_torch(torch, x: np.ndarray, y: np.ndarray, start: dict) -> tuple[Callable, Callable]:
    """The same ResNet in torch (:func:`torch_resnet`) with SGD, loaded with minigrad's ``start`` weights: its
    training step and its check."""
    tmodel = torch_resnet(torch, 3, RESNET_WIDTHS, RESNET_BLOCKS)
    tstate = {k: torch.from_numpy(v.copy()) for k, v in start.items()}
    tmodel.load_state_dict({k: v.reshape(tmodel.state_dict()[k].shape) for k, v in tstate.items()})
    topt = torch.optim.SGD(tmodel.parameters(), lr=LR)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def torch_step():
        torch.nn.functional.cross_entropy(tmodel(tx), ty).backward()
        topt.step()
        topt.zero_grad()

    def torch_check():
        out = tmodel(tx)
        tmodel.load_state_dict({k: v.reshape(tmodel.state_dict()[k].shape) for k, v in tstate.items()})
        return [out]

    return torch_step, torch_check


def resnet_work(settings: dict, torch) -> list[dict]:
    x, y = resnet_data(settings)
    start, mg_step, mg_check = resnet_minigrad(x, y)
    check, timed = {"minigrad": mg_check}, {"minigrad": mg_step}
    if torch is not None:
        timed["torch"], check["torch"] = resnet_torch(torch, x, y, start)
    return [run("resnet_step", "ResNet step", [len(x), *x.shape[1:]], check, timed, settings,
                note="training-mode logits compared from the same weights (torch's state_dict loaded from "
                     "minigrad's)")]


# --- the GPT step ------------------------------------------------------------------------------------------

def torch_gpt(torch, vocab: int, context: int, dim: int, layers: int, heads: int):
    """minigrad.models.GPT2 written in torch (fused attention, tied embeddings), with the same parameter
    names, so that minigrad's state dict loads into it."""
    nn, TF = torch.nn, torch.nn.functional

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv_proj, self.out_proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = (z.view(b, t, heads, dim // heads).transpose(1, 2)
                       for z in self.qkv_proj(x).split(dim, -1))
            return self.out_proj(TF.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2)
                                 .reshape(b, t, dim))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.attn, self.norm2 = nn.LayerNorm(dim), Attention(), nn.LayerNorm(dim)
            self.mlp = nn.Module()
            self.mlp.fc1, self.mlp.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

        def forward(self, x):
            x = x + self.attn(self.norm1(x))
            return x + self.mlp.fc2(TF.gelu(self.mlp.fc1(self.norm2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding = nn.Embedding(vocab, dim)
            self.position_embedding = nn.Embedding(context, dim)
            self.blocks = nn.ModuleList([Block() for _ in range(layers)])
            self.norm = nn.LayerNorm(dim)

        def forward(self, ids):
            x = self.token_embedding(ids) + self.position_embedding.weight[: ids.shape[1]]
            for block in self.blocks:
                x = block(x)
            return TF.linear(self.norm(x), self.token_embedding.weight)

    return GPT()


def composed_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                       enable_gqa=False):
    """The attention of minigrad's GPT before the fused op: matmul, masked_fill, softmax, matmul."""
    import minigrad

    length = query.shape[-2]
    scores = (query @ key.transpose(-2, -1)) * (1.0 / math.sqrt(query.shape[-1]))
    future = minigrad.ones(length, length, dtype=minigrad.bool).triu(1)
    return scores.masked_fill(future, float("-inf")).softmax(dim=-1) @ value


def gpt_data(settings: dict) -> tuple[np.ndarray, np.ndarray]:
    """The GPT step's input tokens and target tokens, (B, T) each."""
    batch, length, _, _, _, vocab = settings["gpt"]
    rng = np.random.default_rng(4)
    return rng.integers(0, vocab, (batch, length)), rng.integers(0, vocab, (batch, length))


def gpt_minigrad(settings: dict, x: np.ndarray, y: np.ndarray) -> tuple[dict, Callable, Callable, Callable]:
    """minigrad's GPT (``minigrad.models.GPT2``, seed 0) with AdamW: its starting weights, its training step,
    its check (logits and two weight gradients from the starting weights) and its step with the attention
    composed from matmul, masked_fill, softmax instead of the fused op."""
    import minigrad
    import minigrad.nn.functional as F
    from minigrad import optim
    from minigrad.models import GPT2, GPT2Config
    from minigrad.nn import attention
    from minigrad.profiler import record_function

    _, length, dim, layers, heads, vocab = settings["gpt"]
    minigrad.manual_seed(0)
    model = GPT2(GPT2Config(vocab_size=vocab, context_length=length, dim=dim, n_layers=layers, n_heads=heads))
    start = {k: v.data.copy() for k, v in model.state_dict().items()}
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    xs, ys = minigrad.from_numpy(x), minigrad.from_numpy(y.reshape(-1))

    def mg_step():
        loss = F.cross_entropy(model(xs).reshape(-1, vocab), ys)
        opt.zero_grad()
        loss.backward()
        with record_function("optimizer.step"):  # a row of its own when scaling.py profiles the step
            opt.step()

    def mg_check():
        model.load_state_dict({k: v.copy() for k, v in start.items()})
        out = model(xs)
        out.sum().backward()
        grads = [model.blocks[0].attn.qkv_proj.weight.grad, model.token_embedding.weight.grad]
        model.zero_grad()
        return [out, *grads]

    def mg_composed_step():
        fused = attention.F.scaled_dot_product_attention
        attention.F.scaled_dot_product_attention = composed_attention
        try:
            mg_step()
        finally:
            attention.F.scaled_dot_product_attention = fused

    return start, mg_step, mg_check, mg_composed_step


def gpt_torch(torch, settings: dict, x: np.ndarray, y: np.ndarray,
              start: dict | None) -> tuple[Callable, Callable]:
    """The same GPT in torch (:func:`torch_gpt`) with AdamW, loaded with ``start`` (minigrad's weights; None
    keeps torch's initialisation): its training step and its check."""
    _, length, dim, layers, heads, vocab = settings["gpt"]
    tmodel = torch_gpt(torch, vocab, length, dim, layers, heads)
    if start is not None:
        tmodel.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in start.items()})
    topt = torch.optim.AdamW(tmodel.parameters(), lr=1e-3)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y.reshape(-1))

    def torch_step():
        loss = torch.nn.functional.cross_entropy(tmodel(tx).reshape(-1, vocab), ty)
        topt.zero_grad()
        loss.backward()
        topt.step()

    def torch_check():
        out = tmodel(tx)
        out.sum().backward()
        grads = [tmodel.blocks[0].attn.qkv_proj.weight.grad, tmodel.token_embedding.weight.grad]
        tmodel.zero_grad()
        return [out, *grads]

    return torch_step, torch_check


def gpt_work(settings: dict, torch, composed: bool = True) -> list[dict]:
    """The GPT step, minigrad vs torch; with ``composed``, also minigrad's step with composed attention."""
    x, y = gpt_data(settings)
    start, mg_step, mg_check, mg_composed_step = gpt_minigrad(settings, x, y)
    check, timed = {"minigrad": mg_check}, {"minigrad": mg_step}
    if torch is not None:
        timed["torch"], check["torch"] = gpt_torch(torch, settings, x, y, start)
    size = settings["gpt"][:5]
    entries = [run("gpt_step", "GPT step", size, check, timed, settings,
                   note="AdamW; logits and two weight gradients compared from the same weights")]
    if composed:
        entries.append(run("gpt_step", "GPT step, attention composed", size, {"minigrad": mg_check},
                           {"minigrad": mg_composed_step}, settings,
                           note="minigrad only: attention from matmul, masked_fill, softmax (before the "
                                "fused op)"))
    return entries


# --- save + load -------------------------------------------------------------------------------------------

def io_work(settings: dict, torch, folder: Path) -> list[dict]:
    import minigrad

    weights = mlp_arrays(FULL["mlp_sizes"], 1, seed=3)[0]
    names = list(weights)
    mg_state = {k: minigrad.from_numpy(v) for k, v in weights.items()}

    def mg():
        minigrad.save(mg_state, folder / "mlp.safetensors", config={"sizes": FULL["mlp_sizes"]})
        loaded = minigrad.load(folder / "mlp.safetensors")
        return [loaded[k] for k in names]

    def npz():
        np.savez(folder / "mlp.npz", **weights)
        with np.load(folder / "mlp.npz") as loaded:
            return [loaded[k] for k in names]

    sides = {"numpy": npz, "minigrad": mg}
    if torch is not None:
        t_state = {k: torch.from_numpy(v) for k, v in weights.items()}

        def pt():
            torch.save(t_state, folder / "mlp.pt")
            loaded = torch.load(folder / "mlp.pt", weights_only=True)
            return [loaded[k] for k in names]

        sides["torch"] = pt
    return [run("save_load", "save + load", sum(v.size for v in weights.values()), sides, sides, settings,
                note="minigrad.save fsyncs the files and their folder; torch.save and np.savez do not")]


# --- targets and the report --------------------------------------------------------------------------------

def find(results: dict, group: str, name: str, size) -> dict | None:
    key = (group, name, size)
    return next((e for e in results["work"] if (e["group"], e["name"], e["size"]) == key), None)


def ratio(entry: dict | None, other: str) -> tuple[float | None, str | None]:
    """other's median over minigrad's (> 1: minigrad is faster), or why there is none."""
    if entry is None:
        return None, "not measured"
    for side in ("minigrad", other):
        stats = entry["sides"].get(side)
        if stats is None:
            return None, "no PyTorch" if side == "torch" else f"no {side} side"
        if stats["status"] != "ok":
            return None, f"{side}: {stats['status']}"
    return entry["sides"][other]["median_s"] / entry["sides"]["minigrad"]["median_s"], None


def speedup(slow: dict | None, fast: dict | None) -> tuple[float | None, str | None]:
    """minigrad's time in ``slow`` over its time in ``fast`` (> 1: ``fast`` is faster), or why not."""
    if slow is None or fast is None:
        return None, "not measured"
    sides = [slow["sides"].get("minigrad", {}), fast["sides"].get("minigrad", {})]
    if any(side.get("status") != "ok" for side in sides):
        return None, "minigrad: not ok"
    return sides[0]["median_s"] / sides[1]["median_s"], None


def evaluate_targets(results: dict) -> list[dict]:
    targets = []
    for batch in results["sizes"]["mlp_batches"]:
        entry = find(results, "mlp_step", "MLP step", batch)
        targets.append(target(f"MLP step, batch {batch}: vs PyTorch eager", *ratio(entry, "torch"),
                              MLP_VS_TORCH,
                              "PyTorch time / minigrad time (faster than PyTorch)", [entry]))
        targets.append(target(f"MLP step, batch {batch}: vs NumPy by hand", *ratio(entry, "numpy"),
                              MLP_VS_NUMPY,
                              "NumPy time / minigrad time ('close to': within 1/0.8 = 1.25x)", [entry]))
    size = results["sizes"]["gpt"][:5]
    entry = find(results, "gpt_step", "GPT step", size)
    targets.append(target("GPT step: vs PyTorch eager", *ratio(entry, "torch"), GPT_VS_TORCH,
                          "PyTorch time / minigrad time (at least PyTorch's speed)", [entry]))
    composed = find(results, "gpt_step", "GPT step, attention composed", size)
    targets.append(target("GPT step: fused attention vs composed", *speedup(composed, entry), 1.0,
                          "composed time / fused time (the fused op must not be slower)", [entry, composed]))
    entry = find(results, "conv2d", "forward+backward", results["sizes"]["conv"])
    targets.append(target("conv2d forward+backward: vs PyTorch", *ratio(entry, "torch"), CONV_VS_TORCH,
                          "PyTorch time / minigrad time (within 1.5x: >= 0.667)", [entry]))
    return targets


def render(results: dict) -> str:
    m = results["machine"]
    lines = [f"### Training benchmark ({results['mode']} run, {results['date']})", "",
             f"{m['cpu']}, {m['cpu_count']} cores; Python {m['python']}, NumPy {m['numpy']}, "
             f"Numba {m['numba']}, PyTorch {m['torch'] or 'absent'}; "
             f"{results['threads']['requested']} threads. Sides: "
             f"{', '.join(results['sides_run'])}. Other processes took "
             f"{others_cell(results.get('other_processes_cores'))} cores during the run.", ""]
    rows = [[t["target"], "—" if t["ratio"] is None else f"{t['ratio']:.2f}", f">= {t['threshold']:.3g}",
             t["verdict"], others_cell(t["other_processes_cores"])] for t in results["targets"]]
    lines += table(["target", "ratio", "threshold", "verdict", "others"], rows)
    lines += ["", "Times: median ±half the interquartile range. Ratios: the other side's time over "
              "minigrad's "
              "(> 1: minigrad is faster).", ""]
    rows = []
    for e in results["work"]:
        size = "x".join(map(str, e["size"])) if isinstance(e["size"], list) else f"{e['size']:,}"
        r = [ratio(e, other)[0] for other in ("torch", "numpy")]
        rows.append([e["group"], e["name"], size, *(cell(e["sides"].get(s)) for s in SIDES),
                     *("—" if v is None else f"{v:.2f}" for v in r),
                     others_cell(e.get("other_processes_cores")), e["note"]])
    lines += table(["group", "work", "size", "minigrad", "PyTorch", "NumPy", "vs PyTorch", "vs NumPy",
                    "others", "note"], rows)
    busy = [e for e in results["work"] if (e.get("other_processes_cores") or 0) >= 0.1]
    if busy:
        lines += ["", "**The machine was busy: rows with a bold `others` are unreliable. Re-run on an idle "
                  "machine before quoting them.**"]
    return "\n".join(lines) + "\n"


# --- main ------------------------------------------------------------------------------------------------

def measure(args: argparse.Namespace) -> dict:
    settings = dict(QUICK if args.quick else FULL)
    torch, torch_absent = load_torch(args.threads, args.no_torch)
    threads = set_threads(args.threads)
    import minigrad

    results = {
        "schema": 1, "benchmark": "training", "mode": "quick" if args.quick else "full",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv), "machine": machine_info(torch), "threads": threads,
        "sides_run": [f"minigrad {minigrad.__version__}", f"NumPy {np.__version__}"]
        + ([f"PyTorch {torch.__version__}"] if torch else []),
        "torch_absent": torch_absent,
        "settings": {k: settings[k] for k in ("repeats", "warmup_s", "min_sample_s")},
        "sizes": {k: settings[k] for k in ("mlp_batches", "mlp_sizes", "conv", "resnet", "gpt")},
        "work": [],
    }
    folder = Path(tempfile.mkdtemp(prefix="bench-training-"))
    try:
        gc.collect()
        gc.freeze()
        start = cpu_seconds()
        for label, make in (("MLP", lambda: mlp_work(settings, torch)),
                            ("conv2d", lambda: conv_work(settings, torch)),
                            ("ResNet", lambda: resnet_work(settings, torch)),
                            ("GPT", lambda: gpt_work(settings, torch)),
                            ("save+load", lambda: io_work(settings, torch, folder))):
            print(f"  {label}", file=sys.stderr, flush=True)
            results["work"] += make()
        results["other_processes_cores"] = other_load(start, cpu_seconds())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        gc.unfreeze()
    results["targets"] = evaluate_targets(results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser, "training")
    args = parser.parse_args()
    if args.render:
        print(render(json.loads(args.render.read_text())), end="")
        return
    write_results(measure(args), args, "training", render)


if __name__ == "__main__":
    main()
