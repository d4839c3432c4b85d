"""Differentiable operations: each one a forward and, right beside it, its backward.

| module        | operations                                                              |
|---------------|-------------------------------------------------------------------------|
| arithmetic    | + - * / ** neg abs maximum minimum where clamp, comparisons, dtype casts |
| pointwise     | exp log sqrt sin cos                                                    |
| activations   | relu leaky_relu sigmoid tanh gelu silu                                  |
| reductions    | sum mean var max min argmax argmin                                      |
| shape         | reshape permute transpose expand squeeze unsqueeze flatten [] cat stack split |
| matmul        | @ with batch broadcasting                                               |
| softmax       | softmax log_softmax cross_entropy                                       |
| linear        | linear (x W^T + b as one node)                                          |
| conv          | conv2d (im2col + one BLAS product; col2im backward)                     |
| pooling       | max_pool2d avg_pool2d (im2col + a reduction per window)                 |
| normalization | layer_norm rms_norm (fused Numba kernels) batch_norm                    |
| embedding     | embedding (scatter-add backward)                                        |
| dropout       | dropout                                                                 |
| losses        | mse_loss binary_cross_entropy_with_logits                               |
"""
