"""Train a tiny two-layer network on a generated three-arm spiral and watch the loss fall.

Run it with ``python -m minigrad.demo``. Everything is done with raw tensors and ``loss.backward()`` —
no layers or optimizers yet (those come with ``minigrad.nn`` and ``minigrad.optim``) — so the whole of
training is on screen: forward, loss, backward, update, zero the gradients.
"""

from __future__ import annotations

import math
import time

import numpy as np

import minigrad
import minigrad.nn.functional as F


def spirals(points_per_class: int = 100, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points on ``classes`` interleaved spiral arms with a little noise; labels are the arm index."""
    rng = np.random.default_rng(seed)
    radius = np.tile(np.linspace(0.05, 1.0, points_per_class), classes)
    label = np.repeat(np.arange(classes), points_per_class)
    angle = label * 2 * math.pi / classes + radius * 4.0 + rng.normal(0, 0.2, radius.size)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return points.astype(np.float32), label.astype(np.int64)


def weight(fan_in: int, fan_out: int, gain: float) -> minigrad.Tensor:
    """Random weights with variance gain / fan_in, so activations keep their scale layer to layer."""
    return (minigrad.randn(fan_in, fan_out) * math.sqrt(gain / fan_in)).requires_grad_()


def main(steps: int = 300, hidden: int = 64, lr: float = 1.0) -> list[float]:
    """Train and print the loss and accuracy every 30 steps; returns the loss at every step."""
    minigrad.manual_seed(0)
    points, labels = spirals()
    x, y = minigrad.tensor(points), minigrad.tensor(labels)
    w1, b1 = weight(2, hidden, gain=2.0), minigrad.zeros(hidden, requires_grad=True)
    w2, b2 = weight(hidden, 3, gain=1.0), minigrad.zeros(3, requires_grad=True)
    parameters = [w1, b1, w2, b2]

    print(f"Training a 2-{hidden}-3 network on {len(points)} spiral points "
          f"(chance: loss {math.log(3):.3f}, accuracy 33%).")
    losses, start = [], time.perf_counter()
    for step in range(steps + 1):
        logits = (x @ w1 + b1).relu() @ w2 + b2
        loss = F.cross_entropy(logits, y)
        loss.backward()
        with minigrad.no_grad():
            for p in parameters:
                p -= lr * p.grad
                p.grad = None
        losses.append(loss.item())
        if step % 30 == 0:
            accuracy = (logits.argmax(dim=1) == y).float().mean().item()
            print(f"  step {step:4d}   loss {loss.item():.4f}   training accuracy {accuracy:6.1%}")
    print(f"Done in {time.perf_counter() - start:.2f} s: loss {losses[0]:.3f} -> {losses[-1]:.3f}.")
    return losses


if __name__ == "__main__":
    main()
