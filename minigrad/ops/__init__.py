"""Differentiable operations: each one a forward and, right beside it, its backward.

| module        | operations                                                                      |
|---------------|---------------------------------------------------------------------------------|
| common        | what the others share: dtype promotion, casts (``to``), dims, unbroadcast      |
| arithmetic    | + - * / ** neg abs maximum minimum where clamp, comparisons, ~ & ^ on masks, += |
| pointwise     | exp log sqrt sin cos                                                            |
| activations   | relu leaky_relu sigmoid tanh gelu silu quick_gelu swiglu                        |
| reductions    | sum mean var max min argmax argmin                                              |
| shape         | reshape permute transpose expand squeeze unsqueeze flatten [] cat stack split   |
| matmul        | @ with batch broadcasting                                                       |
| softmax       | softmax log_softmax                                                             |
| losses        | cross_entropy mse_loss binary_cross_entropy_with_logits                         |
| linear        | linear (x W^T + b as one node)                                                  |
| conv          | conv2d (im2col + BLAS products; col2im backward)                                |
| pooling       | max_pool2d avg_pool2d (im2col + a reduction per window)                         |
| normalization | layer_norm rms_norm (fused Numba kernels) batch_norm                            |
| embedding     | embedding (scatter-add backward)                                                |
| dropout       | dropout                                                                         |
| masking       | masked_fill tril triu                                                           |
| attention     | scaled_dot_product_attention (one node, fused backward)                         |
| rotary        | apply_rotary_pos_emb rotary_cos_sin (RoPE: rotations of query/key pairs)        |

Every module here imports ``minigrad.engine`` (an operation makes Tensors), so the engine cannot import
them. Instead, this package binds itself to ``minigrad.engine.ops`` when it is imported, and ``Tensor``'s
methods (``a + b``, ``x.sum()``...) look their operation up there when they are called.
"""

import sys

from minigrad import engine
from minigrad.ops import (
    activations,
    arithmetic,
    attention,
    common,
    conv,
    dropout,
    embedding,
    linear,
    losses,
    masking,
    matmul,
    normalization,
    pointwise,
    pooling,
    reductions,
    rotary,
    shape,
    softmax,
)

engine.ops = sys.modules[__name__]
