r"""Text generation for every causal language model in minigrad (GPT-2, Llama): predict the next token from
the last position's logits, append it, repeat.

How the next token is chosen from the logits :math:`z` (one row per sequence of the batch):

* ``temperature=0``: greedy, the most likely token (the first one on a tie);
* otherwise sampled from :math:`\mathrm{softmax}(z / \tau)`: :math:`\tau < 1` sharpens the distribution
  towards greedy, :math:`\tau > 1` flattens it towards uniform;
* ``top_k=k`` first keeps only the :math:`k` largest logits (ties with the :math:`k`-th are kept too);
* ``top_p=p`` ("nucleus") then keeps the smallest set of most likely tokens whose probabilities add up to
  at least :math:`p`.

With ``use_cache=True`` (:mod:`minigrad.nn.kv_cache`) each step runs only the newest token through the
model, its query attending over the keys and values kept from the steps before: the same logits (up to
floating-point rounding), so the same tokens, for a fraction of the work.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import Tensor, no_grad
from minigrad.errors import ShapeError, shape_str
from minigrad.nn import Module
from minigrad.nn.kv_cache import KVCache
from minigrad.random import default_generator


@no_grad()
def generate(model: Module, input_ids: Tensor, max_new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None,
             generator: np.random.Generator | None = None, use_cache: bool = True) -> Tensor:
    """``input_ids`` (B, T) or (T,) int64 followed by ``max_new_tokens`` generated ids, same rank.

    ``model(ids, kv_cache=None)`` must return logits (B, T, vocab), and ``model.config`` say how many
    positions the model can see (``context_length``) and its ``n_layers``. Inputs longer than the context
    are cropped to their last ``context_length`` tokens. Random choices come from ``generator`` (a
    ``numpy.random.Generator``), by default minigrad's, so ``manual_seed`` makes samples repeatable. Runs
    without building a graph. It does not change the model's mode: call ``model.eval()`` first, or dropout
    stays on.

    ``use_cache=True`` keeps a :class:`~minigrad.nn.kv_cache.KVCache` while the sequence fits in the
    context; once it is longer, each step recomputes the last ``context_length`` tokens, as without the
    cache (the positions of the kept keys would all have to shift).
    """
    ids = input_ids.data if isinstance(input_ids, Tensor) else np.asarray(input_ids)
    if ids.ndim not in (1, 2) or ids.dtype.kind not in "iu" or ids.shape[-1] == 0:
        raise ShapeError(f"generate(): input_ids must be a non-empty (B, T) or (T,) tensor of token ids, got "
                         f"{ids.dtype} of shape {shape_str(ids.shape)}.")
    _check_sampling(temperature, top_k, top_p)
    rng = default_generator() if generator is None else generator
    sequences = np.atleast_2d(ids).astype(np.int64)
    context = model.config.context_length
    cache = None
    for _ in range(max_new_tokens):
        if cache is not None and sequences.shape[1] <= context:
            logits = model(Tensor(sequences[:, -1:]), kv_cache=cache)  # only the newest token
        else:
            window = sequences[:, -context:]
            if use_cache:
                cache = KVCache(model.config.n_layers, min(context, window.shape[1] + max_new_tokens))
            logits = model(Tensor(window), kv_cache=cache)
        following = next_token(logits.data[:, -1], temperature, top_k, top_p, rng)
        sequences = np.concatenate([sequences, following[:, None]], axis=1)
    return Tensor(sequences if ids.ndim == 2 else sequences[0])


def check_input_ids(family: str, input_ids: Tensor, context_length: int, kv_cache: KVCache | None) -> int:
    """The position of ``input_ids``' first token (the number already in ``kv_cache``), after checking that
    they are (batch, length) token ids that fit in the model's ``context_length`` positions."""
    if input_ids.ndim != 2 or input_ids.dtype.kind not in "iu":
        raise ShapeError(f"{family}: input_ids must be a (batch, length) tensor of token ids, got "
                         f"{input_ids.dtype} of shape {shape_str(input_ids.shape)}.")
    start, length = (0 if kv_cache is None else kv_cache.length), input_ids.shape[1]
    if start + length > context_length:
        seen = (f"{start} cached and {length} new tokens are more" if start
                else f"a sequence of {length} tokens is longer")
        raise ShapeError(f"{family}: {seen} than the {context_length} positions the model has; crop it to "
                         "its last context_length tokens.")
    return start


def next_token(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
               top_p: float | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """One token id per row of ``logits`` (B, vocab), chosen as the module docstring describes."""
    _check_sampling(temperature, top_k, top_p)
    if temperature == 0:
        return logits.argmax(axis=-1)
    z = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth_largest = np.partition(z, -top_k, axis=-1)[:, -top_k, None]
        z = np.where(z < kth_largest, -np.inf, z)
    probs = np.exp(z - z.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-probs, axis=-1, kind="stable")
        sorted_probs = np.take_along_axis(probs, order, axis=-1)
        before = np.cumsum(sorted_probs, axis=-1) - sorted_probs  # the mass of the more likely tokens
        dropped = np.zeros_like(probs, dtype=bool)
        np.put_along_axis(dropped, order, before >= top_p, axis=-1)
        probs = np.where(dropped, 0.0, probs)
        probs /= probs.sum(axis=-1, keepdims=True)
    rng = default_generator() if rng is None else rng
    cumulative = np.cumsum(probs, axis=-1)
    draws = rng.random(len(probs)) * cumulative[:, -1]
    return np.array([np.searchsorted(row, u, side="right") for row, u in zip(cumulative, draws)],
                    dtype=np.int64).clip(0, probs.shape[-1] - 1)


def _check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    if temperature < 0:
        raise ValueError(f"generate(): temperature must be >= 0 (0 means greedy), got {temperature}.")
    if top_k is not None and top_k < 1:
        raise ValueError(f"generate(): top_k must be a positive number of tokens to keep, got {top_k}.")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise ValueError(f"generate(): top_p is a probability mass in (0, 1], got {top_p}.")
